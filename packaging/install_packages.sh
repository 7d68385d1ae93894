# Sourced by demo.sh and test.sh: install_packages PKG... installs Debian
# packages with apt-get when root, running apt-get update only if the
# install fails without it (a fresh machine's package index may be empty
# or stale). Not root: says so loudly and carries on.
install_packages() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "!!! not running as root: NOT installing packages with apt-get." >&2
    echo "!!! If a step fails, install: $*" >&2
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "$@"; then
    echo "apt-get install failed; running apt-get update and retrying" >&2
    apt-get update -q
    apt-get install -y -q --no-install-recommends "$@"
  fi
}

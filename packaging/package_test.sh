#!/usr/bin/env bash
# The packaging check, as CI runs it (the last stage of packaging/test.sh),
# from a build directory that is already configured and built:
#   1. cpack -G DEB in it: build/mirrorfs_VERSION-1_ARCH.deb
#   2. apt-get install of that file (with its dependencies)
#   3. the package's contents (dpkg -L), dependencies, and that no test,
#      benchmark or fuzzer got in (dpkg -c)
#   4. systemd-analyze verify on the installed units (an instance of each
#      template): any message is a failure, since it reports unit errors
#      as warnings with exit status 0
#   5. the man page: renders without a groff warning, and has a section
#      for every command `mirrorfs --help` lists
#   6. packaging/smoke_test.sh with the installed /usr/bin/mirrorfs
#   7. packaging/quickstart_test.sh: README's quick start, followed on
#      this machine with the installed package and units
#   8. apt-get purge mirrorfs (KEEP_INSTALLED=1 keeps it)
# As root on Debian 12, with dpkg-dev, man-db, groff-base and systemd.
#
# Usage: package_test.sh [BUILD_DIR]   (default build)
# Environment: JOBS (default 2), KEEP_INSTALLED=1.
# (No `cmd | grep -q`: with pipefail, grep exiting at the first match
# fails the pipeline when cmd then gets SIGPIPE.)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BUILD=$(cd "${1:-build}" && pwd)
JOBS=${JOBS:-2}
say() { printf '\n--- %s\n' "$*"; }
fail() { echo "package test FAILED: $*" >&2; exit 1; }
trap 'echo "package test FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

say "cpack -G DEB in $BUILD"
cmake --build "$BUILD" -j "$JOBS"  # up to date after the build stage
rm -f "$BUILD"/mirrorfs_*.deb
(cd "$BUILD" && cpack -G DEB)
debs=("$BUILD"/mirrorfs_*.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] || fail "cpack made no one .deb"
DEB=${debs[0]}
dpkg-deb --field "$DEB"
# The example configurations are valid TOML (what the config files of
# the units are copied from).
python3 -c 'import sys, tomllib
for f in sys.argv[1:]: tomllib.load(open(f, "rb"))' \
  packaging/examples/mount.toml packaging/examples/serve.toml

say "dpkg -c: nothing but the program, units, docs and man page"
dpkg -c "$DEB" | awk '{print $6}' >"$BUILD/deb-contents.txt"
if grep -Ei 'test|bench|fuzz|\.a$|/include/' "$BUILD/deb-contents.txt"; then
  fail "test, benchmark or library files in the package (above)"
fi
depends=$(dpkg-deb --field "$DEB" Depends)
echo "Depends: $depends"
for dep in fuse3 libfuse3-3 libsqlite3-0 libssl3 libzstd1 libnettle8; do
  [[ ", $depends," == *", $dep"[\ ,]* ]] || fail "Depends lacks $dep"
done

say "apt-get install $DEB"
export DEBIAN_FRONTEND=noninteractive
if dpkg -s mirrorfs >/dev/null 2>&1; then apt-get purge -y -q mirrorfs; fi
apt-get install -y -q "$DEB"
cleanup() {
  if [[ ${KEEP_INSTALLED:-0} != 1 ]]; then
    apt-get purge -y -q mirrorfs >/dev/null || true
  fi
}
trap cleanup EXIT

say "dpkg -L mirrorfs"
listed=$(dpkg -L mirrorfs)
for f in /usr/bin/mirrorfs /usr/lib/mirrorfs/unmount-stale \
         /lib/systemd/system/mirrorfs-mount@.service \
         /lib/systemd/system/mirrorfs-replicate@.service \
         /lib/systemd/system/mirrorfs-serve.service \
         /usr/share/doc/mirrorfs/examples/NAME.toml \
         /usr/share/doc/mirrorfs/examples/serve.toml \
         /usr/share/man/man1/mirrorfs.1.gz /etc/mirrorfs /var/lib/mirrorfs; do
  grep -qx -- "$f" <<<"$listed" || fail "dpkg -L mirrorfs lacks $f"
  [[ -e $f ]] || fail "$f not installed"
done
[[ -d /etc/mirrorfs ]] || fail "/etc/mirrorfs is not a directory"
[[ $(stat -c %a /var/lib/mirrorfs) == 700 ]] || fail "/var/lib/mirrorfs not 0700"
cmp packaging/examples/mount.toml /usr/share/doc/mirrorfs/examples/NAME.toml
cmp packaging/examples/serve.toml /usr/share/doc/mirrorfs/examples/serve.toml
/usr/bin/mirrorfs --version
echo "all files in place"

say "systemd-analyze verify"
out=$(cd /lib/systemd/system &&
      systemd-analyze verify mirrorfs-serve.service \
        mirrorfs-mount@smoke.service mirrorfs-replicate@smoke.service 2>&1) ||
  { echo "$out"; fail "systemd-analyze verify exited non-zero"; }
[[ -z $out ]] || { echo "$out"; fail "systemd-analyze verify complained"; }
echo "three units verified, no messages"

say "man page"
page=/usr/share/man/man1/mirrorfs.1.gz
warnings=$(zcat "$page" | groff -man -Tutf8 -ww -z 2>&1)
[[ -z $warnings ]] || { echo "$warnings"; fail "groff warnings"; }
rendered=$(MANWIDTH=80 man -l "$page" 2>&1)
head -n 12 <<<"$rendered"
commands=$(/usr/bin/mirrorfs --help |
           sed -n '/^Commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p')
[[ -n $commands ]] || fail "no commands in mirrorfs --help"
for cmd in $commands; do
  grep -q "^   mirrorfs $cmd\$" <<<"$rendered" ||
    fail "the man page has no section for '$cmd'"
  first=$(/usr/bin/mirrorfs help "$cmd" |
          awk 'f == 1 { print $1; f = 2 } /^Options:/ { f = 1 }' | tr -d ,)
  [[ -z $first ]] || grep -qF -- "$first" <<<"$rendered" ||
    fail "the man page lacks '$first' of '$cmd'"
done
echo "renders cleanly; sections for:" $commands

say "smoke test with the installed mirrorfs"
MIRRORFS=/usr/bin/mirrorfs bash "$ROOT/packaging/smoke_test.sh"
say "README's quick start with the installed package"
bash "$ROOT/packaging/quickstart_test.sh"
say "package test passed"

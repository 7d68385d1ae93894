#!/usr/bin/env bash
# Follows README.md's "Quick start" word for word on this one machine,
# with the INSTALLED package, playing both hosts (the mirror's and the
# source's paths in the quick start do not overlap). Run by
# package_test.sh after it installed the .deb; refuses to run where any
# of the quick start's paths already exist.
#
# What cannot be followed literally here, and what stands in for it:
#   - the first block (clone, build_deb.sh, apt-get install): the CI has
#     just built and installed this checkout's .deb;
#   - `systemctl enable --now UNIT...`: this machine has no running
#     systemd, so each unit's ExecStartPre/ExecStart lines are read from
#     the installed unit file (%i substituted) and run in the background,
#     waiting as Type=notify would (the mount in place) or for serve to
#     listen;
#   - `CLIENT=sha256:C...` / `MIRROR=sha256:M...` (the reader pastes what
#     keygen printed): keygen run again prints the same fingerprint;
#   - `mirror.example` resolves to 127.0.0.1 through /etc/hosts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
UNITS=${UNITS:-/lib/systemd/system}
say() { printf -- '--- %s\n' "$*"; }
fail() { echo "quick start test FAILED: $*" >&2; exit 1; }

PATHS=(/etc/mirrorfs/serve.toml /etc/mirrorfs/home.toml /srv/mirror /srv/home
       /mnt/home /var/lib/mirrorfs/mirror /var/lib/mirrorfs/home)
for p in "${PATHS[@]}"; do
  [[ -e $p ]] && fail "$p exists: not clobbering a real set-up"
done
command -v mirrorfs >/dev/null || fail "mirrorfs is not installed"

WORK=$(mktemp -d /tmp/mirrorfs-quickstart.XXXXXX)
PIDS=()
HOSTS_ADDED=0
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  mountpoint -q /mnt/home && { fusermount3 -uz /mnt/home || umount -l /mnt/home; }
  rm -rf "${PATHS[@]}"
  ((HOSTS_ADDED)) && sed -i '/ mirror.example # mirrorfs quickstart_test$/d' /etc/hosts
  rm -rf "$WORK"
}
trap cleanup EXIT
if ! getent hosts mirror.example >/dev/null; then
  echo "127.0.0.1 mirror.example # mirrorfs quickstart_test" >>/etc/hosts
  HOSTS_ADDED=1
fi

# Stands in for `systemctl enable --now UNIT...`.
start_units() {
  local unit template instance file line
  for unit in "$@"; do
    template=$unit instance=
    if [[ $unit == *@* ]]; then template="${unit%%@*}@" instance="${unit#*@}"; fi
    file="$UNITS/$template.service"
    [[ -f $file ]] || fail "no unit file $file"
    while IFS= read -r line; do
      line=${line//%i/$instance}
      case $line in
        ExecStartPre=*)
          line=${line#ExecStartPre=}
          bash -c "${line#-}" || [[ $line == -* ]] || fail "$unit: ExecStartPre failed"
          ;;
        ExecStart=*)
          bash -c "exec ${line#ExecStart=}" 2>>"$WORK/$unit.log" &
          PIDS+=($!)
          ;;
      esac
    done <"$file"
    case $unit in
      mirrorfs-mount@*) wait_for "$unit to mount" mountpoint -q /mnt/home ;;
      mirrorfs-serve) wait_for "$unit to listen" grep -q serving "$WORK/$unit.log" ;;
    esac
  done
}
wait_for() {  # WHAT COMMAND...
  local what=$1
  shift
  for _ in $(seq 300); do
    "$@" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$WORK"/*.log >&2 || true
  fail "timed out waiting for $what"
}

# The quick start's shell blocks, adapted as said above.
python3 - "$ROOT/README.md" >"$WORK/quickstart.sh" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
if len(blocks) < 4:
    sys.exit("README quick start: expected 4 shell blocks, found %d" % len(blocks))
print("set -euo pipefail")
for block in blocks[1:]:  # the first builds and installs the .deb
    for line in block.splitlines():
        if re.match(r"CLIENT=sha256:C\.\.\.", line):
            line = "CLIENT=$(mirrorfs keygen --state /var/lib/mirrorfs/home)"
        elif re.match(r"MIRROR=sha256:M\.\.\.", line):
            line = "MIRROR=$(mirrorfs keygen --state /var/lib/mirrorfs/mirror)"
        elif line.startswith("systemctl enable --now "):
            line = "start_units " + line[len("systemctl enable --now "):]
        print(line)
PYEOF
say "the quick start, as run here:"
cat "$WORK/quickstart.sh"
say "running it"
mkdir -p /etc/mirrorfs  # the package made it; a dpkg --purge removes it
source "$WORK/quickstart.sh" >"$WORK/out.txt"
cat "$WORK/out.txt"

say "hello.txt reaches the mirror, and status shows nothing pending"
wait_for "hello.txt on the mirror" cmp -s /srv/home/hello.txt /srv/mirror/hello.txt
json=$(mirrorfs status --state /var/lib/mirrorfs/home --json)
[[ $json == *'"name":"offsite"'* ]] || fail "status lists no mirror offsite: $json"
wait_for "nothing pending" bash -c \
  "mirrorfs status --state /var/lib/mirrorfs/home --json | grep -q '\"pending_operations\":0'"
say "quick start test passed"

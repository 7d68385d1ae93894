#!/usr/bin/env bash
# Follows README.md's "Quick start" word for word on TWO Debian 12 hosts
# that run systemd, from a fresh clone of the commit under test (HEAD),
# and checks the end state. This proves what quickstart_test.sh (one
# machine, no systemd) cannot: `git clone` + `bash packaging/build_deb.sh`
# on a bare Debian 12, `apt-get install` of the .deb, and the units
# started by `systemctl enable --now` under a real systemd, replicating
# over a network to another host.
#
# The hosts are systemd-nspawn containers booted with `-b` (systemd 252
# as PID 1): "source" and "mirror", each a copy of a minimal debootstrap
# of bookworm (systemd, dbus, iproute2, ca-certificates: less than a
# stock install has), each in its own network namespace on a bridge, with
# NAT through this machine to the Debian archive it uses. The README's
# blocks are taken from README.md and run as root in the host the text
# says, through nsenter into its PID 1's namespaces, with `bash -ex`.
#
# End state checked: /srv/mirror/hello.txt on the mirror; `mirrorfs
# status` on the source lists `offsite` with nothing pending; the three
# units enabled and active; after a reboot of the source its units are
# active again and a new file reaches the mirror; `systemctl stop` of the
# source's units ends them with success and leaves no mount at /mnt/home,
# and of the mirror's unit ends it with success.
#
# Stand-ins that remain (what the reader does by other means):
#   - REPO_URL is a git bundle of HEAD copied into each host;
#   - mirror.example resolves through the source's /etc/hosts (not DNS);
#   - "build once and copy the .deb to the other host" (the README's
#     alternative): the mirror's `bash packaging/build_deb.sh` line is
#     replaced by copying the source's .deb into its build-deb/ (scp);
#   - CLIENT=sha256:C... / MIRROR=sha256:M...: the fingerprint the other
#     host's keygen printed is pasted in, as the reader does;
#   - the hosts share this machine's kernel, and the mount unit gets
#     /dev/fuse through nspawn's --bind=/dev/fuse.
#
# As root on Debian 12 with /dev/fuse, allowed to make network
# namespaces, a bridge, nft NAT rules and cgroups (a VM, or a privileged
# container); no systemd needed on this machine. Installs
# systemd-container, debootstrap, nftables, iproute2 and git here if
# missing; leaves nothing else behind (the cache aside). Takes 2 to 5
# minutes on 2 vCPUs, with or without other builds beside it (build_deb.sh
# in the source host is nearly all of it), plus 1 to 2 minutes the first
# time for debootstrap.
#
# Environment:
#   QS_HOSTS_DIR  work directory (default /var/tmp/mirrorfs-qs-hosts); its
#                 cache/ keeps the debootstrapped root file system between
#                 runs (delete it to start from debootstrap again)
#   QS_HOSTS_NET  the hosts' /24, first three octets (default 10.213.77)
#   QS_HOSTS_TMPFS=0  the hosts' file systems in QS_HOSTS_DIR/run on disk,
#                 not on a tmpfs (which holds about 2 GB at the end; the
#                 limit is QS_HOSTS_TMPFS_SIZE, default 8G)
#   KEEP=1        leave the hosts running at the end (for a look; then
#                 run the script's cleanup by hand: see cleanup())
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DIR=${QS_HOSTS_DIR:-/var/tmp/mirrorfs-qs-hosts}
NET=${QS_HOSTS_NET:-10.213.77}
CACHE=$DIR/cache
RUN=$DIR/run
BRIDGE=mfsqs-br
NFT_TABLE=mfsqs_hosts
HOSTS=(source mirror)
declare -A ADDR=([source]=$NET.2 [mirror]=$NET.3)
declare -A NSPAWN_PID LEADER
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
START=$SECONDS
say() { printf -- '\n--- [%dm%02ds] %s\n' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)) "$*"; }
fail() {
  echo "quick start hosts test FAILED: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "run as root"
[[ -c /dev/fuse ]] || fail "no /dev/fuse"
[[ -e $RUN ]] && fail "$RUN exists: another run, or a failed cleanup"

source packaging/install_packages.sh
need=()
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
command -v git >/dev/null || need+=(git)
((${#need[@]} == 0)) || install_packages "${need[@]}"

# The Debian archive this machine uses (deb822 or one-line sources).
archive() {  # SUFFIX: /debian or /debian-security
  local url
  url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
          /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v '^ *#' |
        grep -oE "https?://[^ ]*$1/?( |\$)" | head -1 | tr -d ' ') || true
  echo "${url:-http://deb.debian.org$1}"
}
DEBIAN_URL=$(archive /debian)
SECURITY_URL=$(archive /debian-security)

# --- the cached root file system: a fresh Debian 12 that boots systemd
ROOTFS=$CACHE/rootfs-bookworm
if [[ ! -f $ROOTFS/.complete ]]; then
  say "debootstrap bookworm from $DEBIAN_URL into $ROOTFS (once)"
  rm -rf --one-file-system "$ROOTFS" "$ROOTFS.tmp"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,iproute2,ca-certificates \
    bookworm "$ROOTFS.tmp" "$DEBIAN_URL" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap"; }
  # What an installed Debian has and debootstrap leaves out or copies
  # from this machine.
  cat >"$ROOTFS.tmp/etc/apt/sources.list" <<EOF
deb $DEBIAN_URL bookworm main
deb $DEBIAN_URL bookworm-updates main
deb $SECURITY_URL bookworm-security main
EOF
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$ROOTFS.tmp/etc/hosts"
  : >"$ROOTFS.tmp/etc/machine-id"  # each boot makes its own
  rm -f "$ROOTFS.tmp/var/cache/apt/archives/"*.deb "$ROOTFS.tmp/var/lib/apt/lists/"*_* || true
  touch "$ROOTFS.tmp/.complete"
  mv "$ROOTFS.tmp" "$ROOTFS"
fi

# --- cleanup: everything below lives in $RUN, the netns, the bridge and
# the nft table, and goes away here
FORWARD_WAS=$(sysctl -n net.ipv4.ip_forward)
NSPAWN_RUN_EXISTED=0
[[ -e /run/systemd/nspawn ]] && NSPAWN_RUN_EXISTED=1
cleanup() {
  local status=$? h m fs
  trap - EXIT
  if ((status != 0)); then
    for h in "${HOSTS[@]}"; do
      [[ -n ${LEADER[$h]:-} ]] || continue
      echo "=== $h: failed units and the journal's last lines about mirrorfs" >&2
      in_host "$h" systemctl --failed --no-pager >&2 || true
      in_host "$h" journalctl -b --no-pager | grep -i mirrorfs | tail -60 >&2 || true
    done
  fi
  if [[ ${KEEP:-} == 1 ]]; then
    echo "KEEP=1: hosts left running; nsenter -t PID -a bash, PIDs: ${LEADER[*]:-}" >&2
    return
  fi
  # SIGTERM: nspawn halts the container's systemd. (Not `systemctl
  # poweroff` through nsenter: systemd-shutdown SIGSTOPs every process in
  # the container, and nsenter, seeing its child stopped, stops itself for
  # good.)
  for h in "${HOSTS[@]}"; do
    if [[ -n ${NSPAWN_PID[$h]:-} ]]; then kill -TERM "${NSPAWN_PID[$h]}" 2>/dev/null || true; fi
  done
  for h in "${HOSTS[@]}"; do
    [[ -n ${NSPAWN_PID[$h]:-} ]] || continue
    for _ in $(seq 150); do
      kill -0 "${NSPAWN_PID[$h]}" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "${NSPAWN_PID[$h]}" 2>/dev/null || true
    wait "${NSPAWN_PID[$h]}" 2>/dev/null || true
  done
  for fs in $(cgroup_trees); do
    for h in "${HOSTS[@]}"; do
      [[ -d $fs/mfsqs-$h ]] || continue
      for _ in $(seq 50); do  # a killed container's processes take a moment
        find "$fs/mfsqs-$h" -depth -type d -exec rmdir {} + 2>/dev/null && break
        sleep 0.2
      done
    done
  done
  for h in "${HOSTS[@]}"; do ip netns del "mfsqs-$h" 2>/dev/null || true; done
  ip link del "$BRIDGE" 2>/dev/null || true
  nft delete table ip "$NFT_TABLE" 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward="$FORWARD_WAS"
  # Nothing should be mounted there once the containers are gone.
  while read -r _ m _; do
    if [[ $m == "$RUN" || $m == "$RUN"/* ]]; then umount -l "$m" || true; fi
  done < <(tac /proc/self/mounts)
  rm -rf --one-file-system "$RUN"
  ((NSPAWN_RUN_EXISTED)) || rm -rf /run/systemd/nspawn
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # through cleanup

# The cgroup hierarchies systemd manages: cgroup2 and the named
# name=systemd one (the v1 controllers' stay out of it).
cgroup_trees() {
  awk '$3 == "cgroup2" || ($3 == "cgroup" && $4 ~ /(^|,)name=systemd(,|$)/) { print $2 }' \
    /proc/self/mounts
}

# Runs COMMAND... as root in host H (a login shell's PATH and HOME).
in_host() {  # H COMMAND...
  local h=$1
  shift
  nsenter -t "${LEADER[$h]}" -a -r -w -- \
    env -i PATH="$PATH_IN" HOME=/root LANG=C.UTF-8 TERM=dumb "$@" </dev/null
}

# --- two hosts on one network, with NAT to the archive
say "the network: bridge $BRIDGE $NET.1/24, source ${ADDR[source]}, mirror ${ADDR[mirror]}"
ip -o addr | grep -q " $NET\." && fail "$NET.0/24 is in use here: set QS_HOSTS_NET"
ip link add "$BRIDGE" type bridge
ip addr add "$NET.1/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for h in "${HOSTS[@]}"; do
  ip netns add "mfsqs-$h"
  ip link add "mfsqs-$h" type veth peer name eth0 netns "mfsqs-$h"
  ip link set "mfsqs-$h" master "$BRIDGE" up
  ip -n "mfsqs-$h" addr add "${ADDR[$h]}/24" dev eth0
  ip -n "mfsqs-$h" link set eth0 up
  ip -n "mfsqs-$h" link set lo up
  ip -n "mfsqs-$h" route add default via "$NET.1"
done
sysctl -qw net.ipv4.ip_forward=1
nft add table ip "$NFT_TABLE"
nft "add chain ip $NFT_TABLE postrouting { type nat hook postrouting priority srcnat; }"
nft add rule ip "$NFT_TABLE" postrouting ip saddr "$NET.0/24" oifname != "$BRIDGE" masquerade

# --- boot the two hosts
mkdir -p "$RUN"
# The hosts' file systems on a tmpfs: removing two Debian systems with a
# compiler and a build tree from a disk took minutes, an unmount takes none.
if [[ ${QS_HOSTS_TMPFS:-1} == 1 ]]; then
  mount -t tmpfs -o size="${QS_HOSTS_TMPFS_SIZE:-8G}",mode=755 mfsqs-hosts "$RUN"
fi
git -C "$ROOT" bundle create "$RUN/mirrorfs.bundle" HEAD 2>/dev/null
say "REPO_URL: a bundle of HEAD, $(git -C "$ROOT" log -1 --format='%h %s' | cut -c1-60)"
[[ -z $(git -C "$ROOT" status --porcelain --untracked-files=no) ]] ||
  echo "(the work tree has uncommitted changes: they are not tested)"

# Boots host H's file system in $RUN/H; wait_host waits for it.
start_host() {  # H
  local h=$1
  # Without a systemd on this machine: no machined registration, no scope
  # unit (--register=no --keep-unit). nspawn then puts the container in
  # payload/ beneath its own cgroup, so each nspawn starts in a cgroup of
  # its own (in the hierarchies systemd manages): in the same one, the
  # hosts' systemds would share their units' cgroups, and a unit stopped
  # in one would kill the other's processes.
  (
    for fs in $(cgroup_trees); do
      mkdir -p "$fs/mfsqs-$h"
      echo "$BASHPID" >"$fs/mfsqs-$h/cgroup.procs"
    done
    exec systemd-nspawn -q -b -D "$RUN/$h" -M "mfsqs-$h" --register=no --keep-unit \
      --network-namespace-path="/run/netns/mfsqs-$h" --bind=/dev/fuse \
      --console=passive
  ) >>"$RUN/$h.console.log" 2>&1 &
  NSPAWN_PID[$h]=$!
  LEADER[$h]=
}
wait_host() {  # H: until its systemd says the system is running
  local h=$1 state
  for _ in $(seq 100); do
    LEADER[$h]=$(pgrep -P "${NSPAWN_PID[$h]}" -x systemd || true)
    [[ -n ${LEADER[$h]} ]] && break
    kill -0 "${NSPAWN_PID[$h]}" 2>/dev/null ||
      { cat "$RUN/$h.console.log" >&2; fail "$h: systemd-nspawn exited"; }
    sleep 0.2
  done
  [[ -n ${LEADER[$h]} ]] || fail "$h: no systemd in the container"
  state=$(timeout 120 nsenter -t "${LEADER[$h]}" -a -r -w -- \
            env -i PATH="$PATH_IN" systemctl is-system-running --wait || true)
  say "$h booted: systemd PID ${LEADER[$h]} on this machine, system $state"
  [[ $state == running ]] || { in_host "$h" systemctl --failed --no-pager; fail "$h: $state"; }
}

for h in "${HOSTS[@]}"; do
  say "booting $h (a copy of $ROOTFS)"
  cp -a "$ROOTFS" "$RUN/$h"
  echo "$h" >"$RUN/$h/etc/hostname"
  cp "$RUN/mirrorfs.bundle" "$RUN/$h/var/tmp/mirrorfs.bundle"
  # The mirror is mirror.example: the reader's DNS, here the source's hosts.
  if [[ $h == source ]]; then
    echo "${ADDR[mirror]} mirror.example" >>"$RUN/$h/etc/hosts"
  fi
  start_host "$h"
done
for h in "${HOSTS[@]}"; do wait_host "$h"; done

# --- the quick start's blocks, from README.md
# The quick start of the commit the hosts clone, not of the work tree.
git -C "$ROOT" show HEAD:README.md >"$RUN/README.md"
python3 - "$RUN/README.md" "$RUN" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
run = sys.argv[2]
section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
if len(blocks) != 4:
    sys.exit("README quick start: expected 4 shell blocks, found %d" % len(blocks))
install, keygen, mirror, source = blocks
def write(name, body):
    with open("%s/%s.sh" % (run, name), "w") as f:
        f.write(body)
# 1. Both hosts: install. The mirror copies the source's .deb instead of
# building it ("or build once and copy the .deb to the other host").
if "bash packaging/build_deb.sh" not in install:
    sys.exit("README quick start: the first block does not run build_deb.sh")
write("install-source", install)
write("install-mirror", re.sub(
    r"^bash packaging/build_deb.sh.*$",
    "mkdir -p build-deb && cp /var/tmp/from-source/mirrorfs_*.deb build-deb/"
    "   # stands in for: scp source:mirrorfs/build-deb/mirrorfs_*.deb build-deb/",
    install, flags=re.M))
# 2. keygen: each line on the host its comment names.
for line in keygen.splitlines():
    host = re.search(r"# on the (mirror|source)", line)
    if not host:
        sys.exit("README quick start: keygen line names no host: " + line)
    write("keygen-" + host.group(1), line + "\n")
# 3. and 4.: the mirror's and the source's set-up; the fingerprint lines
# are what the reader replaces with what the other host printed.
for name, body, var in (("setup-mirror", mirror, "CLIENT"),
                        ("setup-source", source, "MIRROR")):
    if not re.search(r"^%s=sha256:[CM]\.\.\." % var, body, re.M):
        sys.exit("README quick start: no %s=sha256:... line" % var)
    write(name, body)
PYEOF
[[ -f $RUN/keygen-mirror.sh && -f $RUN/keygen-source.sh ]] ||
  fail "README quick start: keygen lines for both hosts expected"

run_block() {  # H NAME [VAR=VALUE...]: runs $RUN/NAME.sh in host H from /root
  local h=$1 name=$2
  shift 2
  cp "$RUN/$name.sh" "$RUN/$h/root/.quickstart-$name.sh"
  say "$h: README block '$name'"
  sed 's/^/    /' "$RUN/$name.sh"
  in_host "$h" env "$@" bash -c "cd /root && exec bash -ex /root/.quickstart-$name.sh" ||
    fail "$h: README block '$name' failed"
  rm -f "$RUN/$h/root/.quickstart-$name.sh"
}

REPO_URL=/var/tmp/mirrorfs.bundle
run_block source install-source REPO_URL=$REPO_URL
debs=("$RUN"/source/root/mirrorfs/build-deb/mirrorfs_*.deb)
((${#debs[@]} == 1)) && [[ -f ${debs[0]} ]] || fail "source: build_deb.sh made no one .deb"
mkdir -p "$RUN/mirror/var/tmp/from-source"
cp "${debs[0]}" "$RUN/mirror/var/tmp/from-source/"
run_block mirror install-mirror REPO_URL=$REPO_URL

say "keygen on both hosts"
keygen() {  # H: runs the keygen line for H there, prints what it printed
  sed 's/^/    /' "$RUN/keygen-$1.sh" >&2
  cp "$RUN/keygen-$1.sh" "$RUN/$1/root/.quickstart-keygen.sh"
  in_host "$1" bash -e /root/.quickstart-keygen.sh
  rm -f "$RUN/$1/root/.quickstart-keygen.sh"
}
M=$(keygen mirror) || fail "mirror: keygen"
C=$(keygen source) || fail "source: keygen"
echo "mirror printed: $M"
echo "source printed: $C"
[[ $M == sha256:* && $C == sha256:* ]] || fail "keygen did not print sha256:... fingerprints"
# What the reader pastes: the other host's fingerprint in place of sha256:C.../M...
sed -i "s|^CLIENT=sha256:C\.\.\.|CLIENT=$C|" "$RUN/setup-mirror.sh"
sed -i "s|^MIRROR=sha256:M\.\.\.|MIRROR=$M|" "$RUN/setup-source.sh"
run_block mirror setup-mirror
run_block source setup-source

# --- the end state
say "hello.txt reaches the mirror's /srv/mirror"
for _ in $(seq 60); do
  [[ $(cat "$RUN/mirror/srv/mirror/hello.txt" 2>/dev/null) == hello ]] && break
  sleep 0.5
done
[[ $(cat "$RUN/mirror/srv/mirror/hello.txt" 2>/dev/null) == hello ]] ||
  fail "no /srv/mirror/hello.txt with 'hello' on the mirror"
echo "mirror: /srv/mirror/hello.txt: $(cat "$RUN/mirror/srv/mirror/hello.txt")"

say "source: mirrorfs status shows offsite with nothing pending"
json=
for _ in $(seq 60); do
  json=$(in_host source mirrorfs status --state /var/lib/mirrorfs/home --json) ||
    fail "source: mirrorfs status failed"
  [[ $json == *'"name":"offsite"'* && $json == *'"pending_operations":0'* ]] && break
  sleep 0.5
done
[[ $json == *'"name":"offsite"'* ]] || fail "status lists no mirror offsite: $json"
[[ $json == *'"pending_operations":0'* ]] || fail "status shows operations pending: $json"
in_host source mirrorfs status --state /var/lib/mirrorfs/home

say "the units are enabled and active"
check_units() {  # H UNIT...
  local h=$1 u active enabled
  shift
  for u in "$@"; do
    active=$(in_host "$h" systemctl is-active "$u" || true)
    enabled=$(in_host "$h" systemctl is-enabled "$u" || true)
    echo "$h: $u $enabled $active"
    [[ $active == active && $enabled == enabled ]] || fail "$h: $u is $enabled, $active"
  done
}
check_units mirror mirrorfs-serve
check_units source mirrorfs-mount@home mirrorfs-replicate@home
in_host source findmnt /mnt/home

say "the source reboots: the enabled units come up, a new file reaches the mirror"
# nspawn exits on a reboot; booting it again is the machine's firmware.
in_host source systemctl --no-block reboot
for _ in $(seq 300); do
  kill -0 "${NSPAWN_PID[source]}" 2>/dev/null || break
  sleep 0.2
done
kill -0 "${NSPAWN_PID[source]}" 2>/dev/null && fail "source: no reboot in 60 s"
wait "${NSPAWN_PID[source]}" || true
start_host source
wait_host source
check_units source mirrorfs-mount@home mirrorfs-replicate@home
in_host source mountpoint /mnt/home
in_host source bash -c 'echo again >/mnt/home/after-reboot.txt'
for _ in $(seq 60); do
  [[ $(cat "$RUN/mirror/srv/mirror/after-reboot.txt" 2>/dev/null) == again ]] && break
  sleep 0.5
done
[[ $(cat "$RUN/mirror/srv/mirror/after-reboot.txt" 2>/dev/null) == again ]] ||
  fail "no /srv/mirror/after-reboot.txt on the mirror"
echo "mirror: /srv/mirror/after-reboot.txt: $(cat "$RUN/mirror/srv/mirror/after-reboot.txt")"

say "systemctl stop: the source's units unmount cleanly, the mirror's stops"
in_host source systemctl stop mirrorfs-mount@home mirrorfs-replicate@home
for u in mirrorfs-mount@home mirrorfs-replicate@home; do
  show=$(in_host source systemctl show -p ActiveState -p Result -p ExecMainStatus "$u" | tr '\n' ' ')
  echo "source: $u: $show"
  [[ $show == *ActiveState=inactive* && $show == *Result=success* ]] ||
    fail "source: $u did not stop cleanly: $show"
done
in_host source mountpoint -q /mnt/home && fail "source: /mnt/home is still a mount point"
in_host source grep -q ' /mnt/home ' /proc/self/mounts && fail "source: /mnt/home in /proc/mounts"
[[ $(in_host source cat /srv/home/hello.txt) == hello ]] || fail "source: /srv/home/hello.txt"
echo "source: /mnt/home is no longer mounted; /srv/home/hello.txt is there"
in_host mirror systemctl stop mirrorfs-serve
show=$(in_host mirror systemctl show -p ActiveState -p Result -p ExecMainStatus mirrorfs-serve | tr '\n' ' ')
echo "mirror: mirrorfs-serve: $show"
[[ $show == *ActiveState=inactive* && $show == *Result=success* ]] ||
  fail "mirror: mirrorfs-serve did not stop cleanly: $show"

say "quick start hosts test passed in $(((SECONDS - START) / 60))m$(((SECONDS - START) % 60))s"

#!/usr/bin/env bash
# End-to-end smoke test of an installed mirrorfs, as the systemd units run
# it (packaging/package_test.sh calls it after installing the .deb): on
# 127.0.0.1, a source and a mirror in a scratch directory,
#   keygen on both ends; serve (background); mount -f (background, as
#   mirrorfs-mount@ runs it); files written through the mount;
#   replicate --once; the mirror compared with BACKING (diff -r, and
#   types, modes, sizes, mtimes to the ns, symlink targets);
#   restore (empty DEST, then over an older copy), verify and verify --repair;
#   the mount stopped by SIGTERM (exit 0, unmounted, journal committed);
#   a mount killed by SIGKILL and its dead mountpoint cleaned up by
#   /usr/lib/mirrorfs/unmount-stale (mirrorfs-mount@'s ExecStartPre);
#   serve stopped by SIGTERM (exit 0).
# Leaves no mount and no daemon behind, whatever fails. As root.
#
# Environment: MIRRORFS (default /usr/bin/mirrorfs), UNMOUNT_STALE
# (default /usr/lib/mirrorfs/unmount-stale), KEEP_TMP=1 keeps the work
# directory.
set -euo pipefail

M=${MIRRORFS:-/usr/bin/mirrorfs}
UNMOUNT_STALE=${UNMOUNT_STALE:-/usr/lib/mirrorfs/unmount-stale}
say() { printf -- '--- %s\n' "$*"; }
fail() { echo "smoke test FAILED: $*" >&2; exit 1; }
trap 'echo "smoke test FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mirrorfs-smoke.XXXXXX")
SERVE_PID= MOUNT_PID=
cleanup() {
  local pid
  for pid in $MOUNT_PID $SERVE_PID; do
    { kill "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  if in_mountinfo; then
    fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" || true
  fi
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
cd "$WORK"
# The mountpoint has a space in its name: unmount-stale must find it in
# /proc/self/mountinfo, which escapes it as \040.
MNT="$WORK/mnt point"
mkdir backing "$MNT" state mirror mirror-state
# in_mountinfo [FSTYPE]: MNT is in the mount table (with that type).
in_mountinfo() {
  ESC=${MNT// /\\040} awk -v t="${1:-}" '
    $5 == ENVIRON["ESC"] && (t == "" || $0 ~ " - " t " ") { found = 1 }
    END { exit !found }' /proc/self/mountinfo
}

# wait_for WHAT CMD...: retries CMD for up to 10 s.
wait_for() {
  local what=$1 i
  shift
  for i in $(seq 100); do
    "$@" && return 0
    sleep 0.1
  done
  fail "timed out waiting for $what"
}
is_mounted() { mountpoint -q "$MNT"; }
listening() {
  PORT=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\)$/\1/p' serve.log | sed -n 1p)
  [[ -n $PORT ]]
}
# start_mount: mount -f in the background, as mirrorfs-mount@ runs it.
start_mount() {
  "$M" mount backing "$MNT" --state state -f 2>>mount.log &
  MOUNT_PID=$!
  wait_for "the mount" is_mounted
}
# listing DIR: what must agree between source and mirror.
listing() { (cd "$1" && find . -printf '%p %y %m %s %T@ %l\n' | sort); }
same_tree() {  # A B
  diff -r --no-dereference "$1" "$2" || fail "$2 differs from $1 (diff -r)"
  diff <(listing "$1") <(listing "$2") ||
    fail "$2 differs from $1 (types, modes, sizes, mtimes)"
}

say "$("$M" --version | sed -n 1p) ($M)"
say "keygen on both ends"
CLIENT_KEY=$("$M" keygen --state state 2>/dev/null)
MIRROR_KEY=$("$M" keygen --state mirror-state 2>/dev/null)
[[ $CLIENT_KEY =~ ^sha256:[0-9a-f]{64}$ ]] || fail "keygen printed '$CLIENT_KEY'"
[[ $MIRROR_KEY =~ ^sha256:[0-9a-f]{64}$ ]] || fail "keygen printed '$MIRROR_KEY'"
[[ $("$M" keygen --state state 2>/dev/null) == "$CLIENT_KEY" ]] ||
  fail "keygen run again printed another fingerprint"

say "serve on 127.0.0.1"
"$M" serve mirror --listen 127.0.0.1:0 --state mirror-state \
  --allow "$CLIENT_KEY" 2>serve.log &
SERVE_PID=$!
wait_for "serve to listen" listening

say "mount -f, files written through it"
echo "here before the first mount" >backing/existing.txt
start_mount
head -c $((4 * 1024 * 1024)) /dev/urandom >"$MNT"/big.bin
head -c 4096 /dev/urandom |
  dd of="$MNT"/big.bin bs=4096 seek=100 conv=notrunc status=none
mkdir -p "$MNT"/docs/deep
echo "hello" >"$MNT"/docs/hello.txt
mv "$MNT"/docs/hello.txt "$MNT"/docs/greeting.txt
echo "draft" >"$MNT"/docs/deep/draft.txt
ln -s docs/greeting.txt "$MNT"/link
chmod 640 "$MNT"/existing.txt
touch -d '2020-02-02 02:02:02.123456789' "$MNT"/docs/deep/draft.txt
echo "gone soon" >"$MNT"/removed.txt
rm "$MNT"/removed.txt

say "replicate --once"
"$M" replicate --once --state state --mirror "local=127.0.0.1:$PORT" \
  --pin "local=$MIRROR_KEY"
same_tree backing mirror
[[ $("$M" status --state state --json) == *'"name":"local"'* ]] ||
  fail "status --json does not list the mirror"
echo "mirror equals BACKING"

say "restore (mirror chosen from a config file) into an empty directory"
cat >client.toml <<EOF
state = "$WORK/state"
[mirrors.local]
address = "127.0.0.1:$PORT"
pin = "$MIRROR_KEY"
EOF
"$M" restore --config client.toml --mirror local --to restored
# DEST's own directory keeps its mode and mtime: compare what is beneath.
diff -r --no-dereference backing restored || fail "restored differs (diff -r)"
diff <(listing backing | grep -v '^\. ') <(listing restored | grep -v '^\. ') ||
  fail "restored differs (types, modes, sizes, mtimes)"

say "restore over an older copy: only what differs crosses the wire"
head -c 4096 /dev/urandom |
  dd of=restored/big.bin bs=4096 seek=10 conv=notrunc status=none
out=$("$M" restore --config client.toml --to restored)
echo "$out"
wire=$(sed -n 's/.* bytes, \([0-9]*\) on the wire.*/\1/p' <<<"$out")
[[ -n $wire ]] || fail "restore printed no wire figure"
((wire < 1024 * 1024)) || fail "restoring a 4 KiB change sent $wire bytes"
cmp backing/big.bin restored/big.bin || fail "big.bin not restored"

say "verify: identical; a file changed on the mirror is found and repaired"
"$M" verify --config client.toml || fail "verify of an identical mirror failed"
echo "changed on the mirror behind its back" >mirror/docs/greeting.txt
rc=0
out=$("$M" verify --config client.toml) || rc=$?
echo "$out"
((rc == 1)) || fail "verify exited $rc on a changed mirror file"
grep -q 'docs/greeting.txt' <<<"$out" || fail "verify did not name docs/greeting.txt"
"$M" verify --config client.toml --repair || fail "verify --repair failed"
cmp backing/docs/greeting.txt mirror/docs/greeting.txt || fail "not repaired"

say "SIGTERM stops the mount cleanly"
echo "written just before the stop" >"$MNT"/last.txt
kill -TERM "$MOUNT_PID"
rc=0
wait "$MOUNT_PID" || rc=$?
MOUNT_PID=
((rc == 0)) || fail "mount exited $rc on SIGTERM"
is_mounted && fail "still mounted after SIGTERM"
"$M" replicate --once --state state --mirror "local=127.0.0.1:$PORT" \
  --pin "local=$MIRROR_KEY"
same_tree backing mirror
echo "unmounted, exit 0; the last change was journaled and replicated"

say "mount -f says READY=1 once mounted (mirrorfs-mount@ is Type=notify)"
python3 - "$M" "$MNT" <<'PYEOF'
import os, socket, subprocess, sys
m, mnt = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("notify.sock")
s.settimeout(60)
env = dict(os.environ, NOTIFY_SOCKET=os.path.abspath("notify.sock"))
p = subprocess.Popen([m, "mount", "backing", mnt, "--state", "state", "-f"], env=env,
                     stderr=open("mount.log", "a"))
try:
    msg = s.recv(4096)
    if msg != b"READY=1": sys.exit("notified %r, not READY=1" % msg)
    if not os.path.ismount(mnt): sys.exit("READY=1 before the mount was in place")
finally:
    p.terminate()
    if p.wait() != 0: sys.exit("mount exited %d on SIGTERM" % p.returncode)
PYEOF
is_mounted && fail "still mounted after SIGTERM"
echo "READY=1 came with the mount in place"

say "a killed mount's dead mountpoint is cleaned up by unmount-stale"
start_mount
kill -KILL "$MOUNT_PID"
wait "$MOUNT_PID" 2>/dev/null || true
MOUNT_PID=
stat "$MNT" >/dev/null 2>&1 && fail "mountpoint still answers after SIGKILL"
in_mountinfo fuse.mirrorfs ||
  fail "no dead fuse.mirrorfs mount left to clean up"
cat >unit.toml <<EOF
state = "$WORK/state"
[mount]
backing = "$WORK/backing"
mountpoint = "$MNT/"   # a trailing slash, as people write it
EOF
"$UNMOUNT_STALE" unit.toml
in_mountinfo &&
  fail "unmount-stale left the dead mount"
start_mount  # the unit's next start succeeds
"$UNMOUNT_STALE" unit.toml
is_mounted || fail "unmount-stale unmounted a live mount"
kill -TERM "$MOUNT_PID"
wait "$MOUNT_PID"
MOUNT_PID=
echo "dead mount removed, live mount left alone"

say "SIGTERM stops serve cleanly"
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
SERVE_PID=
((rc == 0)) || fail "serve exited $rc on SIGTERM"
say "smoke test passed"

#!/usr/bin/env bash
# The demo job: installs the dependencies (as root, on Debian 12), builds
# mirrorfs, then does what it is for on a real file: a 64 MiB basis, an
# edited copy (scattered overwrites and an insertion), and
#   mirrorfs signature OLD SIG; mirrorfs delta SIG NEW DELTA;
#   mirrorfs patch OLD DELTA OUT; cmp NEW OUT
# printing the sizes and the ratio delta / new file. Exits non-zero if any
# step fails. With rdiff installed it also checks that rdiff applies our
# delta and shows rdiff's own delta size beside ours.
#
# Then the main job: a mirror daemon (`mirrorfs serve`) on 127.0.0.1, a
# mount, changes through it (a 64 MiB copy, a 4 KiB edit, a rename, a
# mkdir, links, ...), the journal they produced, `mirrorfs replicate
# --once`, a check that the mirror equals BACKING, then a 4 KiB edit
# replicated as a delta (bytes on the wire printed) and `mirrorfs status`.
#
# Environment: JOBS (default 2), SIZE_MIB (default 64), KEEP_TMP=1 keeps
# the work directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
JOBS=${JOBS:-2}
SIZE_MIB=${SIZE_MIB:-64}
PACKAGES=(cmake ninja-build g++ pkg-config libb2-dev nettle-dev libsqlite3-dev
          libfuse3-dev fuse3 sqlite3 rdiff libboost-dev libssl-dev libzstd-dev libtomlplusplus-dev
          openssl curl)

say() { printf '\n=== %s\n' "$*"; }
trap 'echo "demo FAILED (line $LINENO: $BASH_COMMAND)" >&2' ERR

source packaging/install_packages.sh

now() { date +%s.%N; }
# timed LABEL CMD...: runs CMD and prints how long it took.
timed() {
  local label=$1 t0 t1
  shift
  t0=$(now)
  "$@"
  t1=$(now)
  awk -v l="$label" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "  %-28s %6.2f s\n", l, b - a }'
}
size() { stat -c %s "$1"; }

say "installing packages"
install_packages "${PACKAGES[@]}"

say "building (cmake -S . -B build -G Ninja && cmake --build build)"
# Tests and benchmarks are not needed here; packaging/test.sh builds them.
cmake -S . -B build -G Ninja -DMIRRORFS_TESTS=OFF -DMIRRORFS_BENCH=OFF
cmake --build build -j "$JOBS"
M=$PWD/build/mirrorfs
"$M" --version

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mirrorfs-demo.XXXXXX")
cleanup() {
  [[ -n ${SERVE_PID:-} ]] && kill "$SERVE_PID" 2>/dev/null
  if mountpoint -q "$WORK/mnt" 2>/dev/null; then
    fusermount3 -u "$WORK/mnt" || umount -l "$WORK/mnt" || true
  fi
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
cd "$WORK"

say "making the files: ${SIZE_MIB} MiB of random data and an edited copy"
MIB=$((1024 * 1024))
TOTAL=$((SIZE_MIB * MIB))
head -c "$TOTAL" /dev/urandom >old
cp old new
# 16 scattered 4 KiB overwrites...
for i in $(seq 0 15); do
  off=$(((i * TOTAL / 16) + (i * 7919 % 4096)))
  head -c 4096 /dev/urandom |
    dd of=new bs=4096 seek="$off" oflag=seek_bytes conv=notrunc status=none
done
# ...and 1 MiB inserted at 40% of the file.
at=$((TOTAL * 2 / 5))
{ head -c "$at" new; head -c "$MIB" /dev/urandom; tail -c +"$((at + 1))" new; } \
  >new.tmp
mv new.tmp new
echo "  old: $(size old) bytes; new: $(size new) bytes" \
     "(16 x 4 KiB overwritten, 1 MiB inserted)"

say "signature, delta, patch"
timed "mirrorfs signature" "$M" signature old old.sig
timed "mirrorfs delta" "$M" delta old.sig new new.delta
timed "mirrorfs patch" "$M" patch old new.delta new.out
cmp new new.out
echo "  patched file is identical to the new file (cmp)"

if command -v rdiff >/dev/null 2>&1; then
  say "the same with rdiff, for comparison"
  rdiff patch old new.delta rdiff-applied.out
  cmp new rdiff-applied.out
  echo "  rdiff applies mirrorfs's delta: identical (cmp)"
  timed "rdiff signature" rdiff signature old rdiff.sig
  cmp old.sig rdiff.sig
  echo "  rdiff's signature is byte-identical to mirrorfs's"
  timed "rdiff delta" rdiff delta old.sig new rdiff.delta
  RDIFF_DELTA=$(size rdiff.delta)
fi

say "sizes"
NEW=$(size new)
DELTA=$(size new.delta)
printf '  %-16s %12d bytes\n' "new file" "$NEW" "signature" "$(size old.sig)" \
  "mirrorfs delta" "$DELTA"
if [[ -n ${RDIFF_DELTA:-} ]]; then
  printf '  %-16s %12d bytes\n' "rdiff delta" "$RDIFF_DELTA"
fi
awk -v d="$DELTA" -v n="$NEW" \
  'BEGIN { printf "  delta / new file = %.4f (%.2f%%)\n", d / n, 100 * d / n }'
say "a replicated mount: mirrorfs serve, mount, replicate on 127.0.0.1"
mkdir backing mnt state mirror mirror-state
echo "already here before the first mount" >backing/existing.txt
# Keys, as on two hosts: each end pins the other's fingerprint.
CLIENT_KEY=$("$M" keygen --state state 2>/dev/null)
MIRROR_KEY=$("$M" keygen --state mirror-state 2>/dev/null)
echo "  replicator key $CLIENT_KEY"
echo "  mirror key     $MIRROR_KEY"
"$M" serve mirror --listen 127.0.0.1:0 --state mirror-state \
    --allow "$CLIENT_KEY" 2>serve.log &
SERVE_PID=$!
for _ in $(seq 100); do
  PORT=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\)$/\1/p' serve.log | head -n1)
  [[ -n $PORT ]] && break
  sleep 0.1
done
[[ -n ${PORT:-} ]] || { cat serve.log >&2; echo "serve did not start" >&2; exit 1; }
echo "  mirrorfs serve listening on 127.0.0.1:$PORT"
"$M" mount backing mnt --state state
replicate() { "$M" replicate --once --state state \
                --mirror "local=127.0.0.1:$PORT" --pin "local=$MIRROR_KEY"; }
# Changes through the mount, as an application makes them.
timed "copy ${SIZE_MIB} MiB into the mount" cp old mnt/big.bin
head -c 4096 /dev/urandom |
  dd of=mnt/big.bin bs=4096 seek=1000 conv=notrunc status=none
mkdir mnt/docs
echo "hello" >mnt/docs/hello.txt
mv mnt/docs/hello.txt mnt/docs/greeting.txt
ln -s docs/greeting.txt mnt/link
ln mnt/docs/greeting.txt mnt/docs/hardlink.txt
chmod 600 mnt/existing.txt
echo "  the journal in state/state.db (what the replicator reads):"
sqlite3 -separator ' ' state/state.db "
  SELECT printf('  %4d  %-8s %-22s %s', seq,
    CASE kind WHEN 1 THEN 'create' WHEN 2 THEN 'mkdir' WHEN 3 THEN 'mknod'
      WHEN 4 THEN 'symlink' WHEN 5 THEN 'link' WHEN 6 THEN 'unlink'
      WHEN 7 THEN 'rmdir' WHEN 8 THEN 'rename' WHEN 9 THEN 'setattr'
      WHEN 10 THEN 'truncate' WHEN 11 THEN 'setxattr'
      WHEN 12 THEN 'rmxattr' WHEN 13 THEN 'dirty' ELSE 'extent' END,
    CASE WHEN kind = 14 THEN printf('file %d', file_id) ELSE path END,
    CASE WHEN kind = 14 THEN printf('bytes %d..%d', off, off + len)
         WHEN path2 IS NOT NULL THEN '-> ' || path2 ELSE '' END)
  FROM journal ORDER BY seq"
timed "replicate --once (first sync)" replicate
# The mirror equals BACKING: names, content, modes, mtimes to the ns, links.
listing() { (cd "$1" && find . -printf '%p %y %m %s %T@ %l %n\n' | sort); }
diff <(listing backing) <(listing mirror)
diff -r --no-dereference backing mirror
echo "  mirror/ is identical to backing/ (content, types, modes, mtimes, links)"
SENT1=$("$M" status --state state --json | sed 's/.*"bytes_sent":\([0-9]*\).*/\1/')

say "a 4 KiB edit in the ${SIZE_MIB} MiB file, replicated as a delta"
head -c 4096 /dev/urandom |
  dd of=mnt/big.bin bs=4096 seek=$((SIZE_MIB * 128)) conv=notrunc status=none
timed "replicate --once (the edit)" replicate
cmp backing/big.bin mirror/big.bin
SENT2=$("$M" status --state state --json | sed 's/.*"bytes_sent":\([0-9]*\).*/\1/')
echo "  bytes on the wire for the edit: $((SENT2 - SENT1))" \
     "(the file is $((SIZE_MIB * MIB)) bytes)"
"$M" status --state state
fusermount3 -u mnt
kill "$SERVE_PID"
wait "$SERVE_PID" || true
say "demo passed"

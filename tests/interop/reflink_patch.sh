#!/usr/bin/env bash
# patch shares block-aligned COPY ranges with the basis by reflink on a
# file system that offers it: XFS on a loop device made here.
#
# usage: reflink_patch.sh MIRRORFS
# Needs root, mkfs.xfs (xfsprogs) and a loop device. Where any is missing it
# prints SKIPPED and why, and exits 77 (CTest's skip code): never a pass.
set -euo pipefail
M=${1:?usage: reflink_patch.sh MIRRORFS}
skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root to mount a loop device"
command -v mkfs.xfs >/dev/null || skip "mkfs.xfs not found (apt-get install xfsprogs)"
command -v rdiff >/dev/null || { echo "FAIL: rdiff not found"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/reflink_patch.XXXXXX")
MNT=$TMP/mnt
cleanup() {
  cd /
  mountpoint -q "$MNT" && umount "$MNT"
  rm -rf "$TMP"
}
trap cleanup EXIT
mkdir "$MNT"
truncate -s 1G "$TMP/xfs.img"
mkfs.xfs -q -m reflink=1 "$TMP/xfs.img" || skip "mkfs.xfs failed"
mount -o loop "$TMP/xfs.img" "$MNT" 2>/dev/null || skip "cannot loop-mount (no loop device?)"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

cd "$MNT"
# 64 MiB basis; new = basis with scattered 4 KiB overwrites, then 1 MiB
# inserted (shifting the rest by a multiple of the block size) and a few
# bytes inserted (shifting it by 3: no longer clonable).
python3 - <<'PY'
import random
r = random.Random(7)
old = bytearray(r.randbytes(64 << 20))
new = bytearray(old)
for _ in range(50):
    at = r.randrange(len(new) - 4096)
    new[at:at + 4096] = r.randbytes(4096)
new[20 << 20:20 << 20] = r.randbytes(1 << 20)
new[50 << 20:50 << 20] = b"xyz"
open("old", "wb").write(old)
open("new", "wb").write(new)
PY
"$M" signature old sig
"$M" delta sig new delta
stats=$("$M" -s patch old delta out 2>&1 >/dev/null)
stats=${stats%%$'\n'*}  # the statistics line; the time line follows
echo "  $stats"
if cmp -s out new; then ok "reflinked patch output equals new"; else bad "patch output differs from new"; fi
cloned=$(sed -n 's/.*cloned\[\([0-9]*\) bytes\].*/\1/p' <<<"$stats")
size=$(stat -c %s new)
# Everything before the 3-byte shift is clonable but for edited blocks:
# at least a third of the file must be shared.
if [[ -n $cloned ]] && ((cloned > size / 3)); then
  ok "patch shared $cloned of $size bytes by reflink"
else
  bad "patch shared ${cloned:-0} of $size bytes by reflink (expected > 1/3)"
fi
# rdiff must still apply our delta, and we rdiff's, on this file system.
rdiff patch old delta out.r && cmp -s out.r new && ok "rdiff applies the delta" || bad "rdiff patch"
# Unaligned output offset: patch to stdout appended to an existing file.
printf 'abc' > shifted
"$M" patch old delta - >> shifted
if cmp -s <(tail -c +4 shifted) new; then ok "patch at an unaligned output offset"; else bad "unaligned output offset"; fi
# The basis must be unchanged by sharing its extents.
"$M" signature old sig2
if cmp -s sig sig2; then ok "basis unchanged"; else bad "basis changed"; fi
echo "$pass passed, $fail failed"
((fail == 0))

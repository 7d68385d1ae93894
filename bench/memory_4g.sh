#!/bin/bash
# Peak memory of mirrorfs signature, delta and patch on a 4 GiB file: the
# delta job must hold the signature plus bounded buffers, whatever the size
# of the new file.
#
#   bench/memory_4g.sh [--mirrorfs build/mirrorfs] [--workdir DIR]
#                      [--size-mib 4096]   (smaller only to try the script)
#
# Makes basis = SIZE random bytes (AES-CTR keystream, fast), new = basis
# with 100 scattered 4 KiB overwrites and 1 MiB appended, then runs each
# operation under /usr/bin/time -v and prints wall time, peak RSS and the
# sizes of the signature and delta. Needs 20 GiB free on the work
# directory's disk (basis, new and patched output); deletes it all at exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
mirrorfs=""
workdir=""
size_mib=4096
while [ $# -gt 0 ]; do
  case "$1" in
    --mirrorfs) mirrorfs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --size-mib) size_mib=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "memory_4g: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$mirrorfs" ]; then
  for cand in "$repo/build/mirrorfs" "$repo/build/cli/mirrorfs"; do
    if [ -x "$cand" ]; then mirrorfs=$cand; break; fi
  done
fi
[ -n "$mirrorfs" ] && [ -x "$mirrorfs" ] ||
  { echo "memory_4g: no mirrorfs executable (build it or pass --mirrorfs)" >&2; exit 2; }
[ -x /usr/bin/time ] ||
  { echo "memory_4g: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
command -v openssl >/dev/null ||
  { echo "memory_4g: openssl missing" >&2; exit 2; }

# A real disk, not tmpfs: default next to the repository's build tree.
if [ -z "$workdir" ]; then
  if [ "$(stat -f -c %T /tmp)" != tmpfs ] &&
     [ "$(stat -c %d /tmp)" = "$(stat -c %d "$repo")" ]; then
    workdir=/tmp
  else
    workdir=$repo/build
  fi
fi
mkdir -p "$workdir"
free_kib=$(df -Pk "$workdir" | awk 'NR==2 {print $4}')
if [ "$free_kib" -lt $((20 * 1024 * 1024)) ]; then
  echo "memory_4g: $workdir has $((free_kib / 1024 / 1024)) GiB free;" \
       "refusing to start with less than 20 GiB" >&2
  exit 1
fi
dir=$(mktemp -d "$workdir/memory_4g.XXXXXX")
trap 'rm -rf "$dir"' EXIT

size=$((size_mib * 1024 * 1024))
echo "memory_4g: $size_mib MiB in $dir, mirrorfs = $mirrorfs"

echo "generating basis ..."
# (openssl dies of SIGPIPE when head has enough: not an error here.)
(openssl enc -aes-128-ctr -nosalt -pass pass:mirrorfs-memory-4g \
    -in /dev/zero 2>/dev/null || true) | head -c "$size" > "$dir/basis"
echo "generating new (100 scattered 4 KiB edits, 1 MiB appended) ..."
cp "$dir/basis" "$dir/new"
python3 - "$dir/new" "$size" <<'EOF'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
rng = random.Random(4)
with open(path, "r+b") as f:
    for _ in range(100):
        f.seek(rng.randrange(size - 4096))
        f.write(rng.randbytes(4096))
    f.seek(0, 2)
    f.write(rng.randbytes(1 << 20))
EOF

# Runs "$@" under time -v; prints op, wall seconds and peak RSS.
measure() {
  local op=$1; shift
  cat "${inputs[@]}" > /dev/null  # warm the page cache
  /usr/bin/time -v -o "$dir/time.$op" "$@"
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time.$op")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$dir/time.$op")
  awk -v op="$op" -v wall="$wall" -v rss="$rss" \
      'BEGIN { printf "%-10s wall %-10s peak RSS %8.1f MiB\n", op, wall, rss / 1024 }'
}

inputs=("$dir/basis")
measure signature "$mirrorfs" signature "$dir/basis" "$dir/sig"
inputs=("$dir/sig" "$dir/new")
measure delta "$mirrorfs" delta "$dir/sig" "$dir/new" "$dir/delta"
inputs=("$dir/basis" "$dir/delta")
measure patch "$mirrorfs" patch "$dir/basis" "$dir/delta" "$dir/out"
awk -v n="$(stat -c %s "$dir/sig")" \
    'BEGIN { printf "signature  %d bytes (%.1f MiB)\n", n, n / 1048576 }'
printf 'delta      %d bytes\n' "$(stat -c %s "$dir/delta")"
if cmp -s "$dir/out" "$dir/new"; then
  echo "patched output matches new"
else
  echo "memory_4g: MISMATCH: patched output differs from new" >&2
  exit 1
fi

#!/usr/bin/env bash
# Bad input to `mirrorfs signature|delta|patch`: every case must fail with
# exactly one line on stderr and a non-zero exit status that is not a
# signal (>= 128), within 20 s, with bounded memory and without writing
# output proportional to a length field read from the input.
#
# usage: bad_input.sh MIRRORFS [RDIFF]
#
# rdiff (librsync) makes the valid reference files the bad ones are cut
# from. Prints one line per case and, alone on the last line,
# "N passed, M failed". KEEP_TMP=1 keeps the work directory.
# shellcheck disable=SC2016  # the single-quoted scripts expand in bash -c
set -euo pipefail

MIRRORFS=${1:?usage: bad_input.sh MIRRORFS [RDIFF]}
RDIFF=${2:-${RDIFF:-rdiff}}
TIMEOUT=20                  # seconds; a hang is a failure
MAX_OUT=65536               # bytes of output a failing command may leave
MAX_RSS_KB=$((256 * 1024))  # peak RSS of a failing command

if ! command -v "$RDIFF" >/dev/null 2>&1; then
  echo "FAIL: '$RDIFF' not found: these tests need librsync's rdiff" \
       "(Debian: apt-get install rdiff)" >&2
  exit 1
fi
if [[ "$MIRRORFS" != */* ]]; then
  MIRRORFS=$(command -v "$MIRRORFS" || true)
fi
if [[ -z "$MIRRORFS" || ! -x "$MIRRORFS" ]]; then
  echo "FAIL: mirrorfs executable '${1}' not found or not executable" >&2
  exit 1
fi
MIRRORFS=$(cd "$(dirname "$MIRRORFS")" && pwd)/$(basename "$MIRRORFS")
M=$MIRRORFS
if ! command -v python3 >/dev/null 2>&1; then
  echo "FAIL: python3 not found" >&2
  exit 1
fi
# The interpreter itself, not a version-manager shim: it runs once per case.
PY=$(python3 -c 'import sys; print(sys.executable)')

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bad_input.XXXXXX")
cleanup() {
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
F=$TMP/f
mkdir -p "$F"
cd "$TMP"

# run.py OUT ERR CMD...: runs CMD (stdin inherited), stdout to OUT, stderr
# to ERR; prints "RC SECONDS MAXRSS_KB". RC is "timeout" on a hang and
# 128+N when CMD dies of signal N.
cat >"$TMP/run.py" <<'PY'
import os, resource, subprocess, sys, time
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e)
    try:
        rc = p.wait(timeout=float(os.environ["TIMEOUT"]))
        rc = 128 - rc if rc < 0 else rc
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = "timeout"
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(rc, "%.2f" % (time.monotonic() - t0), rss)
PY
export TIMEOUT

# ---------------------------------------------------------------------------
# Inputs. Valid references come from rdiff; bad ones are cut from them or
# built byte by byte.
"$PY" - "$F" <<'PY'
import random, struct, sys, os
F = sys.argv[1]
rng = random.Random(42)
def w(name, data):
    with open(os.path.join(F, name), "wb") as f:
        f.write(data)
basis = rng.randbytes(1000)
w("basis", basis)
w("basis_short", basis[:500])
w("new", basis[:300] + b"inserted" + basis[300:])
w("garbage", rng.randbytes(777))
w("text", b"this is not a signature\nnor a delta\n" * 10)
PY
"$RDIFF" signature "$F/basis" "$F/sig"                       # blake2, b 256
"$RDIFF" signature -H md4 -S 8 "$F/basis" "$F/sig_md4"
"$RDIFF" delta "$F/sig" "$F/new" "$F/delta"
"$RDIFF" delta "$F/sig" "$F/basis" "$F/delta_same"           # all COPY

"$PY" - "$F" <<'PY'
import struct, sys, os
F = sys.argv[1]
def r(name):
    return open(os.path.join(F, name), "rb").read()
def w(name, data):
    with open(os.path.join(F, name), "wb") as f:
        f.write(data)
sig = r("sig")
assert len(sig) == 12 + 4 * 36
hdr = lambda magic, bl, sl: struct.pack(">III", magic, bl, sl)
B2 = 0x72730147
entries = sig[12:]
# Signatures.
w("sig_cut_header6", sig[:6])
w("sig_cut_header11", sig[:11])
w("sig_cut_weak", sig[:12 + 36 + 2])           # mid weak sum
w("sig_cut_strong", sig[:12 + 36 + 4 + 10])     # mid strong sum
w("sig_cut_last", sig[:-1])                     # last entry one byte short
w("sig_magic_delta", struct.pack(">I", 0x72730236) + sig[4:])
w("sig_magic_zero", b"\0\0\0\0" + sig[4:])
w("sig_magic_48", struct.pack(">I", 0x72730148) + sig[4:])
w("sig_magic_56", struct.pack(">I", 0x72730156) + sig[4:])
w("sig_block0", hdr(B2, 0, 32) + entries)
w("sig_block0_empty", hdr(B2, 0, 32))
w("sig_blockff", hdr(B2, 0xffffffff, 32) + entries)
w("sig_blockff_empty", hdr(B2, 0xffffffff, 32))
w("sig_strong0", hdr(B2, 256, 0) + b"\1\2\3\4" * 4)
w("sig_strong33", hdr(B2, 256, 33) + entries)
w("sig_strongff", hdr(B2, 256, 0xffffffff) + entries)
w("sig_md4_strong17", hdr(0x72730146, 256, 17) + entries)
w("sig_md4_strong32", hdr(0x72730136, 256, 32) + entries)
# Deltas. M = magic; C(pos, len) with explicit widths.
M = struct.pack(">I", 0x72730236)
WID = {1: 0, 2: 1, 4: 2, 8: 3}
FMT = {1: ">B", 2: ">H", 4: ">I", 8: ">Q"}
def C(pos, ln, pw=8, lw=8):
    return (bytes([0x45 + 4 * WID[pw] + WID[lw]]) + struct.pack(FMT[pw], pos)
            + struct.pack(FMT[lw], ln))
def L(data):
    return bytes([len(data)]) + data if 0 < len(data) <= 64 else \
        b"\x42" + struct.pack(">H", len(data)) + data
w("delta_empty", b"")
w("delta_magic_cut", M[:2])
w("delta_magic_sig", struct.pack(">I", B2) + b"\x03abc\x00")
w("delta_magic_zero", b"\0\0\0\0\x03abc\x00")
w("delta_no_end", M)
w("delta_lit_no_end", M + b"\x03abc")
w("delta_copy_no_end", M + C(0, 10))
w("delta_mid_cmd_copy", M + b"\x45")
w("delta_mid_cmd_copy_len", M + b"\x54" + b"\0" * 8 + b"\0" * 3)
w("delta_mid_cmd_lit_len", M + b"\x44\x00\x00\x00")
w("delta_mid_lit", M + b"\x10abcde")
w("delta_mid_lit2", M + b"\x42\x01\x00" + b"x" * 10)
w("delta_zero_copy", M + C(0, 0, 1, 1) + b"\0")
w("delta_zero_copy8", M + C(5, 0) + b"\0")
w("delta_copy_pos_past", M + C(2000, 1, 2, 1) + b"\0")
w("delta_copy_pos_at_end", M + C(1000, 1, 2, 1) + b"\0")
w("delta_copy_len_past", M + C(900, 101, 2, 1) + b"\0")
w("delta_copy_overflow", M + C(0xffffffffffffff00, 0x200) + b"\0")
w("delta_copy_overflow2", M + C(1, 0xffffffffffffffff) + b"\0")
w("delta_copy_huge", M + C(0, 1 << 62) + b"\0")
w("delta_lit_2p62", M + b"\x44" + struct.pack(">Q", 1 << 62) + b"x" * 10)
w("delta_lit_2p40", M + b"\x44" + struct.pack(">Q", 1 << 40) + b"x" * 10)
w("delta_lit_2p31", M + b"\x44" + struct.pack(">Q", 1 << 31) + b"x" * 10)
w("delta_lit_4g", M + b"\x43" + struct.pack(">I", 0xffffffff) + b"x" * 10)
w("delta_lit_max", M + b"\x44" + b"\xff" * 8 + b"x" * 10)
for op in range(0x55, 0x100):
    w("delta_op_%02x" % op, M + b"\x03abc" + bytes([op]) + b"\0" * 17)
# Part-way failures: a literal is written before the bad command.
w("delta_partial", M + L(b"P" * 5000) + C(2000, 10, 2, 1) + b"\0")
PY

# ---------------------------------------------------------------------------
pass=0
fail=0
declare -a FAILED=()
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
  fail=$((fail + 1))
  FAILED+=("$1")
  echo "FAIL $1: $2"
}
NOTES=()
note() { NOTES+=("$1"); echo "NOTE $1"; }

# The exit status `mirrorfs --help` documents for corrupt input (usage and
# environment errors, the rest, must differ from it); empty if undocumented.
CORRUPT_RC=$("$M" --help 2>&1 | sed -n 's/^ *\([0-9]\) *corrupt input.*/\1/p' | head -n1)

# expect_fail NAME [-i STDIN] [-o OUTFILE] [-q] [-c] -- CMD...
#   -i FILE  feed FILE on stdin (default /dev/null)
#   -o PATH  the output file CMD names; it must stay small (and is checked
#            by the caller for clobbering)
#   -q       must also fail quickly (< 5 s)
#   -c       corrupt input: exit with $CORRUPT_RC; otherwise with another
#            non-zero status
expect_fail() {
  local name=$1 stdin=/dev/null outfile="" quick=0 corrupt=0
  shift
  while [[ $1 != -- ]]; do
    case $1 in
      -i) stdin=$2; shift 2 ;;
      -o) outfile=$2; shift 2 ;;
      -q) quick=1; shift ;;
      -c) corrupt=1; shift ;;
      *) echo "expect_fail: bad option $1" >&2; exit 2 ;;
    esac
  done
  shift
  local res rc secs rss
  res=$("$PY" "$TMP/run.py" "$TMP/stdout" "$TMP/stderr" "$@" <"$stdin")
  read -r rc secs rss <<<"$res"
  local errlines errtail outsize
  errlines=$(wc -l <"$TMP/stderr")
  errtail=$(tail -c1 "$TMP/stderr" | od -An -tx1 | tr -d ' \n')
  outsize=$(stat -c %s "$TMP/stdout")
  local first
  first=$(head -n1 "$TMP/stderr" | cut -c1-160)
  if [[ $rc == timeout ]]; then
    bad "$name" "hung (killed after ${TIMEOUT}s)"
  elif ((rc >= 128)); then
    bad "$name" "killed by signal $((rc - 128)) (exit $rc); stderr: $first"
  elif ((rc == 0)); then
    bad "$name" "exit 0 (accepted bad input)"
  elif [[ -n $CORRUPT_RC ]] && ((corrupt)) && ((rc != CORRUPT_RC)); then
    bad "$name" "exit $rc, want $CORRUPT_RC (corrupt input); stderr: $first"
  elif [[ -n $CORRUPT_RC ]] && ((!corrupt)) && ((rc == CORRUPT_RC)); then
    bad "$name" "exit $rc, the corrupt-input status, for a usage or environment error; stderr: $first"
  elif [[ $errlines != 1 || $errtail != 0a || -z "$first" ]]; then
    bad "$name" "stderr has $errlines lines, want exactly 1: $(head -n3 "$TMP/stderr" | cut -c1-120 | tr '\n' '|')"
  elif ((outsize > MAX_OUT)); then
    bad "$name" "wrote $outsize bytes to stdout"
  elif [[ -n $outfile && -f $outfile ]] && (($(stat -c %s "$outfile") > MAX_OUT)); then
    bad "$name" "left a $(stat -c %s "$outfile")-byte output file"
  elif ((rss > MAX_RSS_KB)); then
    bad "$name" "peak RSS $((rss / 1024)) MiB"
  elif ((quick)) && [[ $(awk -v s="$secs" 'BEGIN { print (s >= 5) }') == 1 ]]; then
    bad "$name" "took $secs s"
  else
    ok "$name  (exit $rc: $first)"
  fi
}

O=$TMP/out   # a fresh output path per case
fresh() { rm -f "$O"; }

# --- signatures read by `delta` --------------------------------------------
for s in sig_cut_header6 sig_cut_header11 sig_cut_weak sig_cut_strong \
         sig_cut_last sig_magic_delta sig_magic_zero sig_magic_48 sig_magic_56 \
         sig_block0 sig_block0_empty sig_blockff sig_blockff_empty \
         sig_strong0 sig_strong33 sig_strongff sig_md4_strong17 \
         sig_md4_strong32 garbage text delta; do
  fresh
  expect_fail "delta with signature $s" -c -o "$O" -- "$M" delta "$F/$s" "$F/new" "$O"
done
fresh
expect_fail "delta with an empty signature file" -c -o "$O" -- \
  "$M" delta /dev/null "$F/new" "$O"
fresh
expect_fail "delta with garbage signature on stdin" -c -i "$F/garbage" -o "$O" -- \
  "$M" delta - "$F/new" "$O"

# --- deltas read by `patch` --------------------------------------------------
for d in delta_empty delta_magic_cut delta_magic_sig delta_magic_zero \
         delta_no_end delta_lit_no_end delta_copy_no_end delta_mid_cmd_copy \
         delta_mid_cmd_copy_len delta_mid_cmd_lit_len delta_mid_lit \
         delta_mid_lit2 delta_zero_copy delta_zero_copy8 delta_copy_pos_past \
         delta_copy_pos_at_end delta_copy_len_past delta_copy_overflow \
         delta_copy_overflow2 delta_copy_huge sig garbage text; do
  fresh
  expect_fail "patch with $d" -c -o "$O" -- "$M" patch "$F/basis" "$F/$d" "$O"
done
for d in delta_lit_2p62 delta_lit_2p40 delta_lit_2p31 delta_lit_4g delta_lit_max; do
  fresh
  expect_fail "patch with $d (absurd literal length, little data)" -c -q -o "$O" -- \
    "$M" patch "$F/basis" "$F/$d" "$O"
  fresh
  expect_fail "patch with $d to stdout" -c -q -- "$M" patch "$F/basis" "$F/$d" -
done
for op in $(seq $((0x55)) 255); do
  d=$(printf 'delta_op_%02x' "$op")
  fresh
  expect_fail "patch with reserved opcode $(printf '0x%02x' "$op")" -c -o "$O" -- \
    "$M" patch "$F/basis" "$F/$d" "$O"
done
fresh
expect_fail "patch with a basis shorter than the delta needs" -c -o "$O" -- \
  "$M" patch "$F/basis_short" "$F/delta_same" "$O"
fresh
expect_fail "patch with garbage delta on stdin" -c -i "$F/garbage" -o "$O" -- \
  "$M" patch "$F/basis" - "$O"
fresh
expect_fail "patch with the basis on a pipe (-)" -o "$O" -- \
  bash -c 'cat "$1" | "$2" patch - "$3" "$4"' _ "$F/basis" "$M" "$F/delta" "$O"
fresh
expect_fail "patch with the basis on a pipe (/dev/fd)" -o "$O" -- \
  bash -c '"$2" patch <(cat "$1") "$3" "$4"' _ "$F/basis" "$M" "$F/delta" "$O"

# --- nonexistent or unreadable inputs, bad output paths ---------------------
NX=$TMP/does-not-exist
fresh
expect_fail "signature of a nonexistent basis" -o "$O" -- "$M" signature "$NX" "$O"
fresh
expect_fail "delta with a nonexistent signature" -o "$O" -- "$M" delta "$NX" "$F/new" "$O"
fresh
expect_fail "delta with a nonexistent new file" -o "$O" -- "$M" delta "$F/sig" "$NX" "$O"
fresh
expect_fail "patch with a nonexistent basis" -o "$O" -- "$M" patch "$NX" "$F/delta" "$O"
fresh
expect_fail "patch with a nonexistent delta" -o "$O" -- "$M" patch "$F/basis" "$NX" "$O"
fresh
expect_fail "signature of a directory" -o "$O" -- "$M" signature "$TMP" "$O"
expect_fail "signature into a nonexistent directory" -- \
  "$M" signature "$F/basis" "$NX/sig"
expect_fail "patch into a nonexistent directory" -- \
  "$M" patch "$F/basis" "$F/delta" "$NX/new"

# --- bad options --------------------------------------------------------------
for args in "signature -H blake2 -S 33" "signature -H md4 -S 17" \
            "signature -S -2" "signature -H sha1" "signature -R adler" \
            "signature -b -5" "signature -b 4294967296" "signature -b x" \
            "signature -Z" "frobnicate" "" "delta" \
            "signature $F/basis $TMP/x1 $TMP/x2"; do
  fresh
  # shellcheck disable=SC2086  # $args is a word list
  expect_fail "usage: mirrorfs $args" -i "$F/basis" -- "$M" $args
done

fresh
expect_fail "patch BASIS with a basis instead of a delta on stdin" -c -i "$F/basis" -- \
  "$M" patch "$F/basis"

# --- existing outputs ----------------------------------------------------------
precious() { printf 'precious user data\n' >"$O"; }
check_unchanged() {  # NAME: the preceding command must not have touched $O
  if [[ "$(cat "$O" 2>/dev/null)" == "precious user data" ]]; then
    ok "$1: existing output unchanged"
  else
    bad "$1" "clobbered the existing output without -f"
  fi
}
precious
expect_fail "signature over an existing output without -f" -o "$O" -- \
  "$M" signature "$F/basis" "$O"
check_unchanged "signature without -f"
precious
expect_fail "delta over an existing output without -f" -o "$O" -- \
  "$M" delta "$F/sig" "$F/new" "$O"
check_unchanged "delta without -f"
precious
expect_fail "patch over an existing output without -f" -o "$O" -- \
  "$M" patch "$F/basis" "$F/delta" "$O"
check_unchanged "patch without -f"
precious
expect_fail "failing patch over an existing output without -f" -o "$O" -- \
  "$M" patch "$F/basis" "$F/delta_partial" "$O"
check_unchanged "failing patch without -f"

# A patch that fails part-way, into a new file: output is written under a
# temporary name and renamed into place only on success (see patch --help),
# so nothing may be left at the NEW path nor beside it.
fresh
expect_fail "patch failing part-way into a new file" -c -o "$O" -- \
  "$M" patch "$F/basis" "$F/delta_partial" "$O"
if [[ ! -e $O ]]; then
  ok "patch failing part-way left no output"
else
  bad "patch failing part-way" "left a partial output ($(stat -c %s "$O") bytes)"
fi
# The same for delta failing after its output was opened.
fresh
expect_fail "delta failing on a truncated signature" -c -o "$O" -- \
  "$M" delta "$F/sig_cut_last" "$F/new" "$O"
if [[ -e $O ]]; then
  bad "failed delta" "left an output file ($(stat -c %s "$O") bytes)"
else
  ok "failed delta left no output file"
fi
# With -f over an existing file, a failed patch must keep the old file.
precious
expect_fail "failing patch over an existing output with -f" -c -o "$O" -- \
  "$M" patch -f "$F/basis" "$F/delta_partial" "$O"
if [[ "$(cat "$O" 2>/dev/null)" == "precious user data" ]]; then
  ok "failing patch -f kept the previous file"
else
  bad "failing patch -f" "lost the previous file"
fi
leftover=$(find "$(dirname "$O")" -maxdepth 1 -name '.*.mirrorfs-*' | head -n1)
if [[ -z $leftover ]]; then
  ok "no temporary output files left behind"
else
  bad "temporary files" "left behind: $leftover"
fi
echo
if ((${#NOTES[@]})); then
  echo "${#NOTES[@]} notes:"
  printf '  %s\n' "${NOTES[@]}"
fi
if ((fail)); then
  echo "failed cases:"
  printf '  %s\n' "${FAILED[@]}"
fi
echo "$pass passed, $fail failed"
((fail == 0))

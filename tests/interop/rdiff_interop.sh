#!/usr/bin/env bash
# Interoperability of `mirrorfs signature|delta|patch` with librsync's rdiff.
#
# usage: rdiff_interop.sh MIRRORFS [RDIFF]
#
# For every case (signature options x basis x new file) it checks:
#   1. our signature is byte-identical to rdiff's for the same options;
#   2. rdiff patches our delta (made from our signature) to exactly NEW;
#   3. we patch rdiff's delta (rdiff signature + rdiff delta) to exactly NEW;
#   4. our delta made from rdiff's signature patches, by us and by rdiff,
#      to exactly NEW;
#   5. our delta is no larger than rdiff's for the same signature and NEW.
# plus stdin/stdout and pipe forms of the three commands.
#
# Inputs are generated deterministically (python3, seeded); nothing is
# random between runs. Environment knobs:
#   INTEROP_JOBS=N   groups run in parallel (default: number of CPUs)
#   KEEP_TMP=1       keep the work directory for a failure post-mortem
#   CMD_TIMEOUT=S    per-command timeout in seconds (default 60)
# Prints one line per case and, alone on the last line, "N passed, M failed"
# (counting checks). Exits non-zero if any check failed.
# shellcheck disable=SC2016  # the single-quoted scripts expand in bash -c
set -euo pipefail

MIRRORFS=${1:?usage: rdiff_interop.sh MIRRORFS [RDIFF]}
RDIFF=${2:-${RDIFF:-rdiff}}
JOBS=${INTEROP_JOBS:-$(nproc 2>/dev/null || echo 2)}
CMD_TIMEOUT=${CMD_TIMEOUT:-60}

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
for tool in python3 timeout cmp; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL: '$tool' not found" >&2
    exit 1
  fi
done
MIRRORFS=$(cd "$(dirname "$MIRRORFS")" && pwd)/$(basename "$MIRRORFS")
echo "mirrorfs: $MIRRORFS"
echo "rdiff:    $(command -v "$RDIFF") ($("$RDIFF" --version 2>&1 | head -n1))"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/rdiff_interop.XXXXXX")
cleanup() {
  # Stop the groups still running (on INT/TERM) before removing their files.
  local pids
  pids=$(jobs -p)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "kept $TMP" >&2
  else
    rm -rf "$TMP" 2>/dev/null || { sleep 1; rm -rf "$TMP"; }
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$TMP/in" "$TMP/log" "$TMP/w"

# ---------------------------------------------------------------------------
# Input generator. Reads spec lines "NAME KIND SIZE SEED PARAM EDITS" on
# stdin and writes in/NAME/basis plus in/NAME/new.EDIT for each edit.
cat >"$TMP/gen.py" <<'PY'
import os, random, sys

ALL_EDITS = ["same", "overwrite", "insert", "delete", "truncate", "append",
             "prepend", "unrelated", "empty"]

def text(rng, size):
    vocab = []
    for _ in range(300):
        n = rng.randint(1, 10)
        vocab.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz_")
                             for _ in range(n)))
    vocab += ["{", "}", "return", "if", "else", "=", "==", "0", "1", "the"]
    out, total = [], 0
    recent = []
    while total < size:
        if recent and rng.random() < 0.2:
            line = rng.choice(recent)       # repeated lines, as in real text
        else:
            indent = " " * (2 * rng.randint(0, 4))
            line = indent + " ".join(rng.choice(vocab)
                                     for _ in range(rng.randint(1, 14))) + "\n"
            recent = (recent + [line])[-50:]
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]

def basis(kind, size, rng, param):
    if kind == "random":
        return rng.randbytes(size)
    if kind == "zeros":
        return bytes(size)
    if kind == "repeat":           # a random block of PARAM bytes, repeated
        blk = rng.randbytes(param)
        return (blk * (size // param + 1))[:size]
    if kind == "mixed":            # X X Y X t: repeated and unique blocks
        x, y = rng.randbytes(param), rng.randbytes(param)
        return x + x + y + x + rng.randbytes(5)
    if kind == "text":
        return text(rng, size)
    raise SystemExit("unknown kind " + kind)

def edit(name, b, rng):
    n = len(b)
    if name == "same":
        return b
    if name == "overwrite":        # scattered small overwrites
        a = bytearray(b)
        for _ in range(max(1, min(64, n // 400 + 1)) if n else 0):
            p = rng.randrange(n)
            k = min(rng.randint(1, 8), n - p)
            a[p:p + k] = rng.randbytes(k)
        return bytes(a)
    if name == "insert":
        p = n // 3
        return b[:p] + rng.randbytes(rng.randint(1, 100)) + b[p:]
    if name == "delete":
        p = n // 2
        return b[:p] + b[p + max(1, n // 7):]
    if name == "truncate":
        return b[:(2 * n) // 3]
    if name == "append":
        return b + rng.randbytes(37)
    if name == "prepend":
        return rng.randbytes(1) + b
    if name == "unrelated":
        return random.Random(rng.random()).randbytes(max(n, 100))
    if name == "empty":
        return b""
    raise SystemExit("unknown edit " + name)

root = sys.argv[1]
for line in sys.stdin:
    if not line.strip():
        continue
    name, kind, size, seed, param, edits = line.split()
    rng = random.Random(int(seed))
    b = basis(kind, int(size), rng, int(param))
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "basis"), "wb") as f:
        f.write(b)
    made = set()
    for e in (ALL_EDITS if edits == "all" else edits.split(",")):
        n = edit(e, b, random.Random(int(seed) * 7919 + ALL_EDITS.index(e)))
        if n in made:              # tiny bases: many edits coincide
            continue
        made.add(n)
        with open(os.path.join(d, "new." + e), "wb") as f:
            f.write(n)
PY

# ---------------------------------------------------------------------------
# The case runner. Each group (one input set x one option set) runs in the
# background and writes its results to log/GROUP:
#   "P<TAB>case" / "F<TAB>case<TAB>why" lines, one per check, then "DONE".

# try CMD...: runs CMD under a timeout with stderr to $ERR. On failure sets
# WHY and returns non-zero.
try() {
  local rc=0
  if [[ $1 == "$RDIFF" ]]; then  # trusted, and an exec fewer per call
    "$@" 2>"$ERR" || rc=$?
  else
    timeout -k 5 "$CMD_TIMEOUT" "$@" 2>"$ERR" || rc=$?
  fi
  if ((rc != 0)); then
    WHY="'${*##*/}' exit $rc: $(head -n1 "$ERR" | cut -c1-200)"
    [[ $rc == 124 ]] && WHY="'${*##*/}' timed out"
    return 1
  fi
}

# trysh SCRIPT: like try, for a shell pipeline (variables exported by caller).
trysh() {
  local rc=0
  timeout -k 5 "$CMD_TIMEOUT" bash -o pipefail -c "$1" 2>"$ERR" || rc=$?
  if ((rc != 0)); then
    WHY="'$1' exit $rc: $(head -n1 "$ERR" | cut -c1-200)"
    return 1
  fi
}

same() {  # same FILE EXPECTED: sets WHY if they differ
  if ! cmp -s "$1" "$2"; then
    WHY="${3:-output} differs from ${4:-expected} ($(stat -c %s "$1") vs $(stat -c %s "$2") bytes)"
    return 1
  fi
}

# run_group GROUP INPUTDIR SIGOPTS...
run_group() {
  local group=$1 in=$2
  shift 2
  local -a opts=("$@")
  local log="$TMP/log/$group" d="$TMP/w/$group"
  local ERR="$d/err" WHY
  mkdir -p "$d"
  : >"$log"
  local label="${opts[*]:-(defaults)}"
  local basis="$in/basis"
  local sig_ok=1

  # Check 1: signatures identical.
  if ! try "$RDIFF" "${opts[@]}" signature "$basis" "$d/rs.sig"; then
    printf 'F\t%s\t%s\n' "[$label] $(basename "$in") signature" "rdiff: $WHY" >>"$log"
    echo DONE >>"$log"
    return 0
  fi
  if try "$MIRRORFS" signature "${opts[@]}" "$basis" "$d/our.sig" &&
     same "$d/our.sig" "$d/rs.sig" "our signature" "rdiff's"; then
    printf 'P\t%s\n' "[$label] $(basename "$in") signature" >>"$log"
  else
    printf 'F\t%s\t%s\n' "[$label] $(basename "$in") signature" "1: $WHY" >>"$log"
    [[ -s "$d/our.sig" ]] || sig_ok=0
  fi

  local new edit name
  for new in "$in"/new.*; do
    edit=${new##*/new.}
    name="[$label] $(basename "$in")/$edit"
    rm -f "$d"/d2 "$d"/o2 "$d"/d3 "$d"/o3 "$d"/d4 "$d"/o4a "$d"/o4b

    # Check 2: rdiff patches our delta (from our signature).
    if ((sig_ok)) &&
       try "$MIRRORFS" delta "$d/our.sig" "$new" "$d/d2" &&
       try "$RDIFF" patch "$basis" "$d/d2" "$d/o2" &&
       same "$d/o2" "$new" "rdiff-patched output" "NEW"; then
      printf 'P\t%s\t2\n' "$name" >>"$log"
    else
      ((sig_ok)) || WHY="no signature of ours"
      printf 'F\t%s\t2: %s\n' "$name" "$WHY" >>"$log"
    fi

    # Check 3: we patch rdiff's delta.
    if ! try "$RDIFF" delta "$d/rs.sig" "$new" "$d/d3"; then
      printf 'F\t%s\t3: rdiff delta failed: %s\n' "$name" "$WHY" >>"$log"
    elif try "$MIRRORFS" patch "$basis" "$d/d3" "$d/o3" &&
         same "$d/o3" "$new" "our patched output" "NEW"; then
      printf 'P\t%s\t3\n' "$name" >>"$log"
    else
      printf 'F\t%s\t3: %s\n' "$name" "$WHY" >>"$log"
    fi

    # Check 4: our delta from rdiff's signature, patched by both.
    if try "$MIRRORFS" delta "$d/rs.sig" "$new" "$d/d4" &&
       try "$MIRRORFS" patch "$basis" "$d/d4" "$d/o4a" &&
       same "$d/o4a" "$new" "our patched output" "NEW" &&
       try "$RDIFF" patch "$basis" "$d/d4" "$d/o4b" &&
       same "$d/o4b" "$new" "rdiff-patched output" "NEW"; then
      printf 'P\t%s\t4\n' "$name" >>"$log"
    else
      printf 'F\t%s\t4: %s\n' "$name" "$WHY" >>"$log"
    fi

    # Check 5: our delta no larger than rdiff's (same signature, same NEW).
    if [[ -f "$d/d3" && -f "$d/d4" ]]; then
      local ours theirs
      { read -r ours; read -r theirs; } < <(stat -c %s "$d/d4" "$d/d3")
      if ((ours <= theirs)); then
        printf 'P\t%s\t5\n' "$name" >>"$log"
      else
        printf 'F\t%s\t5: our delta is %s bytes, rdiff'"'"'s %s\n' \
          "$name" "$ours" "$theirs" >>"$log"
      fi
    fi
  done
  # Keep /tmp small: the work files of a group go as soon as it is done.
  [[ "${KEEP_TMP:-0}" == 1 ]] || rm -rf "$d"
  echo DONE >>"$log"
}

# run_pipes GROUP INPUTDIR SIGOPTS...: the stdin/stdout and pipe forms.
run_pipes() {
  local group=$1 in=$2
  shift 2
  local log="$TMP/log/$group" d="$TMP/w/$group"
  local ERR="$d/err" WHY
  mkdir -p "$d"
  : >"$log"
  export M="$MIRRORFS" R="$RDIFF" B="$in/basis" N="$in/new.insert" D="$d"
  export O="$*"
  local label="${O:-(defaults)}" base
  base=$(basename "$in")

  pcase() {  # pcase NAME SCRIPT [EXPECTED OUTFILE]
    local name="[$label] $base pipe: $1"
    if trysh "$2" && { [[ $# -lt 3 ]] || same "$4" "$3" "$4" "$3"; }; then
      printf 'P\t%s\n' "$name" >>"$log"
    else
      printf 'F\t%s\t%s\n' "$name" "$WHY" >>"$log"
    fi
  }

  # Reference files, made by rdiff from regular files.
  if ! try bash -c '"$R" $O signature "$B" "$D/rs.sig" &&
                    cat "$B" | "$R" $O signature > "$D/rs.pipe.sig" &&
                    "$R" delta "$D/rs.sig" "$N" "$D/rs.delta"'; then
    printf 'F\t%s\t%s\n' "[$label] $base pipe: rdiff references" "$WHY" >>"$log"
    echo DONE >>"$log"
    return 0
  fi
  # Signatures: a pipe has unknown size (rdiff: block 2048, -S -1 gives 12).
  pcase "signature from a pipe to stdout == rdiff's" \
    'cat "$B" | "$M" signature $O > "$D/p1"' "$D/rs.pipe.sig" "$D/p1"
  pcase "signature - - from a pipe == rdiff's" \
    'cat "$B" | "$M" signature $O - - > "$D/p2"' "$D/rs.pipe.sig" "$D/p2"
  pcase "signature - FILE from a pipe == rdiff's" \
    'cat "$B" | "$M" signature $O - "$D/p3"' "$D/rs.pipe.sig" "$D/p3"
  # stdin redirected from a regular file has a known size, as in rdiff.
  pcase "signature from stdin redirected from a file == rdiff's" \
    '"$M" signature $O < "$B" > "$D/p4"' "$D/rs.sig" "$D/p4"
  pcase "signature FILE - (stdout) == rdiff's" \
    '"$M" signature $O "$B" - | cat > "$D/p5"' "$D/rs.sig" "$D/p5"
  pcase "signature with -s (statistics) writes the same file" \
    '"$M" signature -s $O "$B" "$D/p6"' "$D/rs.sig" "$D/p6"
  # Deltas: NEW and SIG from pipes, DELTA to stdout; rdiff must patch them.
  pcase "delta from a pipe (NEW -) patched by rdiff" \
    'cat "$N" | "$M" delta "$D/rs.sig" - "$D/d1" && "$R" patch "$B" "$D/d1" "$D/o1"' \
    "$N" "$D/o1"
  pcase "delta SIG only: NEW on stdin, DELTA on stdout" \
    'cat "$N" | "$M" delta "$D/rs.sig" | cat > "$D/d2" && "$R" patch "$B" "$D/d2" "$D/o2"' \
    "$N" "$D/o2"
  pcase "delta with SIG from a pipe (SIG -)" \
    'cat "$D/rs.sig" | "$M" delta - "$N" "$D/d3" && "$R" patch "$B" "$D/d3" "$D/o3"' \
    "$N" "$D/o3"
  pcase "delta with -s writes a patchable delta" \
    '"$M" delta -s "$D/rs.sig" "$N" "$D/d4" && "$R" patch "$B" "$D/d4" "$D/o4"' \
    "$N" "$D/o4"
  pcase "delta of rdiff's pipe signature (block 2048)" \
    '"$M" delta "$D/rs.pipe.sig" "$N" "$D/d5" && "$R" patch "$B" "$D/d5" "$D/o5"' \
    "$N" "$D/o5"
  # Patches: DELTA from a pipe, NEW to stdout.
  pcase "patch BASIS - NEW (delta from a pipe)" \
    'cat "$D/rs.delta" | "$M" patch "$B" - "$D/o6"' "$N" "$D/o6"
  pcase "patch BASIS DELTA - (stdout)" \
    '"$M" patch "$B" "$D/rs.delta" - | cat > "$D/o7"' "$N" "$D/o7"
  pcase "patch BASIS (delta on stdin, new on stdout)" \
    'cat "$D/rs.delta" | "$M" patch "$B" | cat > "$D/o8"' "$N" "$D/o8"
  pcase "patch with -s writes the same output" \
    '"$M" patch -s "$B" "$D/rs.delta" "$D/o9"' "$N" "$D/o9"
  # Long options, as rdiff spells them.
  if [[ -z $O ]]; then
    pcase "long options --block-size= --sum-size= --hash= --rollsum=" \
      '"$R" signature -b 512 -S 8 -H md4 -R rollsum "$B" "$D/rs.long.sig" &&
       "$M" signature --block-size=512 --sum-size=8 --hash=md4 --rollsum=rollsum \
         "$B" "$D/p12"' "$D/rs.long.sig" "$D/p12"
    pcase "long options --statistics --force" \
      'echo old > "$D/o13" && "$M" patch --statistics --force "$B" "$D/rs.delta" "$D/o13"' \
      "$N" "$D/o13"
  fi
  # The whole pipeline, and -f over an existing output.
  pcase "signature | delta | patch pipeline" \
    'cat "$B" | "$M" signature $O | "$M" delta - "$N" | "$M" patch "$B" > "$D/o10"' \
    "$N" "$D/o10"
  pcase "-f overwrites an existing output" \
    'echo old > "$D/o11" && "$M" patch -f "$B" "$D/rs.delta" "$D/o11"' "$N" "$D/o11"
  [[ "${KEEP_TMP:-0}" == 1 ]] || rm -rf "$d"
  echo DONE >>"$log"
}

# ---------------------------------------------------------------------------
# The matrix.
SPEC="$TMP/spec"
: >"$SPEC"
declare -a GROUPS_=()   # "KIND<TAB>GROUP<TAB>INPUT<TAB>OPTS"
add() { GROUPS_+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"); }
seed=1
spec() { echo "$1 $2 $3 $((seed++)) $4 $5" >>"$SPEC"; }

MAGICS=("-H blake2 -R rabinkarp" "-H blake2 -R rollsum"
        "-H md4 -R rabinkarp" "-H md4 -R rollsum")
BLOCKS=(default 1 16 64 256 1000 4096)
gid=0
for b in "${BLOCKS[@]}"; do
  if [[ $b == default ]]; then bopt=""; eff=256; else bopt="-b $b"; eff=$b; fi
  # Tier 1: the full cross product of magic x block x strong length on a
  # small basis holding repeated and unique blocks.
  spec "mixed-b$b" mixed 0 "$eff" same,overwrite,insert,delete,empty
  for m in "${MAGICS[@]}"; do
    sums=("" "-S -1" "-S 1" "-S 8" "-S 16")
    [[ $m == *blake2* ]] && sums+=("-S 32")
    for s in "${sums[@]}"; do
      add run_group "g$((gid++))" "mixed-b$b" "$m $bopt $s"
    done
  done
  # Tier 2: sizes around the block boundaries, all edits, both rolling
  # sums (tier 1 covers every magic). The default block length is 256
  # here, as tiers 1 and 3 check.
  [[ $b == default ]] && continue
  sizes=$(printf '%s\n' 0 1 $((eff - 1)) "$eff" $((eff + 1)) $((2 * eff)) | sort -nu)
  for n in $sizes; do
    spec "rnd-b$b-n$n" random "$n" 0 all
    for m in "-H blake2 -R rabinkarp" "-H md4 -R rollsum"; do
      add run_group "g$((gid++))" "rnd-b$b-n$n" "$m $bopt"
    done
  done
done

# Tier 3: larger and structured inputs, a few option sets.
spec rnd-5000 random 5000 0 all
spec rnd-100k random 100000 0 all
spec rnd-3m random 3145728 0 all
spec zeros-1m zeros 1048576 0 all
spec rep-1024x300 repeat 307200 1024 all
spec rep-256x600 repeat 153600 256 all
spec period-37 repeat 200000 37 all
spec period-333 repeat 200000 333 all
spec text-300k text 300000 0 all
BIG_OPTS=("" "-H md4 -S -1" "-H md4 -R rollsum -S 8" "-R rollsum -b 1000 -S -1"
          "-H md4 -b 4096" "-b 64 -S 16" "-H blake2 -R rabinkarp -b 256 -S 12")
for in in rnd-5000 rnd-100k rnd-3m zeros-1m rep-1024x300 rep-256x600 \
          period-37 period-333 text-300k; do
  for o in "${BIG_OPTS[@]}"; do
    # -b 64 over 3 MiB is slow in rdiff and adds nothing over 100k.
    [[ $in == rnd-3m && $o == *"-b 64"* ]] && continue
    add run_group "g$((gid++))" "$in" "$o"
  done
done

# The default block length and -S -1 around their thresholds (64 KiB; a
# square root that is a multiple of 128).
for n in 65535 65536 65537 147455 147456 1048575; do
  spec "rnd-n$n" random "$n" 0 same,insert,empty
  for o in "" "-S -1" "-H md4 -R rollsum -S -1"; do
    add run_group "g$((gid++))" "rnd-n$n" "$o"
  done
done

# Tier 4: stdin/stdout and pipes.
spec pipe-empty random 0 0 insert
for in in pipe-empty rnd-5000 rnd-3m text-300k; do
  for o in "" "-S -1" "-b 0 -S 0" "-b 512 -H md4 -R rollsum"; do
    add run_pipes "g$((gid++))" "$in" "$o"
  done
done

python3 "$TMP/gen.py" "$TMP/in" <"$SPEC"

# Run the groups, JOBS at a time. Larger groups were queued last; start them
# first so the tail of the run stays parallel.
start=$SECONDS
running=0
for ((i = ${#GROUPS_[@]} - 1; i >= 0; i--)); do
  IFS=$'\t' read -r kind g in o <<<"${GROUPS_[i]}"
  # shellcheck disable=SC2086  # $o is a list of options
  ( t0=$EPOCHREALTIME; "$kind" "$g" "$TMP/in/$in" $o
    echo "$g $(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )) ms [$o] $in" >"$TMP/log/$g.time" ) &
  if ((++running >= JOBS)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

# Report, in queue order.
pass=0
fail=0
cases=0
for entry in "${GROUPS_[@]}"; do
  IFS=$'\t' read -r kind g in o <<<"$entry"
  log="$TMP/log/$g"
  if [[ ! -f "$log" ]] || [[ "$(tail -n1 "$log")" != DONE ]]; then
    echo "FAIL [${o:-(defaults)}] $in: group $g did not finish"
    fail=$((fail + 1))
  fi
  [[ -f "$log" ]] || continue
  # One line per case: a case's checks share its name (field 2).
  out=$(awk -F'\t' '
    $1 == "P" || $1 == "F" {
      if (!($2 in seen)) { seen[$2] = 1; order[n++] = $2 }
      if ($1 == "P") p++; else { f++; why[$2] = why[$2] "\n    " $3 }
    }
    END {
      for (i = 0; i < n; i++)
        printf "%s %s%s\n", (order[i] in why ? "FAIL" : "ok  "), order[i], why[order[i]]
      printf "#COUNT %d %d %d\n", p, f, n
    }' "$log")
  printf '%s\n' "$out" | grep -v '^#COUNT'
  read -r _ p f n <<<"$(printf '%s\n' "$out" | grep '^#COUNT')"
  pass=$((pass + p))
  fail=$((fail + f))
  cases=$((cases + n))
done
if [[ "${INTEROP_TIMES:-0}" == 1 ]]; then
  echo "slowest groups:"
  cat "$TMP"/log/*.time | sort -k2,2nr | sed -n 1,15p
  awk '{ if ($NF ~ /^mixed/) t1 += $2; else if ($NF ~ /^rnd-b/) t2 += $2; else t3 += $2 } END { print "tier1", t1, "tier2", t2, "other", t3 }' "$TMP"/log/*.time
fi
echo "$cases cases in ${#GROUPS_[@]} groups, $((SECONDS - start)) s"
echo "$pass passed, $fail failed"
((fail == 0))

#!/usr/bin/env bash
# The full test job, as CI runs it (.ci/run): installs the dependencies
# (as root, on Debian 12), then
#   1. build/       default build; ctest (unit, interop with rdiff, replays,
#                   black-box tests on real FUSE mounts)
#   2. build-asan/  -DMIRRORFS_SANITIZE=ON; ctest under ASan + UBSan (the
#                   mount tests then run an ASan-built daemon too)
#   3. build-fuzz/  clang-14 with -DMIRRORFS_FUZZ=ON; every fuzz_* target
#                   for FUZZ_SECONDS on a scratch copy of its seed corpus
#   4. package      cpack -G DEB in build/, apt-get install of the .deb,
#                   its units, man page and an end-to-end smoke test with
#                   the installed binary (packaging/package_test.sh)
#   5. hosts        README's quick start word for word on two Debian 12
#                   hosts booting systemd (systemd-nspawn), from a clone
#                   of HEAD (packaging/quickstart_hosts_test.sh)
# Every stage runs even if an earlier one failed; the summary at the end
# lists each, and the exit status is non-zero if any failed.
#
# Environment: JOBS (build and ctest parallelism, default 2),
# FUZZ_SECONDS (per fuzz target, default 60), SKIP_ASAN=1, SKIP_FUZZ=1,
# SKIP_PACKAGE=1, SKIP_HOSTS=1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
PACKAGES=(cmake ninja-build g++ pkg-config libb2-dev nettle-dev libsqlite3-dev libgtest-dev
          libgmock-dev libbenchmark-dev rdiff clang-14 libclang-rt-14-dev
          time python3 xfsprogs libfuse3-dev fuse3 libboost-dev libssl-dev
          libzstd-dev libtomlplusplus-dev openssl rsync curl dpkg-dev file man-db groff-base
          systemd)

say() { printf '\n=== %s\n' "$*"; }

source packaging/install_packages.sh

# run_ctest DIR [ctest args...]: ctest with its summary line echoed last.
run_ctest() {
  local dir=$1 log
  shift
  log=$dir/ctest.log
  local rc=0
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" "$@" 2>&1 \
    | tee "$log" || rc=$?
  echo "ctest ($dir): $(grep -E 'tests passed|No tests were found' "$log" \
                        | tail -n1)"
  return "$rc"
}

stage_build() {
  say "build: cmake -S . -B build -G Ninja"
  cmake -S . -B build -G Ninja -DMIRRORFS_TESTS=ON -DMIRRORFS_BENCH=ON &&
    cmake --build build -j "$JOBS" &&
    run_ctest build
}

stage_asan() {
  say "build-asan: ASan + UBSan"
  # The black-box rdiff interop test runs a ~4 min corpus through rdiff and
  # mirrorfs; under ASan it outlives its timeout and adds nothing the
  # unit tests and bad-input test do not cover, so it runs in build/ only.
  cmake -S . -B build-asan -G Ninja -DMIRRORFS_SANITIZE=ON \
        -DMIRRORFS_TESTS=ON -DMIRRORFS_BENCH=OFF &&
    cmake --build build-asan -j "$JOBS" &&
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_ctest build-asan -E '^rdiff_interop$'
}

stage_fuzz() {
  say "build-fuzz: clang-14 libFuzzer targets, ${FUZZ_SECONDS}s each"
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja \
      -DMIRRORFS_FUZZ=ON -DMIRRORFS_TESTS=ON -DMIRRORFS_BENCH=OFF &&
    cmake --build build-fuzz -j "$JOBS" --target fuzz_all || return 1

  local scratch artifacts failed=0 found=0 target name
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/mirrorfs-fuzz.XXXXXX")
  artifacts=$ROOT/build-fuzz/fuzz-artifacts  # crash files survive the run
  mkdir -p "$artifacts"
  for target in build-fuzz/tests/fuzz/fuzz_*; do
    [[ -f $target && -x $target ]] || continue
    found=$((found + 1))
    name=$(basename "$target")
    name=${name#fuzz_}
    # Fuzz into a scratch copy: libFuzzer adds inputs to its first corpus
    # directory, and CI must not modify the repository.
    mkdir -p "$scratch/$name"
    if [[ -d tests/fuzz/corpus/$name ]]; then
      cp -R "tests/fuzz/corpus/$name/." "$scratch/$name/"
    fi
    local dirs=("$scratch/$name")
    if [[ -d tests/fuzz/regressions/$name ]]; then
      mkdir -p "$scratch/$name.regressions"
      cp -R "tests/fuzz/regressions/$name/." "$scratch/$name.regressions/"
      dirs+=("$scratch/$name.regressions")
    fi
    local log=$scratch/$name.log rc=0
    echo "--- fuzz_$name (${FUZZ_SECONDS}s)"
    "$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
        -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$name-" "${dirs[@]}" >"$log" 2>&1 ||
      rc=$?
    local execs
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" |
            awk '{print $2}' || true)
    if ((rc != 0)); then
      failed=$((failed + 1))
      tail -n 40 "$log"
      cp "$log" "$artifacts/$name.log"
      echo "FAIL fuzz_$name (exit $rc); artifacts and log in $artifacts"
    else
      echo "ok   fuzz_$name: ${execs:-?} inputs run"
    fi
  done
  rm -rf "$scratch"
  if ((found == 0)); then
    echo "FAIL: no fuzz_* executables in build-fuzz/tests/fuzz"
    return 1
  fi
  echo "fuzz: $found targets, $failed failed"
  ((failed == 0))
}

stage_package() {
  say "package: cpack -G DEB, install, units, man page, smoke test"
  local t0=$SECONDS rc=0
  [[ -x build/mirrorfs ]] || { echo "FAIL: no build/mirrorfs"; return 1; }
  bash packaging/package_test.sh build || rc=$?
  echo "package stage: $((SECONDS - t0)) s"
  return "$rc"
}

stage_hosts() {
  say "hosts: README quick start on two systemd hosts (systemd-nspawn)"
  bash packaging/quickstart_hosts_test.sh
}

say "installing packages"
install_packages "${PACKAGES[@]}"

declare -a RESULTS=()
status=0
run_stage() {  # NAME FUNCTION
  local rc=0 t0=$SECONDS
  "$2" || rc=$?
  local took="($((SECONDS - t0)) s)"
  if ((rc == 0)); then
    RESULTS+=("ok   $1 $took")
  else
    RESULTS+=("FAIL $1 $took")
    status=1
  fi
}
run_stage "build + ctest" stage_build
if [[ ${SKIP_ASAN:-0} != 1 ]]; then run_stage "ASan/UBSan ctest" stage_asan; fi
if [[ ${SKIP_FUZZ:-0} != 1 ]]; then run_stage "fuzz" stage_fuzz; fi
if [[ ${SKIP_PACKAGE:-0} != 1 ]]; then run_stage "package" stage_package; fi
if [[ ${SKIP_HOSTS:-0} != 1 ]]; then run_stage "quick start on two hosts" stage_hosts; fi

say "summary"
printf '%s\n' "${RESULTS[@]}"
exit "$status"

#!/bin/sh
# Soak of the replication fault tests (issue 5, point 2): runs the
# fault_tests binary again and again, each run with a fresh random seed
# and MIRRORFS_FAULT_TRIALS trials per test, and reports pass/fail counts
# with the seeds that failed (replay one with MIRRORFS_FAULT_SEED=SEED).
# Not run by ctest. Needs root and /dev/fuse, as the tests do.
#
#   tests/soak/replication_soak.sh [BUILD_DIR] [RUNS] [TRIALS] [FILTER]
#     BUILD_DIR  default build
#     RUNS       default 20 (runs x tests x trials: 20 x 6 x 10 = hundreds)
#     TRIALS     trials per test per run, default 10
#     FILTER     a --gtest_filter, default 'KillTest.*:FaultTest.*'
# Logs of failed runs are kept in $SOAK_LOGS (default /tmp/mirrorfs-soak).
set -u
build=${1:-build}
runs=${2:-20}
trials=${3:-10}
filter=${4:-'KillTest.*:FaultTest.*'}
bin="$build/tests/replicator/faults/fault_tests"
logs=${SOAK_LOGS:-/tmp/mirrorfs-soak}
[ -x "$bin" ] || { echo "no $bin: build the fault_tests target first" >&2; exit 2; }
mkdir -p "$logs"
tests_passed=0
tests_failed=0
failed_seeds=""
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
  log="$logs/run-$i-seed-$seed.log"
  MIRRORFS_FAULT_SEED=$seed MIRRORFS_FAULT_TRIALS=$trials \
    "$bin" --gtest_also_run_disabled_tests --gtest_filter="$filter" >"$log" 2>&1
  rc=$?
  ok=$(grep -c '^\[       OK \]' "$log")
  bad=$(grep -c '^\[  FAILED  \] [A-Za-z]*\.[A-Za-z]* (' "$log")
  skipped=$(grep -c '^\[  SKIPPED \] [A-Za-z]*\.[A-Za-z]* (' "$log")
  tests_passed=$((tests_passed + ok))
  tests_failed=$((tests_failed + bad))
  if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ]; then
    failed_seeds="$failed_seeds $seed"
    echo "run $i seed $seed: FAILED ($bad tests; log $log)"
  else
    echo "run $i seed $seed: $ok passed, $skipped skipped"
    rm -f "$log"
  fi
done
echo "soak: $runs runs x $trials trials per test: $tests_passed tests passed," \
     "$tests_failed failed${failed_seeds:+; failed seeds:$failed_seeds}"
[ "$tests_failed" -eq 0 ] && [ -z "$failed_seeds" ]

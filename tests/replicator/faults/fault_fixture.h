// The fault tests (issue 5, "What must be shown", point 2): a
// ReplicationTest with a self-validating workload (fault_workload.h), a
// torn-file checker on the mirror (torn_checker.h) and helpers for
// trials. Trial counts and seeds come from the environment, so the soak
// script (tests/soak/replication_soak.sh) can run hundreds:
//   MIRRORFS_FAULT_TRIALS=N   trials per test (default: each test's own)
//   MIRRORFS_FAULT_SEED=S     the base seed (default: random, printed)
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "tests/replicator/faults/fault_workload.h"
#include "tests/replicator/faults/torn_checker.h"
#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {

class FaultTest : public ReplicationTest {
 protected:
  void SetUp() override;
  int timeout() const override { return 400; }

  // MIRRORFS_FAULT_TRIALS, else `default_trials`.
  static int trials(int default_trials);
  // A workload through the mount, seeded from seed_.
  std::unique_ptr<FaultWorkload> make_workload(FaultWorkloadOptions opt = {});
  // A random duration in [lo, hi] milliseconds, from rng_.
  int millis(int lo, int hi);
  // `replicate --once` exits 0 and the mirror equals BACKING (content,
  // mtimes, ...) and holds no temporary; with `versioned` (every file
  // written by a FaultWorkload), no torn file either.
  void expect_converged(const CheckOptions& opt = {}, bool versioned = true);

  unsigned seed_ = 0;  // printed on failure with how to replay it
  std::mt19937 rng_;
};

}  // namespace mirrorfs::replicator::testing

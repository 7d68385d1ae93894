#include "tests/replicator/faults/fault_fixture.h"

#include <cstdlib>

#include "tests/fs/journal_replay.h"
#include "tests/fs/random_workload.h"

namespace mirrorfs::replicator::testing {

void FaultTest::SetUp() {
  ReplicationTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  seed_ = fs::testing::seed_from_env("MIRRORFS_FAULT_SEED");
  rng_.seed(seed_);
  std::fprintf(stderr, "fault test seed %u (replay: MIRRORFS_FAULT_SEED=%u)\n", seed_, seed_);
}

int FaultTest::trials(int default_trials) {
  const char* s = std::getenv("MIRRORFS_FAULT_TRIALS");
  const int n = s != nullptr ? std::atoi(s) : 0;
  return n > 0 ? n : default_trials;
}

std::unique_ptr<FaultWorkload> FaultTest::make_workload(FaultWorkloadOptions opt) {
  opt.root = m();
  opt.seed = seed_;
  return std::make_unique<FaultWorkload>(opt);
}

int FaultTest::millis(int lo, int hi) {
  return lo + static_cast<int>(rng_() % static_cast<unsigned>(hi - lo + 1));
}

void FaultTest::expect_converged(const CheckOptions& opt, bool versioned) {
  auto [code, out] = replicate_once();
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(fs::testing::compare_trees(b(), mirror_, /*mtimes=*/true), "");
  CheckOptions check = opt;
  check.contents = versioned;
  EXPECT_EQ(check_tree(mirror_, check, /*finished=*/true), "");
}

}  // namespace mirrorfs::replicator::testing

#include "replicator/replicate_stats.h"

#include <gtest/gtest.h>

namespace mirrorfs::replicator {
namespace {

using Clock = LagTracker::Clock;
using std::chrono::seconds;

TEST(LagTrackerTest, LagIsTheAgeOfTheOldestUnacknowledgedChange) {
  LagTracker lag;
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(lag.lag_seconds(0, t0), 0.0);  // nothing seen
  lag.observe(5, t0);                      // seqs 1..5 seen at t0
  lag.observe(5, t0 + seconds(1));         // nothing new
  lag.observe(9, t0 + seconds(2));         // 6..9 at t0 + 2
  EXPECT_DOUBLE_EQ(lag.lag_seconds(0, t0 + seconds(3)), 3.0);
  EXPECT_DOUBLE_EQ(lag.lag_seconds(4, t0 + seconds(3)),
                   3.0);  // 5 still pending
  EXPECT_DOUBLE_EQ(lag.lag_seconds(5, t0 + seconds(3)),
                   1.0);  // 6 seen at t0 + 2
  EXPECT_DOUBLE_EQ(lag.lag_seconds(9, t0 + seconds(3)),
                   0.0);  // all acknowledged
  lag.observe(9, t0 + seconds(4));
  EXPECT_DOUBLE_EQ(lag.lag_seconds(9, t0 + seconds(5)), 0.0);
  lag.observe(10, t0 + seconds(6));
  EXPECT_DOUBLE_EQ(lag.lag_seconds(9, t0 + seconds(8)), 2.0);
}

TEST(LagTrackerTest, ObservationsAreBounded) {
  LagTracker lag;
  const Clock::time_point t0 = Clock::now();
  for (uint64_t i = 1; i <= 3 * LagTracker::kMaxObservations; ++i) {
    lag.observe(i, t0 + seconds(i));
  }
  // The newest seqs were merged into the last kept observation: their
  // lag counts from that one's time, never from later.
  const uint64_t kept = LagTracker::kMaxObservations;
  const auto now = t0 + seconds(10000);
  EXPECT_DOUBLE_EQ(lag.lag_seconds(kept + 5, now), 10000.0 - kept);
  EXPECT_DOUBLE_EQ(lag.lag_seconds(3 * kept, now), 0.0);
}

}  // namespace
}  // namespace mirrorfs::replicator

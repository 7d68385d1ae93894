#include "fs/op_stats.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mirrorfs::fs {
namespace {

TEST(OpStatsTest, LatenciesLandInTheirBuckets) {
  OpStats s;
  s.record(FuseOp::kWrite, 9'000, false);           // <= 10 µs
  s.record(FuseOp::kWrite, 10'000, false);          // == 10 µs: first bucket
  s.record(FuseOp::kWrite, 10'001, true);           // (10, 25] µs
  s.record(FuseOp::kWrite, 3'000'000'000, false);   // (2.5, 5] s
  s.record(FuseOp::kWrite, 60'000'000'000, false);  // above 10 s: +Inf
  const OpCounters& w = s.of(FuseOp::kWrite);
  EXPECT_EQ(w.count.load(), 5u);
  EXPECT_EQ(w.errors.load(), 1u);
  EXPECT_EQ(w.sum_ns.load(),
            9'000u + 10'000 + 10'001 + 3'000'000'000 + 60'000'000'000);
  EXPECT_EQ(w.buckets[0].load(), 2u);
  EXPECT_EQ(w.buckets[1].load(), 1u);
  EXPECT_EQ(w.buckets[17].load(), 1u);  // bound 5 s
  EXPECT_EQ(w.buckets[kLatencyBounds].load(), 1u);
  EXPECT_EQ(s.of(FuseOp::kRead).count.load(), 0u);
  ASSERT_EQ(latency_bounds_seconds().size(), kLatencyBounds);
  EXPECT_DOUBLE_EQ(latency_bounds_seconds()[17], 5.0);
}

TEST(OpStatsTest, ConcurrentRecordsAreAllCounted) {
  OpStats s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        s.record(FuseOp::kRead, 1000 * i, i % 10 == 0);
    });
  }
  for (std::thread& t : threads) t.join();
  const OpCounters& r = s.of(FuseOp::kRead);
  EXPECT_EQ(r.count.load(), 40000u);
  EXPECT_EQ(r.errors.load(), 4000u);
  uint64_t in_buckets = 0;
  for (const auto& b : r.buckets) in_buckets += b.load();
  EXPECT_EQ(in_buckets, 40000u);
}

TEST(OpStatsTest, EveryOperationHasADistinctName) {
  std::set<std::string> names;
  for (size_t i = 0; i < kFuseOpCount; ++i)
    names.insert(fuse_op_name(static_cast<FuseOp>(i)));
  EXPECT_EQ(names.size(), kFuseOpCount);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace mirrorfs::fs

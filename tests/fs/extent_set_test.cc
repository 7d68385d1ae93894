// The in-memory extent set: merging, ordering, and the bound that
// coarsens instead of growing (never losing a written byte).
#include "fs/extent_set.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace mirrorfs::fs {
namespace {

TEST(ExtentSetTest, MergesOverlappingAndTouchingRanges) {
  ExtentSet s;
  s.add(100, 10);  // [100,110)
  s.add(0, 10);    // [0,10)
  s.add(110, 5);   // touches: [100,115)
  s.add(105, 2);   // inside
  s.add(5, 96);    // bridges: [0,115)? 5+96 = 101 -> joins both
  s.add(200, 0);   // nothing
  EXPECT_EQ(s.take(), (std::vector<Extent>{{0, 115}}));
  EXPECT_TRUE(s.empty());
}

TEST(ExtentSetTest, KeepsDisjointRangesInOrder) {
  ExtentSet s;
  s.add(300, 1);
  s.add(100, 1);
  s.add(200, 1);
  EXPECT_EQ(s.take(), (std::vector<Extent>{{100, 1}, {200, 1}, {300, 1}}));
}

TEST(ExtentSetTest, SaturatesAtTheTopOfTheRange) {
  ExtentSet s;
  s.add(UINT64_MAX - 5, 100);
  EXPECT_EQ(s.take(), (std::vector<Extent>{{UINT64_MAX - 5, 5}}));
}

// Random small writes far past the bound: the set stays bounded, and
// every byte written is still covered (over-reporting is allowed).
TEST(ExtentSetTest, CoarsensPastTheBoundWithoutLosingBytes) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  ExtentSet s;
  std::vector<std::pair<uint64_t, uint64_t>> written;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t off = rng() % (1ull << 32);
    const uint64_t len = 1 + rng() % 100;
    s.add(off, len);
    written.emplace_back(off, len);
    ASSERT_LE(s.size(), ExtentSet::kMaxExtents);
  }
  const std::vector<Extent> got = s.take();
  for (size_t i = 1; i < got.size(); ++i) {
    ASSERT_LT(got[i - 1].off + got[i - 1].len, got[i].off);
  }
  for (const auto& [off, len] : written) {
    auto it = std::upper_bound(
        got.begin(), got.end(), off,
        [](uint64_t v, const Extent& e) { return v < e.off; });
    ASSERT_NE(it, got.begin());
    --it;
    ASSERT_LE(off + len, it->off + it->len) << off << "+" << len;
  }
}

}  // namespace
}  // namespace mirrorfs::fs

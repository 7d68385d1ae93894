#include "core/weak_sum.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace mirrorfs::core {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Straight from the definitions in docs/formats/signature.md.
uint32_t rollsum_reference(const uint8_t* p, size_t n) {
  uint32_t s1 = 0, s2 = 0;
  for (size_t i = 0; i < n; ++i) {
    s1 = (s1 + p[i] + 31) & 0xffff;
    s2 = (s2 + s1) & 0xffff;
  }
  return (s2 << 16) | s1;
}

uint32_t rabinkarp_reference(const uint8_t* p, size_t n) {
  uint32_t h = 1;
  for (size_t i = 0; i < n; ++i) h = h * 0x08104225u + p[i];
  return h;
}

TEST(WeakSumTest, KnownValues) {
  const uint8_t abc[] = {'a', 'b', 'c'};
  // s1 = 97+98+99 + 3*31 = 387; s2 = 128 + 257 + 387 = 772.
  EXPECT_EQ(rollsum_direct(abc, 3), (772u << 16) | 387u);
  EXPECT_EQ(rabinkarp_direct(abc, 0), 1u);
  EXPECT_EQ(rollsum_direct(abc, 0), 0u);
}

TEST(WeakSumTest, DirectMatchesReferenceForAllLengths) {
  const uint32_t seed = 7;
  auto data = random_bytes(5000, seed);
  for (size_t n = 0; n <= data.size(); n += (n < 300 ? 1 : 97)) {
    ASSERT_EQ(rollsum_direct(data.data(), n), rollsum_reference(data.data(), n))
        << "n=" << n << " seed=" << seed;
    ASSERT_EQ(rabinkarp_direct(data.data(), n),
              rabinkarp_reference(data.data(), n))
        << "n=" << n << " seed=" << seed;
  }
}

template <typename Weak>
void check_rolling(WeakKind kind, size_t window, uint32_t seed) {
  auto data = random_bytes(4 * window + 50, seed);
  Weak w;
  w.update(data.data(), window);
  for (size_t s = 0; s + window < data.size(); ++s) {
    ASSERT_EQ(w.digest(), weak_sum_direct(kind, data.data() + s, window))
        << "window=" << window << " at " << s << " seed=" << seed;
    w.rotate(data[s], data[s + window]);
  }
  // Shrinking at the end of a file: rollout.
  Weak t;
  t.update(data.data(), window);
  for (size_t s = 0; s < window; ++s) {
    ASSERT_EQ(t.digest(), weak_sum_direct(kind, data.data() + s, window - s))
        << "rollout at " << s << " seed=" << seed;
    t.rollout(data[s]);
  }
  EXPECT_EQ(t.count(), 0u);
}

TEST(WeakSumTest, RollingEqualsDirect) {
  for (size_t window : {1, 2, 7, 64, 128, 1000, 2048}) {
    check_rolling<Rollsum>(WeakKind::kRollsum, window, 11);
    check_rolling<RabinKarp>(WeakKind::kRabinKarp, window, 11);
  }
}

TEST(WeakSumTest, IncrementalUpdateEqualsDirect) {
  auto data = random_bytes(10000, 3);
  RabinKarp rk;
  Rollsum rs;
  size_t pos = 0;
  std::mt19937 rng(3);
  while (pos < data.size()) {
    size_t n = std::min<size_t>(rng() % 300, data.size() - pos);
    rk.update(data.data() + pos, n);
    rs.update(data.data() + pos, n);
    pos += n;
  }
  EXPECT_EQ(rk.digest(), rabinkarp_reference(data.data(), data.size()));
  EXPECT_EQ(rs.digest(), rollsum_reference(data.data(), data.size()));
}

// rollsum's known weakness: with a block length that is a multiple of
// 65536 the character offset vanishes, so zero blocks sum to 0. We must
// still be bit-exact with librsync there.
TEST(WeakSumTest, RollsumZerosAtMultiplesOf64KiB) {
  std::vector<uint8_t> zeros(131072, 0);
  EXPECT_EQ(rollsum_direct(zeros.data(), 65536),
            rollsum_reference(zeros.data(), 65536));
  EXPECT_EQ(rollsum_direct(zeros.data(), 131072), 0u);
}

}  // namespace
}  // namespace mirrorfs::core

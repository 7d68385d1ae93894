#include "core/blake2b.h"

#include <blake2.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace mirrorfs::core {
namespace {

constexpr uint32_t kSeed = 0x5eed2b2bu;

std::vector<uint8_t> random_bytes(size_t n, std::mt19937_64& rng) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

std::vector<uint8_t> reference(const uint8_t* in, size_t len, size_t out_len) {
  std::vector<uint8_t> out(out_len);
  EXPECT_EQ(::blake2b(out.data(), in, nullptr, out_len, len, 0), 0);
  return out;
}

std::vector<uint8_t> ours(const uint8_t* in, size_t len, size_t out_len) {
  std::vector<uint8_t> out(out_len);
  core::blake2b(in, len, out.data(), out_len);
  return out;
}

std::vector<uint8_t> portable(const uint8_t* in, size_t len, size_t out_len) {
  std::vector<uint8_t> out(out_len);
  internal::blake2b_portable(in, len, out.data(), out_len);
  return out;
}

TEST(Blake2bTest, Rfc7693Abc) {
  const uint8_t abc[] = {'a', 'b', 'c'};
  const uint8_t expected[64] = {
      0xBA, 0x80, 0xA5, 0x3F, 0x98, 0x1C, 0x4D, 0x0D, 0x6A, 0x27, 0x97,
      0xB6, 0x9F, 0x12, 0xF6, 0xE9, 0x4C, 0x21, 0x2F, 0x14, 0x68, 0x5A,
      0xC4, 0xB7, 0x4B, 0x12, 0xBB, 0x6F, 0xDB, 0xFF, 0xA2, 0xD1, 0x7D,
      0x87, 0xC5, 0x39, 0x2A, 0xAB, 0x79, 0x2D, 0xC2, 0x52, 0xD5, 0xDE,
      0x45, 0x33, 0xCC, 0x95, 0x18, 0xD3, 0x8A, 0xA8, 0xDB, 0xF1, 0x92,
      0x5A, 0xB9, 0x23, 0x86, 0xED, 0xD4, 0x00, 0x99, 0x23};
  uint8_t out[64];
  core::blake2b(abc, sizeof abc, out, 64);
  EXPECT_EQ(0, std::memcmp(out, expected, 64));
  internal::blake2b_portable(abc, sizeof abc, out, 64);
  EXPECT_EQ(0, std::memcmp(out, expected, 64));

  Blake2b inc;
  inc.update(abc, 1);
  inc.update(abc + 1, 2);
  inc.final(out);
  EXPECT_EQ(0, std::memcmp(out, expected, 64));
}

TEST(Blake2bTest, MatchesLibb2AllDigestLengths) {
  std::mt19937_64 rng(kSeed);
  const auto data = random_bytes(600, rng);
  for (size_t out_len = 1; out_len <= kBlake2bMaxDigest; ++out_len) {
    for (size_t len = 0; len <= 600; ++len) {
      const auto expected = reference(data.data(), len, out_len);
      ASSERT_EQ(ours(data.data(), len, out_len), expected)
          << "seed=" << kSeed << " len=" << len << " out_len=" << out_len;
      ASSERT_EQ(portable(data.data(), len, out_len), expected)
          << "seed=" << kSeed << " len=" << len << " out_len=" << out_len;
    }
  }
}

TEST(Blake2bTest, MatchesLibb2Large) {
  std::mt19937_64 rng(kSeed);
  const auto data = random_bytes((1 << 20) + 1031, rng);
  for (size_t len : {size_t{1} << 20, (size_t{1} << 20) + 1,
                     (size_t{1} << 20) + 1031, size_t{65536 + 127}}) {
    for (size_t out_len : {size_t{20}, size_t{32}, size_t{64}}) {
      const auto expected = reference(data.data(), len, out_len);
      EXPECT_EQ(ours(data.data(), len, out_len), expected)
          << "seed=" << kSeed << " len=" << len << " out_len=" << out_len;
      EXPECT_EQ(portable(data.data(), len, out_len), expected)
          << "seed=" << kSeed << " len=" << len << " out_len=" << out_len;
    }
  }
}

TEST(Blake2bTest, IncrementalRandomSplits) {
  std::mt19937_64 rng(kSeed);
  const auto data = random_bytes(5000, rng);
  for (int iter = 0; iter < 2000; ++iter) {
    const size_t len = rng() % (iter < 1000 ? 600 : data.size() + 1);
    const size_t out_len = 1 + rng() % kBlake2bMaxDigest;
    Blake2b h(out_len);
    size_t pos = 0;
    while (pos < len) {
      // Mix tiny pieces, exact block multiples and big chunks; include empties.
      const uint64_t kind = rng() % 4;
      size_t piece = kind == 0   ? rng() % 4
                     : kind == 1 ? 128 * (rng() % 3)
                     : kind == 2 ? rng() % 300
                                 : rng() % 2000;
      piece = std::min(piece, len - pos);
      h.update(data.data() + pos, piece);
      pos += piece;
    }
    std::vector<uint8_t> out(out_len);
    h.final(out.data());
    ASSERT_EQ(out, reference(data.data(), len, out_len))
        << "seed=" << kSeed << " iter=" << iter << " len=" << len
        << " out_len=" << out_len;
  }
}

TEST(Blake2bTest, IncrementalDefaultIs512) {
  std::mt19937_64 rng(kSeed);
  const auto data = random_bytes(1000, rng);
  Blake2b h;
  h.update(data.data(), data.size());
  std::vector<uint8_t> out(64);
  h.final(out.data());
  EXPECT_EQ(out, reference(data.data(), data.size(), 64)) << "seed=" << kSeed;
}

void check_x4(const std::vector<uint8_t>& data, size_t len, size_t out_len,
              const std::array<size_t, 4>& offsets) {
  const uint8_t* in[4];
  std::array<std::vector<uint8_t>, 4> outs;
  uint8_t* out[4];
  for (int i = 0; i < 4; ++i) {
    in[i] = data.data() + offsets[i];
    outs[i].assign(out_len, 0xAA);
    out[i] = outs[i].data();
  }
  blake2b_x4(in, len, out, out_len);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(outs[i], ours(in[i], len, out_len))
        << "seed=" << kSeed << " impl=" << blake2b_x4_impl() << " len=" << len
        << " out_len=" << out_len << " lane=" << i;
  }
}

TEST(Blake2bTest, X4MatchesScalar) {
  std::mt19937_64 rng(kSeed);
  const auto data = random_bytes(60005 + 20000, rng);
  std::vector<size_t> lens = {0,    1,    2,     63,    64,   127, 128,
                              129,  255,  256,   257,   383,  384, 385,
                              1000, 4096, 16384, 16385, 19999};
  for (size_t len = 0; len <= 300; len += 7) lens.push_back(len);
  for (size_t len : lens) {
    for (size_t out_len : {size_t{1}, size_t{20}, size_t{32}, size_t{64}}) {
      // Disjoint, unaligned inputs.
      check_x4(data, len, out_len, {1, 20001, 40003, 60005});
      // Aliased and overlapping inputs.
      check_x4(data, len, out_len, {0, 0, 5, 3});
    }
  }
}

TEST(Blake2bTest, EmptyInputMayBeNull) {
  const uint8_t zero = 0;
  const auto expected = reference(&zero, 0, 32);
  EXPECT_EQ(ours(nullptr, 0, 32), expected);
  EXPECT_EQ(portable(nullptr, 0, 32), expected);

  Blake2b inc(32);
  inc.update(nullptr, 0);
  std::vector<uint8_t> out(32);
  inc.final(out.data());
  EXPECT_EQ(out, expected);

  const uint8_t* in[4] = {nullptr, nullptr, nullptr, nullptr};
  std::array<std::vector<uint8_t>, 4> outs;
  uint8_t* outp[4];
  for (int i = 0; i < 4; ++i) {
    outs[i].resize(32);
    outp[i] = outs[i].data();
  }
  blake2b_x4(in, 0, outp, 32);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(outs[i], expected) << "lane=" << i;
}

TEST(Blake2bTest, X4ImplName) {
  const std::string impl = blake2b_x4_impl();
  EXPECT_TRUE(impl == "avx2" || impl == "scalar") << impl;
}

}  // namespace
}  // namespace mirrorfs::core

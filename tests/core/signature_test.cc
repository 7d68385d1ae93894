#include "core/signature.h"

#include <gtest/gtest.h>

#include <random>

#include "core/coding.h"
#include "core/strong_sum.h"
#include "core/weak_sum.h"
#include "tests/support/drive.h"

namespace mirrorfs::core {
namespace {

using Bytes = std::vector<uint8_t>;
using mirrorfs::testing::Chunker;
using mirrorfs::testing::run_job;

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

Bytes sign(const Bytes& data, SignatureParams p, uint64_t seed = 0) {
  auto job = new_signature_job(p, nullptr);
  auto r = seed ? run_job(*job, data, Chunker(seed, 977), Chunker(seed + 1, 13))
                : run_job(*job, data);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : Bytes{};
}

TEST(SignatureTest, LayoutByHand) {
  const Bytes data = random_bytes(700, 1);
  const SignatureParams p{SigMagic::kRabinKarpBlake2, 256, 8};
  const Bytes sig = sign(data, p);
  ASSERT_EQ(sig.size(), 12u + 3 * 12);
  EXPECT_EQ(get_be32(sig.data()), 0x72730147u);
  EXPECT_EQ(get_be32(sig.data() + 4), 256u);
  EXPECT_EQ(get_be32(sig.data() + 8), 8u);
  for (size_t i = 0; i < 3; ++i) {
    const size_t n = std::min<size_t>(256, 700 - i * 256);
    const uint8_t* e = sig.data() + 12 + i * 12;
    EXPECT_EQ(get_be32(e), rabinkarp_direct(data.data() + i * 256, n));
    uint8_t strong[32];
    strong_sum(StrongKind::kBlake2, data.data() + i * 256, n, strong, 8);
    EXPECT_EQ(0, memcmp(e + 4, strong, 8)) << "block " << i;
  }
}

TEST(SignatureTest, ChunkingDoesNotChangeTheResult) {
  const Bytes data = random_bytes(50000, 2);
  for (SigMagic m : {SigMagic::kRollsumMd4, SigMagic::kRabinKarpBlake2}) {
    const SignatureParams p{m, 300, 12};
    const Bytes whole = sign(data, p);
    for (uint32_t seed = 1; seed <= 5; ++seed) {
      EXPECT_EQ(sign(data, p, seed), whole) << seed;
    }
  }
}

TEST(SignatureTest, LoadRoundTripAndLookup) {
  Bytes data = random_bytes(10000, 3);
  // Two identical blocks: 0 and 5.
  std::copy(data.begin(), data.begin() + 1000, data.begin() + 5000);
  const SignatureParams p{SigMagic::kRabinKarpBlake2, 1000, 32};
  auto sig = load_signature(sign(data, p));
  ASSERT_TRUE(sig.is_ok()) << sig.status().to_string();
  const Signature& s = **sig;
  ASSERT_EQ(s.block_count(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_TRUE(s.maybe_contains(s.weak(i)));
    std::vector<uint32_t> found;
    s.for_each_candidate(s.weak(i), [&](uint32_t b) {
      found.push_back(b);
      return false;
    });
    if (i == 0 || i == 5) {
      EXPECT_EQ(found, (std::vector<uint32_t>{0, 5}));  // first occurrence first
    } else {
      EXPECT_EQ(found, std::vector<uint32_t>{static_cast<uint32_t>(i)});
    }
  }
  // Most absent sums fail the prefilter.
  int passed = 0;
  for (uint32_t w = 0; w < 100000; ++w) passed += s.maybe_contains(w * 2654435761u);
  EXPECT_LT(passed, 1900);  // at most about 1 in 64 expected
}

Status load_error(const Bytes& b) {
  auto r = load_signature(b);
  return r.is_ok() ? Status::ok() : r.status();
}

TEST(SignatureTest, BadSignaturesAreCorrupt) {
  Bytes good = sign(random_bytes(1000, 4), {SigMagic::kRabinKarpBlake2, 256, 32});
  EXPECT_TRUE(load_error(good).is_ok());
  EXPECT_EQ(load_error({}).code(), Code::kCorrupt);
  EXPECT_EQ(load_error(Bytes(good.begin(), good.begin() + 11)).code(), Code::kCorrupt);
  EXPECT_EQ(load_error(Bytes(good.begin(), good.end() - 1)).code(), Code::kCorrupt);
  Bytes bad = good;
  bad[3] = 0x38;  // unknown magic
  EXPECT_EQ(load_error(bad).code(), Code::kCorrupt);
  bad = good;
  put_be32(bad.data() + 4, 0);  // block_len 0
  EXPECT_EQ(load_error(bad).code(), Code::kCorrupt);
  bad = good;
  put_be32(bad.data() + 4, 0xffffffff);
  EXPECT_EQ(load_error(bad).code(), Code::kCorrupt);
  for (uint32_t sl : {0u, 33u, 0xffffffffu}) {
    bad = good;
    put_be32(bad.data() + 8, sl);
    EXPECT_EQ(load_error(bad).code(), Code::kCorrupt) << sl;
  }
  // MD4 sums are at most 16 bytes.
  bad = good;
  bad[3] = 0x46;
  put_be32(bad.data() + 8, 17);
  EXPECT_EQ(load_error(bad).code(), Code::kCorrupt);
}

TEST(SignatureTest, HeaderOnlyIsAnEmptySignature) {
  auto sig = load_signature(sign({}, {SigMagic::kRollsumBlake2, 2048, 32}));
  ASSERT_TRUE(sig.is_ok());
  EXPECT_EQ((*sig)->block_count(), 0u);
  EXPECT_FALSE((*sig)->maybe_contains(12345));
}

}  // namespace
}  // namespace mirrorfs::core

// Round trips signature -> delta -> patch over many shapes of data, with
// tiny and uneven buffers; the seed is printed on failure.
#include "core/delta.h"

#include <gtest/gtest.h>

#include <random>

#include "core/delta_format.h"
#include "core/patch.h"
#include "core/signature.h"
#include "tests/support/drive.h"

namespace mirrorfs::core {
namespace {

using mirrorfs::testing::Chunker;
using mirrorfs::testing::run_job;
using Bytes = std::vector<uint8_t>;

Bytes random_bytes(size_t n, std::mt19937& rng) {
  Bytes v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

struct RoundTrip {
  Bytes sig, delta, out;
  Stats delta_stats;
};

// seed 0: large buffers; else small uneven ones chosen by the seed.
RoundTrip round_trip(const Bytes& basis, const Bytes& next,
                     SignatureParams p, uint64_t seed = 0) {
  auto in_sizes = [&] { return seed ? Chunker(seed, 5000) : Chunker::fixed(1 << 20); };
  auto out_sizes = [&] { return seed ? Chunker(seed + 1, 3000) : Chunker::fixed(1 << 20); };
  RoundTrip rt;
  auto sj = new_signature_job(p, nullptr);
  auto sig = run_job(*sj, basis, in_sizes(), out_sizes());
  EXPECT_TRUE(sig.is_ok()) << sig.status().to_string();
  rt.sig = *sig;
  auto loaded = load_signature(rt.sig);
  EXPECT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  auto dj = new_delta_job(**loaded, &rt.delta_stats);
  auto delta = run_job(*dj, next, in_sizes(), out_sizes());
  EXPECT_TRUE(delta.is_ok()) << delta.status().to_string();
  rt.delta = *delta;
  auto reader = new_memory_basis_reader(basis);
  auto pj = new_patch_job(reader.get(), nullptr);
  auto out = run_job(*pj, rt.delta, in_sizes(), out_sizes());
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  rt.out = *out;
  return rt;
}

SignatureParams params(SigMagic m, uint32_t block, uint32_t strong) {
  return SignatureParams{m, block, strong};
}

const SigMagic kMagics[] = {SigMagic::kRollsumMd4, SigMagic::kRollsumBlake2,
                            SigMagic::kRabinKarpMd4,
                            SigMagic::kRabinKarpBlake2};

TEST(DeltaTest, IdenticalFileIsOneCopy) {
  std::mt19937 rng(1);
  Bytes basis = random_bytes(100000, rng);
  for (SigMagic m : kMagics) {
    auto rt = round_trip(basis, basis, params(m, 1024, 8));
    EXPECT_EQ(rt.out, basis);
    EXPECT_EQ(rt.delta_stats.copy_cmds, 1u) << magic_name(m);
    EXPECT_EQ(rt.delta_stats.literal_bytes, 0u);
    // magic + one COPY(pos=0 in 1 byte, len=100000 in 4 bytes) + END
    EXPECT_EQ(rt.delta.size(), 4u + 1 + 1 + 4 + 1);
  }
}

TEST(DeltaTest, EmptyInputs) {
  Bytes empty, some = {1, 2, 3};
  auto p = params(SigMagic::kRabinKarpBlake2, 256, 32);
  EXPECT_EQ(round_trip(empty, empty, p).out, empty);
  EXPECT_EQ(round_trip(empty, some, p).out, some);
  auto rt = round_trip(some, empty, p);
  EXPECT_EQ(rt.out, empty);
  EXPECT_EQ(rt.delta.size(), 5u);  // magic + END
}

TEST(DeltaTest, ShortTailBlockMatchesAtEnd) {
  std::mt19937 rng(2);
  Bytes basis = random_bytes(1000, rng);  // blocks of 256: tail of 232
  auto rt = round_trip(basis, basis, params(SigMagic::kRabinKarpBlake2, 256, 32));
  EXPECT_EQ(rt.out, basis);
  EXPECT_EQ(rt.delta_stats.literal_bytes, 0u);
  EXPECT_EQ(rt.delta_stats.copy_cmds, 1u);
}

TEST(DeltaTest, EditsBecomeSmallLiterals) {
  std::mt19937 rng(3);
  Bytes basis = random_bytes(1 << 20, rng);
  Bytes next = basis;
  for (int i = 0; i < 10; ++i) next[rng() % next.size()] ^= 0x5a;
  auto rt = round_trip(basis, next, params(SigMagic::kRabinKarpBlake2, 1024, 16));
  EXPECT_EQ(rt.out, next);
  EXPECT_LE(rt.delta_stats.literal_bytes, 10u * 1024);
}

TEST(DeltaTest, LongLiteralRunsAreSplit) {
  std::mt19937 rng(4);
  Bytes basis = random_bytes(4096, rng);
  Bytes next = random_bytes(3 * kMaxLiteralRun + 123, rng);
  auto rt = round_trip(basis, next, params(SigMagic::kRabinKarpBlake2, 512, 8));
  EXPECT_EQ(rt.out, next);
  EXPECT_EQ(rt.delta_stats.literal_cmds, 4u);
}

TEST(DeltaTest, RepeatedBlocksMergeIntoLongCopies) {
  Bytes zeros(1 << 20, 0);
  auto rt = round_trip(zeros, zeros, params(SigMagic::kRollsumBlake2, 4096, 32));
  EXPECT_EQ(rt.out, zeros);
  // Every block has the same sums; preferring the block that extends the
  // COPY gives one command, not 256.
  EXPECT_EQ(rt.delta_stats.copy_cmds, 1u);
}

// Randomized: many shapes of basis and edits, every magic, small blocks,
// jittered buffer sizes. Repeatable: the seed is in every failure.
TEST(DeltaTest, RandomizedRoundTrips) {
  const uint32_t base_seed = 20261121;
  for (uint32_t iter = 0; iter < 300; ++iter) {
    const uint32_t seed = base_seed + iter;
    std::mt19937 rng(seed);
    const size_t n = rng() % 20000;
    Bytes basis;
    switch (rng() % 4) {
      case 0: basis = random_bytes(n, rng); break;
      case 1: basis.assign(n, 0); break;
      case 2: {  // a short pattern repeated
        Bytes pat = random_bytes(1 + rng() % 100, rng);
        for (size_t i = 0; i < n; ++i) basis.push_back(pat[i % pat.size()]);
        break;
      }
      default: {  // text-like
        for (size_t i = 0; i < n; ++i) basis.push_back("ab c\n"[rng() % 5]);
      }
    }
    Bytes next = basis;
    const int edits = rng() % 6;
    for (int e = 0; e < edits; ++e) {
      const size_t at = next.empty() ? 0 : rng() % next.size();
      switch (rng() % 3) {
        case 0:
          if (!next.empty()) next[at] ^= 1 + rng() % 255;
          break;
        case 1: {
          Bytes ins = random_bytes(rng() % 300, rng);
          next.insert(next.begin() + at, ins.begin(), ins.end());
          break;
        }
        default:
          next.erase(next.begin() + at,
                     next.begin() + std::min(next.size(), at + rng() % 300));
      }
    }
    SigMagic m = kMagics[rng() % 4];
    const uint32_t block = 1 + rng() % 300;
    const uint32_t strong = 1 + rng() % max_strong_len(m);
    auto rt = round_trip(basis, next, params(m, block, strong), seed);
    // Short strong sums (a byte or two) can collide by design; only
    // reasonably strong sums must round-trip exactly.
    if (strong >= 6) {
      ASSERT_EQ(rt.out, next) << "seed=" << seed << " magic=" << magic_name(m)
                              << " block=" << block << " strong=" << strong;
    } else {
      ASSERT_EQ(rt.out.size(), next.size()) << "seed=" << seed;
    }
  }
}

}  // namespace
}  // namespace mirrorfs::core

// BLAKE2b throughput: libb2 vs ours (one-shot, 4-lane, incremental).
// Digest length 32 (BLAKE2b-256, as librsync uses). Args are message sizes;
// x4 counts the bytes of all four lanes.
#include <benchmark/benchmark.h>
#include <blake2.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/blake2b.h"

namespace {

using mirrorfs::core::Blake2b;
using mirrorfs::core::blake2b_x4;

constexpr size_t kOutLen = 32;

std::vector<uint8_t> message(size_t n, uint8_t salt = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + salt);
  return v;
}

void BM_Libb2(benchmark::State& state) {
  const auto msg = message(state.range(0));
  uint8_t out[kOutLen];
  for (auto _ : state) {
    ::blake2b(out, msg.data(), nullptr, kOutLen, msg.size(), 0);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
}

void BM_Ours(benchmark::State& state) {
  const auto msg = message(state.range(0));
  uint8_t out[kOutLen];
  for (auto _ : state) {
    mirrorfs::core::blake2b(msg.data(), msg.size(), out, kOutLen);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
}

// The scalar fallback used on CPUs without AVX2.
void BM_OursPortable(benchmark::State& state) {
  const auto msg = message(state.range(0));
  uint8_t out[kOutLen];
  for (auto _ : state) {
    mirrorfs::core::internal::blake2b_portable(msg.data(), msg.size(), out,
                                               kOutLen);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
}

void BM_OursX4(benchmark::State& state) {
  const size_t n = state.range(0);
  std::vector<uint8_t> msgs[4];
  const uint8_t* in[4];
  uint8_t digests[4][kOutLen];
  uint8_t* out[4];
  for (int i = 0; i < 4; ++i) {
    msgs[i] = message(n, static_cast<uint8_t>(i));
    in[i] = msgs[i].data();
    out[i] = digests[i];
  }
  for (auto _ : state) {
    blake2b_x4(in, n, out, kOutLen);
    benchmark::DoNotOptimize(digests);
  }
  state.SetBytesProcessed(state.iterations() * 4 * n);
  state.SetLabel(mirrorfs::core::blake2b_x4_impl());
}

void BM_OursIncremental(benchmark::State& state) {
  const auto msg = message(state.range(0));
  uint8_t out[kOutLen];
  for (auto _ : state) {
    Blake2b h(kOutLen);
    // Feed in 4 KiB pieces, as a file reader would.
    for (size_t pos = 0; pos < msg.size(); pos += 4096) {
      h.update(msg.data() + pos, std::min<size_t>(4096, msg.size() - pos));
    }
    h.final(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
}

#define B2_SIZES ->Arg(2 << 10)->Arg(16 << 10)->Arg(1 << 20)
BENCHMARK(BM_Libb2) B2_SIZES;
BENCHMARK(BM_Ours) B2_SIZES;
BENCHMARK(BM_OursPortable) B2_SIZES;
BENCHMARK(BM_OursX4) B2_SIZES;
BENCHMARK(BM_OursIncremental) B2_SIZES;

}  // namespace

// Throughput of the core algorithm, in memory (no file I/O):
//   rolling weak sums per byte (rollsum, RabinKarp, RabinKarp + prefilter
//   probe), direct block weak sums, sign_blocks, and the delta and patch
//   jobs over 64 MiB of random data against an edited copy, a copy with
//   1 MiB inserted in the middle, and unrelated data.
// Every benchmark reports bytes/s of input (SetBytesProcessed).
//
//   build-bench/bench/core_bench --benchmark_filter=Delta
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "core/coding.h"
#include "core/delta.h"
#include "core/patch.h"
#include "core/signature.h"
#include "core/signature_format.h"
#include "core/weak_sum.h"

namespace {

using namespace mirrorfs::core;

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kJobSize = 64 * kMiB;   // basis and new file of the jobs
constexpr size_t kSumSize = 16 * kMiB;   // buffer of the hashing benchmarks
constexpr size_t kJobBuffer = 4 * kMiB;  // like WholeFileOptions::buffer_size

void fill_random(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(p + i, &x, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<uint8_t>(x >> (8 * (i & 7)));
}

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  fill_random(v.data(), n, seed);
  return v;
}

[[noreturn]] void die(const char* what, const mirrorfs::Status& st) {
  std::fprintf(stderr, "core_bench: %s: %s\n", what, st.to_string().c_str());
  std::abort();
}

// Runs a job over `in` with kJobBuffer-sized windows; output goes to *out
// if given, else into a reused window. Returns bytes produced.
size_t run_job(Job& job, const std::vector<uint8_t>& in,
               std::vector<uint8_t>* out) {
  static std::vector<uint8_t> window(kJobBuffer);
  JobBuffers b;
  size_t pos = 0, produced = 0;
  for (;;) {
    if (b.avail_in == 0 && !b.eof_in) {
      const size_t n = std::min(kJobBuffer, in.size() - pos);
      b.next_in = in.data() + pos;
      b.avail_in = n;
      pos += n;
      b.eof_in = pos == in.size();
    }
    b.next_out = window.data();
    b.avail_out = window.size();
    auto step = job.iterate(b);
    if (!step.is_ok()) die("job", step.status());
    const size_t n = window.size() - b.avail_out;
    if (out) out->insert(out->end(), window.data(), window.data() + n);
    produced += n;
    if (*step == JobStep::kDone) return produced;
  }
}

class MemoryBasis : public BasisReader {
 public:
  explicit MemoryBasis(const std::vector<uint8_t>& d) : d_(d) {}
  mirrorfs::Status read_at(uint64_t off, uint8_t* buf, size_t len) override {
    if (off > d_.size() || len > d_.size() - off)
      return mirrorfs::Status::out_of_range("past the end of the basis");
    std::memcpy(buf, d_.data() + off, len);
    return mirrorfs::Status::ok();
  }
  std::optional<uint64_t> size() const override { return d_.size(); }

 private:
  const std::vector<uint8_t>& d_;
};

// The 64 MiB fixtures, built once on first use.
struct Fixture {
  std::vector<uint8_t> basis, scattered, inserted, unrelated;
  SignatureParams params;
  std::unique_ptr<Signature> sig;
  std::vector<uint8_t> scattered_delta;

  Fixture() {
    basis = random_bytes(kJobSize, 1);
    scattered = basis;  // 100 scattered 4 KiB overwrites
    uint64_t x = 12345;
    for (int i = 0; i < 100; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      fill_random(scattered.data() + (x >> 20) % (kJobSize - 4096), 4096, x);
    }
    const auto ins = random_bytes(kMiB, 3);  // 1 MiB in the middle
    inserted.assign(basis.begin(), basis.begin() + kJobSize / 2);
    inserted.insert(inserted.end(), ins.begin(), ins.end());
    inserted.insert(inserted.end(), basis.begin() + kJobSize / 2, basis.end());
    unrelated = random_bytes(kJobSize, 2);

    // rdiff's defaults for this size: RabinKarp + BLAKE2b, block 8192, 32.
    auto p = resolve_signature_params(SignatureRequest{}, basis.size());
    if (!p.is_ok()) die("params", p.status());
    params = *p;
    std::vector<uint8_t> bytes(signature_size(params, basis.size()));
    mirrorfs::put_be32(bytes.data(), static_cast<uint32_t>(params.magic));
    mirrorfs::put_be32(bytes.data() + 4, params.block_len);
    mirrorfs::put_be32(bytes.data() + 8, params.strong_len);
    sign_blocks(params, basis.data(), basis.size(),
                bytes.data() + kSigHeaderLen);
    auto loaded = load_signature(bytes);
    if (!loaded.is_ok()) die("load_signature", loaded.status());
    sig = std::move(*loaded);

    auto job = new_delta_job(*sig, nullptr);
    run_job(*job, scattered, &scattered_delta);
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

// ---- weak sums --------------------------------------------------------

// Rolls a window of range(0) bytes across the buffer, one byte at a time.
template <typename Sum>
void BM_Roll(benchmark::State& state) {
  const auto buf = random_bytes(kSumSize, 7);
  const size_t w = state.range(0);
  for (auto _ : state) {
    Sum s;
    s.update(buf.data(), w);
    uint32_t acc = 0;
    for (size_t i = w; i < buf.size(); ++i) {
      s.rotate(buf[i - w], buf[i]);
      acc ^= s.digest();
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(state.iterations() * (buf.size() - w));
}
BENCHMARK_TEMPLATE(BM_Roll, Rollsum)->Arg(2048)->Arg(8192);
BENCHMARK_TEMPLATE(BM_Roll, RabinKarp)->Arg(2048)->Arg(8192);

// RabinKarp rolling plus the signature prefilter probe: the inner loop of
// a delta search over data that matches nothing.
void BM_RollRabinKarpProbe(benchmark::State& state) {
  const Fixture& f = fixture();
  const auto buf = random_bytes(kSumSize, 8);
  const size_t w = f.params.block_len;
  for (auto _ : state) {
    RabinKarp s;
    s.update(buf.data(), w);
    size_t hits = 0;
    for (size_t i = w; i < buf.size(); ++i) {
      s.rotate(buf[i - w], buf[i]);
      hits += f.sig->maybe_contains(s.digest());
    }
    benchmark::DoNotOptimize(hits);
  }
  state.SetBytesProcessed(state.iterations() * (buf.size() - w));
}
BENCHMARK(BM_RollRabinKarpProbe);

// Direct (non-rolling) sums of consecutive blocks of range(1) bytes.
void BM_WeakSumDirect(benchmark::State& state) {
  const auto kind = state.range(0) ? WeakKind::kRabinKarp : WeakKind::kRollsum;
  const size_t block = state.range(1);
  const auto buf = random_bytes(kSumSize, 9);
  for (auto _ : state) {
    uint32_t acc = 0;
    for (size_t i = 0; i + block <= buf.size(); i += block)
      acc ^= weak_sum_direct(kind, buf.data() + i, block);
    benchmark::DoNotOptimize(acc);
  }
  state.SetLabel(state.range(0) ? "rabinkarp" : "rollsum");
  state.SetBytesProcessed(state.iterations() * buf.size());
}
BENCHMARK(BM_WeakSumDirect)->ArgsProduct({{0, 1}, {2048, 8192}});

// ---- signatures -------------------------------------------------------

// sign_blocks() over 16 MiB: range(0) indexes the magic, range(1) is the
// block length; strong sums of the maximum length.
void BM_SignBlocks(benchmark::State& state) {
  static constexpr SigMagic kMagics[] = {
      SigMagic::kRollsumMd4, SigMagic::kRollsumBlake2, SigMagic::kRabinKarpMd4,
      SigMagic::kRabinKarpBlake2};
  SignatureParams p;
  p.magic = kMagics[state.range(0)];
  p.block_len = static_cast<uint32_t>(state.range(1));
  p.strong_len = static_cast<uint32_t>(max_strong_len(p.magic));
  const auto buf = random_bytes(kSumSize, 10);
  std::vector<uint8_t> out(signature_size(p, buf.size()));
  for (auto _ : state) {
    sign_blocks(p, buf.data(), buf.size(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(magic_name(p.magic));
  state.SetBytesProcessed(state.iterations() * buf.size());
}
BENCHMARK(BM_SignBlocks)
    ->ArgsProduct({{0, 1, 2, 3}, {2048, 8192}})
    ->Unit(benchmark::kMillisecond);

// ---- delta and patch jobs ----------------------------------------------

enum NewKind { kScattered, kInserted, kUnrelated };

void BM_Delta(benchmark::State& state) {
  const Fixture& f = fixture();
  const auto kind = static_cast<NewKind>(state.range(0));
  const std::vector<uint8_t>& in = kind == kScattered  ? f.scattered
                                   : kind == kInserted ? f.inserted
                                                       : f.unrelated;
  size_t delta_size = 0;
  for (auto _ : state) {
    auto job = new_delta_job(*f.sig, nullptr);
    delta_size = run_job(*job, in, nullptr);
  }
  state.SetLabel(kind == kScattered  ? "scattered"
                 : kind == kInserted ? "inserted"
                                     : "unrelated");
  state.counters["delta_bytes"] = static_cast<double>(delta_size);
  state.SetBytesProcessed(state.iterations() * in.size());
}
BENCHMARK(BM_Delta)
    ->Arg(kScattered)
    ->Arg(kInserted)
    ->Arg(kUnrelated)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The whole signature job (streaming, one thread) over the 64 MiB basis.
void BM_SignatureJob(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) {
    auto job = new_signature_job(f.params, nullptr);
    benchmark::DoNotOptimize(run_job(*job, f.basis, nullptr));
  }
  state.SetBytesProcessed(state.iterations() * f.basis.size());
}
BENCHMARK(BM_SignatureJob)->Unit(benchmark::kMillisecond)->UseRealTime();

// Patch of the scattered-edit delta; output into a reused 4 MiB window.
void BM_Patch(benchmark::State& state) {
  const Fixture& f = fixture();
  MemoryBasis basis(f.basis);
  size_t out = 0;
  for (auto _ : state) {
    auto job = new_patch_job(&basis, nullptr);
    out = run_job(*job, f.scattered_delta, nullptr);
  }
  if (out != f.scattered.size()) {
    state.SkipWithError("patched size differs from the new file");
    return;
  }
  state.SetBytesProcessed(state.iterations() * out);
}
BENCHMARK(BM_Patch)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

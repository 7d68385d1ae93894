// The two-thread delta must find exactly the matches of the sequential
// scan (same literal and copied byte counts) and patch to the new file.
#include "core/parallel_delta.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>

#include "core/patch.h"
#include "core/whole_file.h"
#include "tests/support/drive.h"

namespace mirrorfs::core {
namespace {

using Bytes = std::vector<uint8_t>;

class TempFile {
 public:
  explicit TempFile(const Bytes& data) {
    char name[] = "/tmp/mirrorfs_pdelta_XXXXXX";
    fd_ = ::mkstemp(name);
    EXPECT_GE(fd_, 0);
    ::unlink(name);
    EXPECT_EQ(::write(fd_, data.data(), data.size()),
              static_cast<ssize_t>(data.size()));
    ::lseek(fd_, 0, SEEK_SET);
  }
  TempFile() : TempFile(Bytes{}) {}
  ~TempFile() { ::close(fd_); }
  int fd() const { return fd_; }
  Bytes contents() const {
    Bytes out(static_cast<size_t>(::lseek(fd_, 0, SEEK_END)));
    EXPECT_EQ(::pread(fd_, out.data(), out.size(), 0),
              static_cast<ssize_t>(out.size()));
    return out;
  }

 private:
  int fd_ = -1;
};

struct Run {
  Stats stats;
  Bytes delta;
};

Run delta_with(const Signature& sig, const Bytes& next, unsigned threads) {
  TempFile in(next), out;
  WholeFileOptions opt;
  opt.threads = threads;
  opt.parallel_min_bytes = 1;  // always split when threads > 1
  opt.buffer_size = 4096 + 17;  // many refills, odd size
  auto r = delta_fd(sig, in.fd(), out.fd(), opt);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return {r.is_ok() ? *r : Stats{}, out.contents()};
}

Bytes patched(const Bytes& basis, const Bytes& delta) {
  auto reader = new_memory_basis_reader(basis);
  auto job = new_patch_job(reader.get(), nullptr);
  auto r = mirrorfs::testing::run_job(*job, delta);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : Bytes{};
}

// Returns where the parallel run spliced (0: it did not).
uint64_t check(const Bytes& basis, const Bytes& next, SignatureParams p,
               const std::string& what) {
  TempFile b(basis), sig_file;
  SignatureRequest req{p.magic, p.block_len, static_cast<int>(p.strong_len)};
  EXPECT_TRUE(signature_fd(b.fd(), sig_file.fd(), req).is_ok());
  auto sig = load_signature(sig_file.contents());
  EXPECT_TRUE(sig.is_ok());
  if (!sig.is_ok()) return 0;
  Run seq = delta_with(**sig, next, 1);
  Run par = delta_with(**sig, next, 2);
  EXPECT_EQ(patched(basis, par.delta), next) << what;
  EXPECT_EQ(par.stats.literal_bytes, seq.stats.literal_bytes) << what;
  EXPECT_EQ(par.stats.copy_bytes, seq.stats.copy_bytes) << what;
  // The splice may split one literal run in two: a few header bytes.
  EXPECT_LE(par.delta.size(), seq.delta.size() + 9) << what;
  return par.stats.splice_at;
}

Bytes random_bytes(size_t n, std::mt19937& rng) {
  Bytes v(n);
  for (auto& x : v) x = static_cast<uint8_t>(rng());
  return v;
}

TEST(ParallelDeltaTest, MatchesSequentialScan) {
  const SignatureParams p{SigMagic::kRabinKarpBlake2, 64, 16};
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    std::mt19937 rng(seed);
    const size_t n = 1000 + rng() % 30000;
    Bytes basis = random_bytes(n, rng), next;
    switch (seed % 6) {
      case 0: next = basis; break;                      // identical
      case 1: next = random_bytes(n, rng); break;       // unrelated
      case 2: {                                         // scattered edits
        next = basis;
        for (int i = 0; i < 20; ++i) next[rng() % n] ^= 0xff;
        break;
      }
      case 3: {                                         // insert at the middle
        next = basis;
        Bytes ins = random_bytes(1 + rng() % 200, rng);
        next.insert(next.begin() + n / 2, ins.begin(), ins.end());
        break;
      }
      case 4: {                                         // zeros, out of phase
        basis.assign(n, 0);
        next.assign(n + 1 + rng() % 63, 0);
        next[rng() % 50] = 1;
        break;
      }
      default: {                                        // blocks reordered
        next.assign(basis.begin() + n / 3, basis.end());
        next.insert(next.end(), basis.begin(), basis.begin() + n / 3);
      }
    }
    const uint64_t at = check(basis, next, p, "seed=" + std::to_string(seed));
    if (seed % 6 != 4) {
      // Outside out-of-phase runs of identical blocks the two scans meet
      // within a few blocks of the middle (the
      // continuation path jumps up to four blocks between checks).
      EXPECT_GE(at, next.size() / 2) << seed;
      EXPECT_LE(at, next.size() / 2 + 6 * p.block_len) << seed;
    }
  }
}

TEST(ParallelDeltaTest, EveryMagic) {
  std::mt19937 rng(99);
  Bytes basis = random_bytes(50000, rng), next = basis;
  next.erase(next.begin() + 20000, next.begin() + 20100);
  for (SigMagic m : {SigMagic::kRollsumMd4, SigMagic::kRollsumBlake2,
                     SigMagic::kRabinKarpMd4, SigMagic::kRabinKarpBlake2}) {
    check(basis, next, {m, 100, 12}, magic_name(m));
  }
}

}  // namespace
}  // namespace mirrorfs::core

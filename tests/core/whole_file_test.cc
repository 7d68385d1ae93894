// The fd layer: patch_fd must agree with the PatchJob it stands beside
// (it drives the decoder itself, writing long literals directly).
#include "core/whole_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "core/delta.h"
#include "tests/support/drive.h"

namespace mirrorfs::core {
namespace {

using Bytes = std::vector<uint8_t>;

int memfd(const Bytes& data) {
  char name[] = "/tmp/mirrorfs_wf_XXXXXX";
  const int fd = ::mkstemp(name);
  ::unlink(name);
  EXPECT_EQ(::write(fd, data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

Bytes read_all(int fd) {
  Bytes out(static_cast<size_t>(::lseek(fd, 0, SEEK_END)));
  EXPECT_EQ(::pread(fd, out.data(), out.size(), 0),
            static_cast<ssize_t>(out.size()));
  return out;
}

Result<Bytes> patch_with_fds(const Bytes& basis, const Bytes& delta,
                             size_t buffer_size) {
  const int b = memfd(basis), d = memfd(delta), o = memfd({});
  WholeFileOptions opt;
  opt.buffer_size = buffer_size;
  auto r = patch_fd(b, d, o, opt);
  Bytes out = read_all(o);
  ::close(b);
  ::close(d);
  ::close(o);
  if (!r.is_ok()) return r.status();
  EXPECT_EQ(r->out_bytes, out.size());
  return out;
}

Bytes make_delta(const Bytes& basis, const Bytes& next) {
  auto sig = load_signature(*mirrorfs::testing::run_job(
      *new_signature_job({SigMagic::kRabinKarpBlake2, 512, 16}, nullptr),
      basis));
  auto job = new_delta_job(**sig, nullptr);
  return *mirrorfs::testing::run_job(*job, next);
}

TEST(WholeFileTest, PatchFdMatchesNewFile) {
  std::mt19937 rng(5);
  Bytes basis(300000);
  for (auto& x : basis) x = static_cast<uint8_t>(rng());
  Bytes next = basis;
  // A long literal (written directly), short ones (staged), copies.
  Bytes lit(200000);
  for (auto& x : lit) x = static_cast<uint8_t>(rng());
  next.insert(next.begin() + 1000, lit.begin(), lit.end());
  for (int i = 0; i < 30; ++i) next[rng() % next.size()] ^= 0x55;
  const Bytes delta = make_delta(basis, next);
  for (size_t buffer : {size_t{7}, size_t{4096}, size_t{1} << 20}) {
    auto out = patch_with_fds(basis, delta, buffer);
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    EXPECT_EQ(*out, next) << "buffer " << buffer;
  }
}

// Long COPYs go through copy_file_range; a pipe refuses it, so the same
// COPYs must then be staged and written, and give the same bytes.
TEST(WholeFileTest, PatchFdIntoPipeFallsBackFromKernelCopy) {
  std::mt19937 rng(7);
  Bytes basis(1 << 20);
  for (auto& x : basis) x = static_cast<uint8_t>(rng());
  Bytes next = basis;
  for (int i = 0; i < 5; ++i) next[rng() % next.size()] ^= 0x55;
  const Bytes delta = make_delta(basis, next);
  const int b = memfd(basis), d = memfd(delta);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Bytes out;
  std::thread reader([&] {
    uint8_t buf[1 << 16];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) {
      out.insert(out.end(), buf, buf + n);
    }
  });
  auto r = patch_fd(b, d, p[1]);
  ::close(p[1]);
  reader.join();
  ::close(p[0]);
  ::close(b);
  ::close(d);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(out, next);
}

TEST(WholeFileTest, PatchFdRefusesCopyOutsideBasis) {
  const Bytes basis(100, 'b');
  const Bytes delta = {0x72, 0x73, 0x02, 0x36, 0x45, 90, 20, 0x00};
  auto out = patch_with_fds(basis, delta, 4096);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kOutOfRange);
}

}  // namespace
}  // namespace mirrorfs::core

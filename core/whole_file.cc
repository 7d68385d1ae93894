#include "core/whole_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <memory>
#include <thread>
#include <vector>

#include "core/delta.h"
#include "core/fd_io.h"
#include "core/parallel_delta.h"

namespace mirrorfs::core {
namespace {

class FdBasisReader : public BasisReader {
 public:
  explicit FdBasisReader(int fd) : fd_(fd), size_(regular_file_size(fd)) {}

  Status read_at(uint64_t offset, uint8_t* buf, size_t len) override {
    while (len > 0) {
      const ssize_t n = ::pread(fd_, buf, len, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::from_errno(errno, "read basis");
      }
      if (n == 0) {
        return Status::out_of_range("COPY reads past the end of the basis at " +
                                    std::to_string(offset));
      }
      buf += n;
      len -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return Status::ok();
  }
  std::optional<uint64_t> size() const override { return size_; }

 private:
  int fd_;
  std::optional<uint64_t> size_;
};

}  // namespace

std::unique_ptr<BasisReader> new_fd_basis_reader(int fd) {
  return std::make_unique<FdBasisReader>(fd);
}

Result<Stats> signature_fd(int basis_fd, int sig_fd,
                           const SignatureRequest& req,
                           const WholeFileOptions& opt) {
  Result<SignatureParams> params =
      resolve_signature_params(req, regular_file_size(basis_fd));
  if (!params.is_ok()) return params.status();
  const SignatureParams& p = *params;
  const size_t entry = sig_entry_len(p);
  unsigned threads =
      opt.threads ? opt.threads : std::thread::hardware_concurrency();
  threads = std::clamp(threads, 1u, 16u);

  // Whole blocks are read in large chunks and hashed by `threads` threads
  // on disjoint block ranges; the entries come out in file order.
  size_t blocks_per_chunk =
      std::max<size_t>(1, (opt.buffer_size * 8) / p.block_len);
  if (auto size = regular_file_size(basis_fd)) {
    // Do not allocate a large chunk for a small file.
    blocks_per_chunk =
        std::min<size_t>(blocks_per_chunk, *size / p.block_len + 1);
  }
  const size_t in_size = blocks_per_chunk * p.block_len;
  auto in = std::make_unique_for_overwrite<uint8_t[]>(in_size);
  auto out =
      std::make_unique_for_overwrite<uint8_t[]>(blocks_per_chunk * entry);

  Stats stats;
  stats.block_len = p.block_len;
  uint8_t header[kSigHeaderLen];
  {
    // The header comes from the streaming job's first bytes, so the two
    // paths cannot disagree on it.
    auto job = new_signature_job(p, nullptr);
    JobBuffers b;
    b.next_out = header;
    b.avail_out = kSigHeaderLen;
    Result<JobStep> r = job->iterate(b);
    if (!r.is_ok()) return r.status();
    assert(b.avail_out == 0);
  }
  MIRRORFS_RETURN_IF_ERROR(write_full(sig_fd, header, kSigHeaderLen));
  stats.out_bytes += kSigHeaderLen;
  for (;;) {
    Result<size_t> got = read_full(basis_fd, in.get(), in_size);
    if (!got.is_ok()) return got.status();
    const size_t n = *got;
    if (n == 0) break;
    const size_t nblocks = (n + p.block_len - 1) / p.block_len;
    const unsigned t = static_cast<unsigned>(
        std::min<size_t>(threads, std::max<size_t>(1, nblocks / 8)));
    std::vector<std::thread> pool;
    const size_t per = (nblocks + t - 1) / t;
    for (unsigned k = 1; k < t; ++k) {
      const size_t b0 = k * per, b1 = std::min(nblocks, b0 + per);
      if (b0 >= b1) break;
      pool.emplace_back([&, b0, b1] {
        const size_t len = std::min(n, b1 * p.block_len) - b0 * p.block_len;
        sign_blocks(p, in.get() + b0 * p.block_len, len,
                    out.get() + b0 * entry);
      });
    }
    sign_blocks(p, in.get(), std::min(n, per * p.block_len), out.get());
    for (auto& th : pool) th.join();
    MIRRORFS_RETURN_IF_ERROR(write_full(sig_fd, out.get(), nblocks * entry));
    stats.in_bytes += n;
    stats.out_bytes += nblocks * entry;
    stats.sig_blocks += nblocks;
    if (n < in_size) break;
  }
  return stats;
}

Result<std::unique_ptr<Signature>> load_signature_fd(
    int sig_fd, const WholeFileOptions& opt) {
  SignatureLoader loader;
  MIRRORFS_RETURN_IF_ERROR(
      drive_job_fd(loader, sig_fd, {}, -1, opt.buffer_size));
  return loader.take();
}

Result<Stats> delta_fd(const Signature& sig, int new_fd, int delta_fd,
                       const WholeFileOptions& opt) {
  const unsigned threads =
      opt.threads ? opt.threads : std::thread::hardware_concurrency();
  const std::optional<uint64_t> size = regular_file_size(new_fd);
  const off_t cur = ::lseek(new_fd, 0, SEEK_CUR);
  if (threads > 1 && size && cur >= 0 && sig.block_count() > 0 &&
      *size >= static_cast<uint64_t>(cur) + opt.parallel_min_bytes) {
    return parallel_delta_fd(sig, new_fd, delta_fd, opt.buffer_size);
  }
  Stats stats;
  auto job = new_delta_job(sig, &stats);
  MIRRORFS_RETURN_IF_ERROR(
      drive_job_fd(*job, new_fd, {}, delta_fd, opt.buffer_size));
  return stats;
}

Result<Stats> patch_fd(int basis_fd, int delta_fd, int out_fd,
                       const WholeFileOptions& opt) {
  Stats stats;
  FdBasisReader basis(basis_fd);
  auto job = new_patch_job(&basis, &stats);
  MIRRORFS_RETURN_IF_ERROR(
      drive_job_fd(*job, delta_fd, {}, out_fd, opt.buffer_size));
  return stats;
}

}  // namespace mirrorfs::core

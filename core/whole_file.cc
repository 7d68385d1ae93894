#include "core/whole_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <memory>
#include <thread>
#include <vector>

#include "core/coding.h"
#include "core/delta.h"
#include "core/fd_io.h"
#include "core/parallel_delta.h"
#include "core/reflink.h"

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

// Not the PatchJob over buffers: the decoder is driven here so that long
// literals go to out_fd straight from the delta's read buffer, one copy
// fewer than through the job's output buffer, and so that block-aligned
// COPY ranges can be shared by reflink where the file system allows it
// (XFS, btrfs). Long COPY ranges that are not shared are copied inside the
// kernel (copy_range), which on ext4 saves reading the basis into a
// buffer: 256 MiB of COPY took 66-71 ms instead of 84-88 ms. Short COPY
// data, and all of it where the kernel will not copy, is read into a
// staging buffer.
Result<Stats> patch_fd(int basis_fd, int delta_fd, int out_fd,
                       const WholeFileOptions& opt) {
  constexpr size_t kDirectLiteral = 64 << 10;
  constexpr uint64_t kMinKernelCopy = 64 << 10;
  FdBasisReader basis(basis_fd);
  const std::optional<uint64_t> basis_size = basis.size();
  const size_t size = opt.buffer_size;
  auto in = std::make_unique_for_overwrite<uint8_t[]>(size);
  auto out = std::make_unique_for_overwrite<uint8_t[]>(size);
  size_t out_len = 0;
  uint64_t written = 0;
  auto flush = [&]() -> Status {
    written += out_len;
    Status st = write_full(out_fd, out.get(), out_len);
    out_len = 0;
    return st;
  };
  // Reflinks need the output's absolute offset: where writing started.
  const off_t out_start = ::lseek(out_fd, 0, SEEK_CUR);
  const uint64_t out_base =
      out_start > 0 ? static_cast<uint64_t>(out_start) : 0;
  Cloner cloner(basis_fd, out_start >= 0 ? out_fd : -1);
  constexpr uint64_t kMinClone = 64 << 10;  // smaller: not worth an extent
  uint64_t cloned = 0;
  bool kernel_copy = true;  // until copy_range first comes up short
  DeltaDecoder decoder;
  JobBuffers b;
  for (;;) {
    if (b.avail_in == 0 && !b.eof_in) {
      Result<size_t> n = read_full(delta_fd, in.get(), size);
      if (!n.is_ok()) return n.status();
      b.next_in = in.get();
      b.avail_in = *n;
      b.eof_in = *n < size;
    }
    Result<DeltaDecoder::Event> ev = decoder.next(b, SIZE_MAX);
    if (!ev.is_ok()) return ev.status();
    if (ev->kind == DeltaDecoder::Kind::kEnd) break;
    if (ev->kind == DeltaDecoder::Kind::kLiteral) {
      if (ev->len >= kDirectLiteral) {
        MIRRORFS_RETURN_IF_ERROR(flush());
        MIRRORFS_RETURN_IF_ERROR(write_full(out_fd, ev->data, ev->len));
        written += ev->len;
        continue;
      }
      if (out_len + ev->len > size) MIRRORFS_RETURN_IF_ERROR(flush());
      copy_bytes(out.get() + out_len, ev->data, ev->len);
      out_len += ev->len;
    } else if (ev->kind == DeltaDecoder::Kind::kCopy) {
      MIRRORFS_RETURN_IF_ERROR(
          check_copy_in_basis(ev->pos, ev->len, basis_size));
      uint64_t pos = ev->pos, left = ev->len;
      auto copy = [&](uint64_t n) -> Status {
        while (n > 0) {
          if (out_len == size) MIRRORFS_RETURN_IF_ERROR(flush());
          const size_t k =
              static_cast<size_t>(std::min<uint64_t>(n, size - out_len));
          MIRRORFS_RETURN_IF_ERROR(basis.read_at(pos, out.get() + out_len, k));
          out_len += k;
          pos += k;
          left -= k;
          n -= k;
        }
        return Status::ok();
      };
      // Where basis and output offsets agree modulo the block size, the
      // aligned middle of the COPY can be shared instead of written.
      const uint64_t bs = cloner.block();
      const uint64_t dst = out_base + written + out_len;
      if (cloner.enabled() && left >= kMinClone && pos % bs == dst % bs) {
        const uint64_t head = (bs - dst % bs) % bs;
        const uint64_t middle = (left - head) / bs * bs;
        if (middle >= kMinClone) {
          MIRRORFS_RETURN_IF_ERROR(copy(head));
          MIRRORFS_RETURN_IF_ERROR(flush());
          const uint64_t at = out_base + written;
          if (cloner.clone(pos, at, middle)) {
            if (::lseek(out_fd, static_cast<off_t>(at + middle), SEEK_SET) <
                0) {
              return Status::from_errno(errno, "seek output");
            }
            written += middle;
            cloned += middle;
            pos += middle;
            left -= middle;
          }
        }
      }
      if (kernel_copy && left >= kMinKernelCopy) {
        MIRRORFS_RETURN_IF_ERROR(flush());
        const uint64_t n = copy_range(basis_fd, pos, out_fd, left);
        kernel_copy = n == left;
        written += n;
        pos += n;
        left -= n;
      }
      MIRRORFS_RETURN_IF_ERROR(copy(left));
    }
  }
  MIRRORFS_RETURN_IF_ERROR(flush());
  Stats stats = decoder.stats();
  stats.in_bytes = decoder.consumed();
  stats.out_bytes = written;
  stats.cloned_bytes = cloned;
  return stats;
}

}  // namespace mirrorfs::core

#include "replicator/mirror/undo_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

#include "core/coding.h"
#include "core/fd_io.h"
#include "replicator/mirror/node_ops.h"
#include "replicator/mirror/undo_log_format.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::mirror {
namespace {

constexpr size_t kBuf = 1u << 20;

Status dir_sync(int dir) {
  if (::fsync(dir) != 0) return sys_error(errno, "fsync", "state directory");
  return Status::ok();
}

Status corrupt(const std::string& why) {
  return Status::corrupt("undo log: " + why);
}

}  // namespace

bool is_undo_log_name(std::string_view name) {
  const std::string_view p = kUndoPrefix, s = kUndoSuffix;
  return name.size() > p.size() + s.size() && name.starts_with(p) &&
         name.ends_with(s);
}

UndoLogWriter::UndoLogWriter(int dir, UniqueFd fd, std::string name)
    : dir_(dir),
      fd_(std::move(fd)),
      name_(std::move(name)),
      sum_(core::kContentHashLen),
      buf_(std::make_unique_for_overwrite<uint8_t[]>(kBuf)) {}

UndoLogWriter::~UndoLogWriter() {
  if (!name_.empty()) ::unlinkat(dir_, name_.c_str(), 0);
}

Result<std::unique_ptr<UndoLogWriter>> UndoLogWriter::create(
    int state_dir, const UndoLogHeader& h) {
  if (h.path.empty() || h.path.size() > wire::kMaxPath) {
    return Status::invalid_argument("undo log: bad path length");
  }
  UniqueFd fd;
  std::string name;
  for (int attempt = 0; !fd.valid(); ++attempt) {
    // temp_name() is ".mirrorfs-tmp-" + 12 random hex digits.
    const std::string t = temp_name();
    name = kUndoPrefix + t.substr(t.size() - 12) + kUndoSuffix;
    fd.reset(::openat(state_dir, name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600));
    if (!fd.valid() && (errno != EEXIST || attempt == 100)) {
      return sys_error(errno, "create undo log for", h.path);
    }
  }
  std::unique_ptr<UndoLogWriter> w(
      new UndoLogWriter(state_dir, std::move(fd), std::move(name)));
  std::vector<uint8_t> hdr(kUndoHeaderFixed + h.path.size());
  uint8_t* p = hdr.data();
  put_be32(p, kUndoMagic);
  put_be32(p + 4, kUndoVersion);
  put_be(p + 8, h.ino, 8);
  put_be(p + 16, h.old_size, 8);
  put_be(p + 24, h.new_size, 8);
  std::memcpy(p + 32, h.old_hash.data(), 32);
  std::memcpy(p + 64, h.new_hash.data(), 32);
  put_be(p + 96, h.range_count, 8);
  put_be32(p + 104, static_cast<uint32_t>(h.path.size()));
  std::memcpy(p + kUndoHeaderFixed, h.path.data(), h.path.size());
  MIRRORFS_RETURN_IF_ERROR(w->put(hdr.data(), hdr.size()));
  w->ranges_left_ = h.range_count;
  return w;
}

Status UndoLogWriter::put(const uint8_t* data, size_t len) {
  sum_.update(data, len);
  body_len_ += len;
  while (len > 0) {
    if (buf_len_ == kBuf) MIRRORFS_RETURN_IF_ERROR(flush());
    const size_t n = std::min(len, kBuf - buf_len_);
    std::memcpy(buf_.get() + buf_len_, data, n);
    buf_len_ += n;
    data += n;
    len -= n;
  }
  return Status::ok();
}

Status UndoLogWriter::flush() {
  Status st = core::write_full(fd_.get(), buf_.get(), buf_len_);
  buf_len_ = 0;
  if (!st.is_ok()) return Status(st.code(), "undo log: " + st.message(),
                                 st.errno_value());
  return Status::ok();
}

Status UndoLogWriter::add_range(int target_fd, uint64_t offset, uint64_t len) {
  assert(ranges_left_ > 0);
  --ranges_left_;
  uint8_t rh[kUndoRangeHeader];
  put_be(rh, offset, 8);
  put_be(rh + 8, len, 8);
  MIRRORFS_RETURN_IF_ERROR(put(rh, sizeof rh));
  std::vector<uint8_t> old(std::min<uint64_t>(len, kBuf));
  while (len > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, old.size()));
    Result<size_t> got = core::pread_full(target_fd, old.data(), n, offset);
    if (!got.is_ok()) return got.status();
    if (*got < n) {
      return Status(Code::kIoError,
                    "undo log: the target shrank while it was saved", EAGAIN);
    }
    MIRRORFS_RETURN_IF_ERROR(put(old.data(), n));
    offset += n;
    len -= n;
  }
  return Status::ok();
}

Status UndoLogWriter::commit() {
  assert(ranges_left_ == 0);
  uint8_t t[kUndoTrailer];
  put_be32(t, kUndoTrailerMagic);
  put_be(t + 4, body_len_, 8);
  sum_.final(t + 12);
  // The trailer is not part of the checksum: write it past put().
  MIRRORFS_RETURN_IF_ERROR(flush());
  MIRRORFS_RETURN_IF_ERROR(core::write_full(fd_.get(), t, sizeof t));
  if (::fsync(fd_.get()) != 0) return sys_error(errno, "fsync", "undo log");
  return dir_sync(dir_);
}

Status UndoLogWriter::remove() {
  if (name_.empty()) return Status::ok();
  if (::unlinkat(dir_, name_.c_str(), 0) != 0) {
    return sys_error(errno, "remove undo log", name_);
  }
  name_.clear();
  return dir_sync(dir_);
}

Status read_undo_log(
    int fd, UndoLogHeader* h,
    const std::function<Status(uint64_t, std::span<const uint8_t>)>& restore) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_error(errno, "stat", "undo log");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kUndoHeaderFixed + kUndoTrailer) return corrupt("too short");
  const uint64_t body_len = size - kUndoTrailer;
  uint8_t t[kUndoTrailer];
  Result<size_t> got = core::pread_full(fd, t, sizeof t, body_len);
  if (!got.is_ok()) return got.status();
  if (*got != sizeof t || get_be32(t) != kUndoTrailerMagic ||
      get_be(t + 4, 8) != body_len) {
    return corrupt("no valid trailer");
  }
  // Pass 1: the checksum over the body.
  std::vector<uint8_t> buf(kBuf);
  core::Blake2b sum(core::kContentHashLen);
  for (uint64_t off = 0; off < body_len;) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(body_len - off, kBuf));
    got = core::pread_full(fd, buf.data(), n, off);
    if (!got.is_ok()) return got.status();
    if (*got != n) return corrupt("shorter than it was");
    sum.update(buf.data(), n);
    off += n;
  }
  uint8_t digest[core::kContentHashLen];
  sum.final(digest);
  if (std::memcmp(digest, t + 12, sizeof digest) != 0) {
    return corrupt("checksum mismatch");
  }
  // The header.
  uint8_t p[kUndoHeaderFixed];
  got = core::pread_full(fd, p, sizeof p, 0);
  if (!got.is_ok()) return got.status();
  if (get_be32(p) != kUndoMagic) return corrupt("bad magic");
  if (get_be32(p + 4) != kUndoVersion) return corrupt("unknown version");
  h->ino = get_be(p + 8, 8);
  h->old_size = get_be(p + 16, 8);
  h->new_size = get_be(p + 24, 8);
  std::memcpy(h->old_hash.data(), p + 32, 32);
  std::memcpy(h->new_hash.data(), p + 64, 32);
  h->range_count = get_be(p + 96, 8);
  const uint32_t path_len = get_be32(p + 104);
  if (path_len == 0 || path_len > wire::kMaxPath ||
      path_len > body_len - kUndoHeaderFixed) {
    return corrupt("bad path length");
  }
  h->path.resize(path_len);
  got = core::pread_full(fd, reinterpret_cast<uint8_t*>(h->path.data()),
                         path_len, kUndoHeaderFixed);
  if (!got.is_ok()) return got.status();
  const uint64_t ranges_at = kUndoHeaderFixed + path_len;
  // Pass 2 checks every range header; pass 3 (restore) hands out bytes.
  for (int pass = 0; pass < (restore ? 2 : 1); ++pass) {
    uint64_t off = ranges_at;
    for (uint64_t i = 0; i < h->range_count; ++i) {
      uint8_t rh[kUndoRangeHeader];
      if (body_len - off < sizeof rh) return corrupt("range count too high");
      got = core::pread_full(fd, rh, sizeof rh, off);
      if (!got.is_ok()) return got.status();
      off += sizeof rh;
      const uint64_t at = get_be(rh, 8), len = get_be(rh + 8, 8);
      if (at > h->old_size || len > h->old_size - at || len > body_len - off) {
        return corrupt("range past the old size or the log");
      }
      for (uint64_t done = 0; pass == 1 && done < len;) {
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(len - done, kBuf));
        got = core::pread_full(fd, buf.data(), n, off + done);
        if (!got.is_ok()) return got.status();
        MIRRORFS_RETURN_IF_ERROR(restore(at + done, {buf.data(), n}));
        done += n;
      }
      off += len;
    }
    if (off != body_len) return corrupt("bytes after the last range");
  }
  return Status::ok();
}

}  // namespace mirrorfs::replicator::mirror

// The content update (ContentWriter): a librsync delta streamed into a
// temporary file beside the target, checked, then renamed over it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "core/content_hash.h"
#include "core/fd_io.h"
#include "core/patch.h"
#include "db/attr_payload.h"
#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/delta_writer.h"
#include "replicator/mirror/install.h"
#include "replicator/mirror/node_ops.h"

namespace mirrorfs::replicator::mirror {
namespace {

using db::AttrPayload;

constexpr size_t kOutBuf = 1u << 20;  // output staged before each write

// A status of `st`'s code and errno, its message prefixed with context.
Status with_context(const Status& st, const std::string& context) {
  return Status(st.code(), context + ": " + st.message(), st.errno_value());
}

class Writer : public DeltaWriter {
 public:
  Writer(ApplierImpl* owner, Entry target, UniqueFd basis,
         std::optional<uint64_t> basis_size, uint64_t new_size, UniqueFd tmp,
         std::string tmp_name)
      : DeltaWriter(target.path),
        owner_(owner),
        target_(std::move(target)),
        basis_(std::move(basis)),
        basis_size_(basis_size),
        new_size_(new_size),
        tmp_(std::move(tmp)),
        tmp_name_(std::move(tmp_name)),
        out_(std::make_unique_for_overwrite<uint8_t[]>(kOutBuf)) {}
  ~Writer() override { discard(); }

  Status write(std::span<const uint8_t> bytes) override;
  Status finish(const wire::FileEnd& end) override;

 private:
  // Drops the temporary at once (a full disk gets its space back).
  void discard() override {
    if (!tmp_name_.empty()) {
      ::unlinkat(target_.dir.get(), tmp_name_.c_str(), 0);
      tmp_name_.clear();
    }
    tmp_.reset();
    basis_.reset();
  }
  Status take(const uint8_t* data, size_t len);
  Status copy_from_basis(uint64_t pos, uint64_t len);
  Status flush();
  Status install(const wire::FileEnd& end, const core::ContentHash& hash);

  ApplierImpl* const owner_;
  Entry target_;
  UniqueFd basis_;  // invalid: no basis, so no COPY allowed
  const std::optional<uint64_t> basis_size_;
  const uint64_t new_size_;
  UniqueFd tmp_;
  std::string tmp_name_;  // empty while tmp_ is an unnamed O_TMPFILE
  std::unique_ptr<uint8_t[]> out_;
  size_t out_len_ = 0;
  uint64_t produced_ = 0;  // bytes of new content so far
  core::ContentHasher hasher_;
};

Status Writer::write(std::span<const uint8_t> bytes) {
  MIRRORFS_RETURN_IF_ERROR(check_write());
  return feed(
      bytes,
      [&]() -> Result<size_t> {
        if (out_len_ == kOutBuf) {
          if (Status st = flush(); !st.is_ok()) return fail(st);
        }
        return kOutBuf - out_len_;
      },
      [&](const uint8_t* data, uint64_t len) {
        return take(data, static_cast<size_t>(len));
      },
      [&](uint64_t pos, uint64_t len) { return copy_from_basis(pos, len); });
}

Status Writer::take(const uint8_t* data, size_t len) {
  if (len > new_size_ - produced_) {
    return corrupt("the delta makes more than the announced " +
                   std::to_string(new_size_) + " bytes");
  }
  assert(produced_ <= new_size_ && out_len_ + len <= kOutBuf);
  std::memcpy(out_.get() + out_len_, data, len);
  hasher_.update(data, len);
  out_len_ += len;
  produced_ += len;
  return Status::ok();
}

Status Writer::copy_from_basis(uint64_t pos, uint64_t len) {
  if (!basis_.valid()) return corrupt("a COPY in a delta without basis");
  // COPY past the basis: core says kOutOfRange; to the client it is a
  // corrupt delta.
  Status in = core::check_copy_in_basis(pos, len, basis_size_);
  if (!in.is_ok()) return corrupt(in.message());
  if (len > new_size_ - produced_) {
    return corrupt("the delta makes more than the announced " +
                   std::to_string(new_size_) + " bytes");
  }
  while (len > 0) {
    if (out_len_ == kOutBuf) {
      if (Status st = flush(); !st.is_ok()) return fail(st);
    }
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(len, kOutBuf - out_len_));
    uint8_t* at = out_.get() + out_len_;
    Result<size_t> got = core::pread_full(basis_.get(), at, n, pos);
    if (!got.is_ok()) {
      return fail(with_context(got.status(), "basis of " + target_.path));
    }
    if (*got < n) {
      return fail(Status(
          Code::kIoError,
          "basis of " + target_.path + " shrank while it was patched; retry",
          EAGAIN));
    }
    hasher_.update(at, n);
    out_len_ += n;
    produced_ += n;
    pos += n;
    len -= n;
  }
  return Status::ok();
}

Status Writer::flush() {
  Status st = core::write_full(tmp_.get(), out_.get(), out_len_);
  out_len_ = 0;
  if (!st.is_ok()) return with_context(st, "new content of " + target_.path);
  return Status::ok();
}

Status Writer::finish(const wire::FileEnd& end) {
  MIRRORFS_RETURN_IF_ERROR(start_finish());
  if (Status st = flush(); !st.is_ok()) return fail(st);
  if (produced_ != new_size_) {
    return corrupt("the delta makes " + std::to_string(produced_) +
                   " bytes, not the announced " + std::to_string(new_size_));
  }
  const core::ContentHash hash = hasher_.finish();
  if (hash != end.new_hash) {
    return corrupt("the result's content hash " + core::content_hash_hex(hash) +
                   " is not the one sent");
  }
  Status st = install(end, hash);
  if (!st.is_ok()) return fail(st);
  return Status::ok();
}

// Everything after the checks: attributes, durability, the rename, links.
Status Writer::install(const wire::FileEnd& end,
                       const core::ContentHash& hash) {
  const std::string& path = target_.path;
  Result<std::vector<Entry>> links =
      resolve_links(owner_->root(), end.links, path);
  if (!links.is_ok()) return links.status();
  wire::Attrs attrs = end.attrs;
  const bool set_owner = owner_->options().set_owner;
  UniqueFd old(::openat(target_.dir.get(), target_.name.c_str(),
                        O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!old.valid() && errno != ENOENT) return sys_error(errno, "open", path);
  struct stat old_st;
  if (old.valid()) {
    if (::fstat(old.get(), &old_st) != 0) return sys_error(errno, "stat", path);
    if (S_ISDIR(old_st.st_mode)) {
      return Status(Code::kAlreadyExists,
                    "content update of " + path + ": it is a directory",
                    EISDIR);
    }
    if (!S_ISREG(old_st.st_mode)) old.reset();  // a symlink, a node: replaced
  }
  if (old.valid()) attrs = keep_unsent(attrs, old_st);
  // Owner first (chown clears set-ID bits and security.capability), then
  // the old xattrs, then the mode (which also sets an ACL's mask), times.
  constexpr uint32_t kOwner = AttrPayload::kUid | AttrPayload::kGid;
  wire::Attrs owner = attrs, rest = attrs;
  owner.valid &= kOwner;
  rest.valid &= ~kOwner;
  MIRRORFS_RETURN_IF_ERROR(set_attrs_fd(tmp_.get(), owner, set_owner, path));
  if (old.valid()) {
    MIRRORFS_RETURN_IF_ERROR(copy_xattrs(old.get(), tmp_.get(), path));
  }
  MIRRORFS_RETURN_IF_ERROR(set_attrs_fd(tmp_.get(), rest, set_owner, path));
  if (::fsync(tmp_.get()) != 0)
    return sys_error(errno, "fsync new content of", path);

  if (tmp_name_.empty()) {  // give the O_TMPFILE a name beside the target
    for (int attempt = 0;; ++attempt) {
      std::string name = temp_name();
      if (::linkat(AT_FDCWD, fd_path(tmp_.get()).c_str(), target_.dir.get(),
                   name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
        tmp_name_ = std::move(name);
        break;
      }
      if (errno != EEXIST || attempt == 100) {
        return sys_error(errno, "link new content of", path);
      }
    }
  }
  if (::renameat(target_.dir.get(), tmp_name_.c_str(), target_.dir.get(),
                 target_.name.c_str()) != 0) {
    return sys_error(errno, "rename new content over", path);
  }
  tmp_name_.clear();  // it is the target now: discard() must not unlink it
  owner_->pending().note_dir(target_.dir.get());

  Status linked = link_names(owner_, tmp_.get(), path, *links);
  note_links(owner_, tmp_.get(), *links);

  struct stat now;  // after the rename and links, which move ctime
  if (::fstat(tmp_.get(), &now) == 0) owner_->remember(now, hash, hasher_.leaves());
  struct stat gone;
  if (old.valid() && ::fstat(old.get(), &gone) == 0 && gone.st_nlink == 0) {
    owner_->note_gone(gone);
  }
  tmp_.reset();
  basis_.reset();
  return linked;
}

}  // namespace

Result<std::unique_ptr<ContentWriter>> start_content_writer(ApplierImpl* owner,
                                                            Entry target,
                                                            UniqueFd basis,
                                                            uint64_t new_size) {
  std::optional<uint64_t> basis_size;
  if (basis.valid()) {
    struct stat st;
    if (::fstat(basis.get(), &st) != 0) {
      return sys_error(errno, "stat basis for", target.path);
    }
    basis_size = static_cast<uint64_t>(st.st_size);
  }
  const int dir = target.dir.get();
  UniqueFd tmp;
  std::string tmp_name;
  if (owner->options().use_o_tmpfile) {
    tmp.reset(::openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!tmp.valid() && errno != EOPNOTSUPP && errno != EISDIR) {
      return sys_error(errno, "create temporary file beside", target.path);
    }
  }
  for (int attempt = 0; !tmp.valid(); ++attempt) {
    // No O_TMPFILE here: a hidden name, removed on failure.
    tmp_name = temp_name();
    tmp.reset(::openat(dir, tmp_name.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0600));
    if (!tmp.valid() && (errno != EEXIST || attempt == 100)) {
      return sys_error(errno, "create temporary file beside", target.path);
    }
  }
  // Reserve the space now: a disk too full for the new version says so
  // before any byte of the delta is read (file systems that cannot
  // reserve are written as usual).
  if (new_size > 0 && owner->options().reserve_space &&
      ::fallocate(
          tmp.get(), FALLOC_FL_KEEP_SIZE, 0,
          static_cast<off_t>(std::min<uint64_t>(new_size, INT64_MAX))) != 0 &&
      errno != EOPNOTSUPP && errno != ENOSYS) {
    const int err = errno;
    if (!tmp_name.empty()) ::unlinkat(dir, tmp_name.c_str(), 0);
    return sys_error(err, "reserve space for the new content of", target.path);
  }
  return std::unique_ptr<ContentWriter>(
      new Writer(owner, std::move(target), std::move(basis), basis_size,
                 new_size, std::move(tmp), std::move(tmp_name)));
}

}  // namespace mirrorfs::replicator::mirror

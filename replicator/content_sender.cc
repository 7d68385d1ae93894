#include "replicator/content_sender.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <functional>
#include <span>

#include "core/content_hash.h"
#include "core/delta.h"
#include "core/signature_format.h"
#include "db/attr_payload.h"
#include "replicator/job_pump.h"

namespace mirrorfs::replicator {
namespace {

constexpr size_t kReadChunk = 1u << 20;

}  // namespace

bool same_version(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_size == b.st_size &&
         db::ns_of(a.st_mtim) == db::ns_of(b.st_mtim) &&
         db::ns_of(a.st_ctim) == db::ns_of(b.st_ctim);
}

Result<core::UniqueFd> open_backing_file(int backing_dir_fd, const std::string& path,
                                         struct stat* st) {
  const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  // O_NOATIME is for the file's owner (or root) only.
  int fd = ::openat(backing_dir_fd, path.c_str(), flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(backing_dir_fd, path.c_str(), flags);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ELOOP || err == ENOTDIR) return core::UniqueFd();
    return Status::from_errno(err, "open " + path);
  }
  core::UniqueFd owned(fd);
  if (::fstat(fd, st) != 0) return Status::from_errno(errno, "stat " + path);
  if (!S_ISREG(st->st_mode)) return core::UniqueFd();
  return owned;
}

wire::Message file_begin(const SendContentArgs& args, uint64_t new_size) {
  wire::FileBegin fb;
  fb.seq = args.seq;
  fb.path = args.mirror_path;
  fb.new_size = new_size;
  return wire::Message{args.request_id, std::move(fb)};
}

wire::Message file_end(const SendContentArgs& args, const wire::Hash& hash,
                       const struct stat& st) {
  wire::FileEnd end;
  end.new_hash = hash;
  end.attrs = attrs_of_stat(st);
  end.links = args.links;
  return wire::Message{args.request_id, std::move(end)};
}

wire::Attrs attrs_of_stat(const struct stat& st) {
  wire::Attrs a;
  a.valid = db::AttrPayload::kUid | db::AttrPayload::kGid |
            db::AttrPayload::kMtime | db::AttrPayload::kAtime;
  if (!S_ISLNK(st.st_mode)) a.valid |= db::AttrPayload::kMode;
  a.mode = st.st_mode;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.atime_ns = db::ns_of(st.st_atim);
  a.mtime_ns = db::ns_of(st.st_mtim);
  return a;
}

core::SignatureParams mirror_signature_params(uint64_t size) {
  core::SignatureRequest req;  // BLAKE2 + RabinKarp, rdiff's choices
  Result<core::SignatureParams> p = core::resolve_signature_params(req, size);
  assert(p.is_ok());  // a default request always resolves
  return *p;
}

Result<ContentResult> send_content(Channel& ch, const SendContentArgs& args,
                                   const ContentBasis& basis) {
  ContentResult result;
  struct stat before;
  MIRRORFS_ASSIGN_OR_RETURN(fd, open_backing_file(args.backing_dir_fd, args.backing_path, &before));
  if (fd.get() < 0 || (args.backing_ino != 0 && before.st_ino != args.backing_ino)) {
    result.outcome = ContentResult::Outcome::kVanished;
    return result;
  }
  const int fd_ok = fd.get();
  const uint64_t size = static_cast<uint64_t>(before.st_size);
  ::posix_fadvise(fd_ok, 0, 0, POSIX_FADV_SEQUENTIAL);

  // The delta against the basis signature, or against an empty one: all
  // literals, which is the literal strategy in librsync's format.
  core::Signature empty(mirror_signature_params(0));
  empty.build_index();
  const core::Signature& sig = basis.has_basis ? *basis.sig : empty;
  std::unique_ptr<core::Job> delta = core::new_delta_job(sig, &result.delta);
  core::Stats sig_stats;
  std::unique_ptr<core::Job> signer =
      core::new_signature_job(mirror_signature_params(size), &sig_stats);
  core::ContentHasher hasher;

  wire::Message m = file_begin(args, size);
  wire::FileBegin& fb = std::get<wire::FileBegin>(m.body);
  fb.has_basis = basis.has_basis;
  if (basis.has_basis) {
    fb.basis_path = basis.path;
    fb.basis_hash = basis.hash;
  }
  MIRRORFS_RETURN_IF_ERROR(ch.send(m));

  JobPump delta_pump(*delta, wire::kMaxChunk, [&](std::span<const uint8_t> out) {
    wire::Message d;
    d.request_id = args.request_id;
    d.body = wire::FileData{std::vector<uint8_t>(out.begin(), out.end())};
    return ch.send(d);
  });
  JobPump sig_pump(*signer, 64u << 10, [&](std::span<const uint8_t> out) {
    result.signature.insert(result.signature.end(), out.begin(), out.end());
    return Status::ok();
  });

  std::vector<uint8_t> buf(kReadChunk);
  uint64_t off = 0;
  bool changed = false;
  for (;;) {
    const ssize_t n = ::pread(fd_ok, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      const Status err = Status::from_errno(errno, "read " + args.backing_path);
      wire::Message a{args.request_id, wire::FileAbort{}};
      (void)ch.send(a);
      return err;
    }
    if (n == 0 || off + static_cast<uint64_t>(n) > size) {
      changed = n != 0 || off != size;
      break;
    }
    hasher.update(buf.data(), static_cast<size_t>(n));
    MIRRORFS_RETURN_IF_ERROR(sig_pump.run(buf.data(), static_cast<size_t>(n), false));
    MIRRORFS_RETURN_IF_ERROR(delta_pump.run(buf.data(), static_cast<size_t>(n), false));
    off += static_cast<uint64_t>(n);
  }
  struct stat after;
  if (::fstat(fd_ok, &after) != 0) {
    return Status::from_errno(errno, "stat " + args.backing_path);
  }
  if (changed || !same_version(before, after)) {
    result.outcome = ContentResult::Outcome::kUnstable;
    wire::Message a{args.request_id, wire::FileAbort{}};
    MIRRORFS_RETURN_IF_ERROR(ch.send(a));
    return result;
  }
  MIRRORFS_RETURN_IF_ERROR(sig_pump.run(nullptr, 0, true));
  MIRRORFS_RETURN_IF_ERROR(delta_pump.run(nullptr, 0, true));
  result.hash = hasher.finish();
  result.leaves = hasher.leaves();
  result.size = size;

  MIRRORFS_RETURN_IF_ERROR(ch.send(file_end(args, result.hash, after)));
  return result;
}

}  // namespace mirrorfs::replicator

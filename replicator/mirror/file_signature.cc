// Applier::signature: the librsync signature of a file the mirror holds,
// with its content hash from the same read; Applier::open_read, the file
// a fetch reads.
#include <fcntl.h>
#include <sys/stat.h>

#include <memory>

#include "core/content_hash.h"
#include "core/fd_io.h"
#include "core/signature.h"
#include "core/signature_format.h"
#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/node_ops.h"

namespace mirrorfs::replicator::mirror {
namespace {
constexpr size_t kInBuf = 1u << 20;
}  // namespace

Result<wire::SigEnd> ApplierImpl::signature(
    std::string_view path,
    const std::function<Status(std::span<const uint8_t>)>& sink) {
  Result<Entry> e = root_->entry(path);
  if (!e.is_ok()) {
    if (e.status().code() == Code::kNotFound) return wire::SigEnd{};
    return e.status();
  }
  struct stat st;
  Result<std::optional<UniqueFd>> fd = open_regular(*e, &st);
  if (!fd.is_ok()) return fd.status();
  if (!fd->has_value()) return wire::SigEnd{};
  const int in_fd = (*fd)->get();

  // rdiff's defaults: RabinKarp + BLAKE2, block and strong sum lengths
  // chosen from the file's size.
  Result<core::SignatureParams> params = core::resolve_signature_params(
      core::SignatureRequest{}, static_cast<uint64_t>(st.st_size));
  if (!params.is_ok()) return params.status();
  std::unique_ptr<core::Job> job = core::new_signature_job(*params, nullptr);
  auto in = std::make_unique_for_overwrite<uint8_t[]>(kInBuf);
  auto out = std::make_unique_for_overwrite<uint8_t[]>(wire::kMaxChunk);
  core::ContentHasher hasher;
  core::JobBuffers b;
  b.next_out = out.get();
  b.avail_out = wire::kMaxChunk;
  uint64_t offset = 0;
  for (;;) {
    if (b.avail_in == 0 && !b.eof_in) {
      Result<size_t> n = core::pread_full(in_fd, in.get(), kInBuf, offset);
      if (!n.is_ok()) {
        return Status(n.status().code(),
                      "read " + std::string(path) + ": " + n.status().message(),
                      n.status().errno_value());
      }
      hasher.update(in.get(), *n);
      offset += *n;
      b.next_in = in.get();
      b.avail_in = *n;
      b.eof_in = *n < kInBuf;
    }
    Result<core::JobStep> step = job->iterate(b);
    if (!step.is_ok()) return step.status();
    const bool done = *step == core::JobStep::kDone;
    if (b.avail_out == 0 || (done && b.avail_out < wire::kMaxChunk)) {
      MIRRORFS_RETURN_IF_ERROR(
          sink({out.get(), wire::kMaxChunk - b.avail_out}));
      b.next_out = out.get();
      b.avail_out = wire::kMaxChunk;
    }
    if (done) break;
  }
  struct stat after;
  if (::fstat(in_fd, &after) != 0) {
    return sys_error(errno, "stat", path);
  }
  if (after.st_size != st.st_size || mtime_ns(after) != mtime_ns(st) ||
      ctime_ns(after) != ctime_ns(st) ||
      offset != static_cast<uint64_t>(st.st_size)) {
    return Status(Code::kIoError,
                  "signature of " + std::string(path) +
                      ": the file changed while it was read; retry",
                  EAGAIN);
  }
  wire::SigEnd end;
  end.exists = true;
  end.hash = hasher.finish();
  end.size = offset;
  remember(st, end.hash, hasher.leaves());
  return end;
}

Result<core::UniqueFd> ApplierImpl::open_read(std::string_view path, struct stat* st) {
  MIRRORFS_ASSIGN_OR_RETURN(e, root_->entry(path));
  MIRRORFS_ASSIGN_OR_RETURN(fd, open_regular(e, st));
  if (!fd.has_value()) {
    if (::fstatat(e.dir.get(), e.name.c_str(), st, AT_SYMLINK_NOFOLLOW) != 0) {
      return sys_error(errno, "open", path);
    }
    return Status(Code::kInvalidArgument, std::string(path) + ": not a regular file", EINVAL);
  }
  return core::UniqueFd(fd->release());
}

}  // namespace mirrorfs::replicator::mirror

#include "replicator/fetch_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include "core/content_hash.h"
#include "core/delta.h"
#include "core/fd_io.h"
#include "replicator/content_sender.h"
#include "replicator/job_pump.h"
#include "replicator/log.h"

namespace mirrorfs::replicator {
namespace {
constexpr size_t kReadChunk = 1u << 20;
}  // namespace

Status FetchServer::answer_error(uint64_t id, const Status& s) {
  log_error("fetch: " + s.to_string());
  wire::Error e;
  e.code = static_cast<uint32_t>(s.code());
  e.err = s.errno_value();
  e.message = s.message().substr(0, wire::kMaxText);
  return send_(wire::Message{id, std::move(e)});
}

Status FetchServer::begin(uint64_t id, const wire::FetchBegin& b) {
  if (id_ != 0) return Status::corrupt("FetchBegin inside another fetch");
  if (!b.has_basis) return serve(id, b.path, nullptr);
  id_ = id;
  path_ = b.path;
  loader_ = std::make_unique<core::SignatureLoader>();
  sig_bytes_ = 0;
  failed_ = Status::ok();
  return Status::ok();
}

Status FetchServer::sig(uint64_t id, const wire::FetchSig& d) {
  if (id_ == 0 || id != id_) return Status::corrupt("FetchSig without FetchBegin");
  if (!failed_.is_ok()) return Status::ok();  // dropped: answered at the end
  sig_bytes_ += d.bytes.size();
  if (sig_bytes_ > wire::kMaxFetchSignature) {
    failed_ = Status(Code::kOutOfRange,
                     "fetch " + path_ + ": signature over " +
                         std::to_string(wire::kMaxFetchSignature) + " bytes refused",
                     EFBIG);
    loader_.reset();
    return Status::ok();
  }
  core::JobBuffers buf;
  buf.next_in = d.bytes.data();
  buf.avail_in = d.bytes.size();
  while (buf.avail_in > 0) {
    Result<core::JobStep> step = loader_->iterate(buf);
    if (!step.is_ok() || *step == core::JobStep::kDone) {
      failed_ = Status::corrupt("fetch " + path_ + ": bad signature: " +
                                (step.is_ok() ? "bytes after its end" : step.status().message()));
      loader_.reset();
      break;
    }
  }
  return Status::ok();
}

Status FetchServer::sig_end(uint64_t id) {
  if (id_ == 0 || id != id_) return Status::corrupt("FetchSigEnd without FetchBegin");
  id_ = 0;
  std::unique_ptr<core::SignatureLoader> loader = std::move(loader_);
  if (!failed_.is_ok()) return answer_error(id, failed_);
  core::JobBuffers buf;
  buf.eof_in = true;
  Result<core::JobStep> step = loader->iterate(buf);
  if (!step.is_ok() || *step != core::JobStep::kDone) {
    return answer_error(id, Status::corrupt("fetch " + path_ + ": bad signature: " +
                                            (step.is_ok() ? "truncated" : step.status().message())));
  }
  std::unique_ptr<core::Signature> sig = loader->take();
  return serve(id, path_, sig.get());
}

Status FetchServer::serve(uint64_t id, const std::string& path, const core::Signature* basis) {
  struct stat before;
  Result<core::UniqueFd> fd = applier_.open_read(path, &before);
  if (!fd.is_ok()) return answer_error(id, fd.status());
  ::posix_fadvise(fd->get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  // No basis: a delta against an empty signature, all literals.
  core::Signature empty(mirror_signature_params(0));
  empty.build_index();
  std::unique_ptr<core::Job> delta = core::new_delta_job(basis ? *basis : empty, nullptr);
  core::ContentHasher hasher;
  // A send error means the connection is gone: the session ends with it.
  Status send_error;
  JobPump pump(*delta, wire::kMaxChunk, [&](std::span<const uint8_t> out) {
    delta_bytes_ += out.size();
    send_error = send_(wire::Message{id, wire::FetchData{{out.begin(), out.end()}}});
    return send_error;
  });
  const uint64_t size = static_cast<uint64_t>(before.st_size);
  std::vector<uint8_t> buf(kReadChunk);
  uint64_t off = 0;
  bool changed = false;
  for (;;) {
    Result<size_t> n = core::pread_full(fd->get(), buf.data(), buf.size(), off);
    if (!n.is_ok()) return answer_error(id, n.status());
    if (*n == 0) break;
    if (off + *n > size) {
      changed = true;
      break;
    }
    hasher.update(buf.data(), *n);
    if (Status s = pump.run(buf.data(), *n, false); !s.is_ok()) {
      return send_error.is_ok() ? answer_error(id, s) : send_error;
    }
    off += *n;
    file_bytes_ += *n;
    if (*n < buf.size()) break;
  }
  struct stat after;
  if (::fstat(fd->get(), &after) != 0) return answer_error(id, Status::from_errno(errno, "stat " + path));
  if (changed || off != size || !same_version(before, after)) {
    return answer_error(id, Status(Code::kIoError,
                                   "fetch " + path + ": the file changed while it was read; retry",
                                   EAGAIN));
  }
  if (Status s = pump.run(nullptr, 0, true); !s.is_ok()) {
    return send_error.is_ok() ? answer_error(id, s) : send_error;
  }
  wire::FetchEnd end;
  end.hash = hasher.finish();
  end.size = size;
  end.attrs = attrs_of_stat(after);
  return send_(wire::Message{id, end});
}

}  // namespace mirrorfs::replicator

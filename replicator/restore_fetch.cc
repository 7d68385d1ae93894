#include "replicator/restore_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <vector>

#include "core/content_hash.h"
#include "core/fd_io.h"
#include "core/patch.h"
#include "core/signature.h"
#include "core/whole_file.h"
#include "replicator/client_session.h"
#include "replicator/content_sender.h"
#include "replicator/job_pump.h"
#include "replicator/wire/codec.h"

namespace mirrorfs::replicator {
namespace {

constexpr size_t kReadChunk = 1u << 20;

// The new version's file: unnamed until commit().
class TempFile {
 public:
  TempFile(int dir_fd, std::string name) : dir_fd_(dir_fd), name_(std::move(name)) {}
  ~TempFile() {
    if (!named_.empty()) ::unlinkat(dir_fd_, named_.c_str(), 0);
  }

  Status open() {
    int fd = ::openat(dir_fd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      named_ = hidden_name();
      fd = ::openat(dir_fd_, named_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) named_.clear();
    }
    if (fd < 0) return Status::from_errno(errno, "create a temporary file for " + name_);
    fd_ = core::UniqueFd(fd);
    return Status::ok();
  }
  int fd() const { return fd_.get(); }

  // Puts the file under name_, replacing what is there, atomically.
  Status commit() {
    if (named_.empty()) {
      named_ = hidden_name();
      const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
      if (::linkat(AT_FDCWD, proc.c_str(), dir_fd_, named_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        const int err = errno;
        named_.clear();
        return Status::from_errno(err, "link the restored " + name_);
      }
    }
    if (::renameat(dir_fd_, named_.c_str(), dir_fd_, name_.c_str()) != 0) {
      return Status::from_errno(errno, "rename the restored " + name_ + " into place");
    }
    named_.clear();
    return Status::ok();
  }

 private:
  std::string hidden_name() const {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[24];
    std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(rng() >> 16));
    return "." + name_.substr(0, 200) + ".mirrorfs-" + buf;
  }

  int dir_fd_;
  std::string name_, named_;  // named_: the temporary's name while it has one
  core::UniqueFd fd_;
};

// Streams the signature of the file open as `fd` as FetchSig frames.
Status send_signature(Channel& ch, uint64_t id, int fd, uint64_t size) {
  std::unique_ptr<core::Job> job = core::new_signature_job(mirror_signature_params(size), nullptr);
  JobPump pump(*job, wire::kMaxChunk, [&](std::span<const uint8_t> out) {
    return ch.send(wire::Message{id, wire::FetchSig{{out.begin(), out.end()}}});
  });
  std::vector<uint8_t> buf(kReadChunk);
  for (uint64_t off = 0;;) {
    MIRRORFS_ASSIGN_OR_RETURN(n, core::pread_full(fd, buf.data(), buf.size(), off));
    off += n;
    const bool eof = n < buf.size();
    MIRRORFS_RETURN_IF_ERROR(pump.run(buf.data(), n, eof));
    if (eof) break;
  }
  return ch.send(wire::Message{id, wire::FetchSigEnd{}});
}

Status set_attrs(int fd, const wire::Attrs& a, bool set_owner, const std::string& name) {
  if (set_owner && (a.valid & 6) == 6 && ::fchown(fd, a.uid, a.gid) != 0) {
    return Status::from_errno(errno, "chown " + name);
  }
  if ((a.valid & 1) && ::fchmod(fd, a.mode & 07777) != 0) {
    return Status::from_errno(errno, "chmod " + name);
  }
  if (a.valid & 32) {
    struct timespec ts[2];
    ts[0].tv_nsec = UTIME_OMIT;
    if (a.valid & 16) ts[0] = {a.atime_ns / 1'000'000'000, a.atime_ns % 1'000'000'000};
    ts[1] = {a.mtime_ns / 1'000'000'000, a.mtime_ns % 1'000'000'000};
    if (::futimens(fd, ts) != 0) return Status::from_errno(errno, "set the times of " + name);
  }
  return Status::ok();
}

}  // namespace

Result<FetchFileResult> fetch_file(Channel& ch, const FetchFileArgs& args) {
  FetchFileResult result;
  core::UniqueFd basis(::openat(args.dir_fd, args.name.c_str(),
                                O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  struct stat bst;
  if (basis.get() >= 0 && (::fstat(basis.get(), &bst) != 0 || !S_ISREG(bst.st_mode))) {
    basis = core::UniqueFd();
  }
  result.had_basis = basis.get() >= 0;
  const uint64_t id = args.request_id;
  MIRRORFS_RETURN_IF_ERROR(
      ch.send(wire::Message{id, wire::FetchBegin{args.mirror_path, result.had_basis}}));
  if (result.had_basis) {
    MIRRORFS_RETURN_IF_ERROR(
        send_signature(ch, id, basis.get(), static_cast<uint64_t>(bst.st_size)));
  }

  TempFile tmp(args.dir_fd, args.name);
  Status local = tmp.open();  // a local failure: the answer is still drained
  const std::vector<uint8_t> nothing;
  std::unique_ptr<core::BasisReader> reader =
      result.had_basis ? core::new_fd_basis_reader(basis.get())
                       : core::new_memory_basis_reader(nothing);
  core::Stats stats;
  std::unique_ptr<core::Job> patch = core::new_patch_job(reader.get(), &stats);
  core::ContentHasher hasher;
  JobPump pump(*patch, kReadChunk, [&](std::span<const uint8_t> out) {
    hasher.update(out.data(), out.size());
    return core::write_full(tmp.fd(), out.data(), out.size());
  });
  for (;;) {
    MIRRORFS_ASSIGN_OR_RETURN(m, ch.receive(args.timeout));
    if (m.request_id != id) {
      MIRRORFS_RETURN_IF_ERROR(ended_by_mirror(ch, m));
      return Status::corrupt("mirror answered request " + std::to_string(m.request_id) +
                             " while fetch " + std::to_string(id) + " was open");
    }
    if (const auto* d = std::get_if<wire::FetchData>(&m.body)) {
      if (local.is_ok()) local = pump.run(d->bytes.data(), d->bytes.size(), false);
      continue;
    }
    if (const auto* e = std::get_if<wire::Error>(&m.body)) {
      return Status(static_cast<Code>(e->code), "mirror: " + e->message, e->err);
    }
    const auto* end = std::get_if<wire::FetchEnd>(&m.body);
    if (end == nullptr) {
      return Status::corrupt(std::string("mirror answered a fetch with ") +
                             wire::type_name(wire::type_of(m)));
    }
    MIRRORFS_RETURN_IF_ERROR(local);
    MIRRORFS_RETURN_IF_ERROR(pump.run(nullptr, 0, true));
    if (hasher.size() != end->size || hasher.finish() != end->hash) {
      return Status::corrupt("fetch " + args.mirror_path +
                             ": the result does not have the mirror's content hash");
    }
    result.size = end->size;
    MIRRORFS_RETURN_IF_ERROR(set_attrs(tmp.fd(), end->attrs, args.set_owner, args.mirror_path));
    if (::fsync(tmp.fd()) != 0) return Status::from_errno(errno, "fsync " + args.mirror_path);
    MIRRORFS_RETURN_IF_ERROR(tmp.commit());
    result.literal_bytes = stats.literal_bytes;
    result.copied_bytes = stats.copy_bytes;
    return result;
  }
}

}  // namespace mirrorfs::replicator

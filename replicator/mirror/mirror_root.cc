#include "replicator/mirror/mirror_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::mirror {
namespace {

// glibc 2.36 has no openat2 wrapper.
int sys_openat2(int dirfd, const char* path, uint64_t flags) {
  open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = flags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    // EAGAIN: a concurrent rename raced the lookup; RESOLVE_BENEATH asks
    // the caller to retry.
    if (fd < 0 && (errno == EINTR || (errno == EAGAIN && attempt < 16))) {
      continue;
    }
    return static_cast<int>(fd);
  }
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status sys_error(int err, std::string_view what, std::string_view path) {
  std::string msg(what);
  msg += ' ';
  msg += path;
  msg += ": ";
  msg += std::strerror(err);
  Code code = Code::kIoError;
  if (err == ENOENT || err == ENOTDIR) code = Code::kNotFound;
  if (err == EEXIST) code = Code::kAlreadyExists;
  return Status(code, std::move(msg), err);
}

Status check_rel_path(std::string_view path) {
  auto bad = [&](std::string_view why) {
    std::string shown(path.substr(0, 256));
    for (char& c : shown) {
      if (c == '\0') c = '?';
    }
    return Status::invalid_argument("refused path \"" + shown +
                                    "\": " + std::string(why));
  };
  if (path.empty()) return bad("empty");
  if (path.size() > wire::kMaxPath) return bad("too long");
  if (path.find('\0') != std::string_view::npos) return bad("contains NUL");
  if (path.front() == '/') return bad("absolute");
  size_t start = 0;
  for (;;) {
    const size_t end = path.find('/', start);
    const std::string_view comp = path.substr(
        start,
        end == std::string_view::npos ? std::string_view::npos : end - start);
    if (comp.empty()) return bad("empty component");
    if (comp == "." || comp == "..") return bad("\".\" or \"..\" component");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::ok();
}

Result<std::unique_ptr<MirrorRoot>> MirrorRoot::open(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return sys_error(errno, "open mirror root", root);
  UniqueFd probe(sys_openat2(fd.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!probe.valid()) {
    const int err = errno;
    if (err == ENOSYS) {
      return Status(Code::kUnsupported,
                    "this kernel lacks openat2 (Linux 5.6 or later needed to "
                    "confine the mirror beneath its root)",
                    err);
    }
    return sys_error(err, "open mirror root", root);
  }
  return std::unique_ptr<MirrorRoot>(new MirrorRoot(std::move(fd), root));
}

Result<UniqueFd> MirrorRoot::open_dir(std::string_view dir,
                                      std::string_view path) const {
  const std::string d = dir.empty() ? std::string(".") : std::string(dir);
  UniqueFd fd(
      sys_openat2(fd_.get(), d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) return fd;
  const int err = errno;
  if (err == ELOOP) {
    return Status(Code::kInvalidArgument,
                  "refused path \"" + std::string(path) +
                      "\": a directory on the way is a symlink (the mirror "
                      "never follows symlinks)",
                  err);
  }
  if (err == EXDEV) {
    return Status(Code::kInvalidArgument,
                  "refused path \"" + std::string(path) +
                      "\": it leads outside the mirror root",
                  err);
  }
  return sys_error(err, "open parent directory of", path);
}

Result<Entry> MirrorRoot::entry(std::string_view path) const {
  MIRRORFS_RETURN_IF_ERROR(check_rel_path(path));
  const size_t slash = path.rfind('/');
  const std::string_view dir = slash == std::string_view::npos
                                   ? std::string_view()
                                   : path.substr(0, slash);
  Result<UniqueFd> fd = open_dir(dir, path);
  if (!fd.is_ok()) return fd.status();
  Entry e;
  e.dir = std::move(*fd);
  e.name = std::string(
      slash == std::string_view::npos ? path : path.substr(slash + 1));
  e.path = std::string(path);
  return e;
}

Result<Entry> MirrorRoot::root_entry() const {
  Result<UniqueFd> fd = open_dir(std::string_view(), ".");
  if (!fd.is_ok()) return fd.status();
  Entry e;
  e.dir = std::move(*fd);
  e.name = ".";
  e.path = ".";
  return e;
}

}  // namespace mirrorfs::replicator::mirror

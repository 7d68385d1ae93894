#include "replicator/mirror/node_ops.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "db/attr_payload.h"

namespace mirrorfs::replicator::mirror {
namespace {

using db::AttrPayload;

timespec to_timespec(int64_t ns) {
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {  // floor, so tv_nsec is in [0, 1e9)
    rem += 1000000000;
    --sec;
  }
  return timespec{static_cast<time_t>(sec), static_cast<long>(rem)};
}

// The utimensat/futimens argument for a's times; false if none is set.
bool times_of(const wire::Attrs& a, timespec ts[2]) {
  if (!(a.valid & (AttrPayload::kAtime | AttrPayload::kMtime))) return false;
  ts[0] = (a.valid & AttrPayload::kAtime) ? to_timespec(a.atime_ns)
                                          : timespec{0, UTIME_OMIT};
  ts[1] = (a.valid & AttrPayload::kMtime) ? to_timespec(a.mtime_ns)
                                          : timespec{0, UTIME_OMIT};
  return true;
}

uid_t owner_uid(const wire::Attrs& a) {
  return (a.valid & AttrPayload::kUid) ? a.uid : static_cast<uid_t>(-1);
}
gid_t owner_gid(const wire::Attrs& a) {
  return (a.valid & AttrPayload::kGid) ? a.gid : static_cast<gid_t>(-1);
}
bool sets_owner(const wire::Attrs& a, bool set_owner) {
  return set_owner && (a.valid & (AttrPayload::kUid | AttrPayload::kGid));
}

}  // namespace

Result<std::optional<struct stat>> stat_entry(const Entry& e) {
  struct stat st;
  if (::fstatat(e.dir.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return std::optional<struct stat>(st);
  }
  if (errno == ENOENT) return std::optional<struct stat>();
  return sys_error(errno, "stat", e.path);
}

Result<UniqueFd> pin_entry(const Entry& e) {
  UniqueFd fd(
      ::openat(e.dir.get(), e.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return sys_error(errno, "open", e.path);
  return fd;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<std::optional<UniqueFd>> open_regular(const Entry& e, struct stat* out) {
  UniqueFd pin(
      ::openat(e.dir.get(), e.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!pin.valid()) {
    if (errno == ENOENT) return std::optional<UniqueFd>();
    return sys_error(errno, "open", e.path);
  }
  struct stat st;
  if (::fstat(pin.get(), &st) != 0) return sys_error(errno, "stat", e.path);
  if (!S_ISREG(st.st_mode)) return std::optional<UniqueFd>();
  // Reopened through the pinned inode: the type checked is the type read.
  UniqueFd fd(::open(fd_path(pin.get()).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error(errno, "open", e.path);
  if (out) *out = st;
  return std::optional<UniqueFd>(std::move(fd));
}

Status set_attrs(const Entry& e, const wire::Attrs& a, bool set_owner) {
  const char* name = e.name.c_str();
  if (sets_owner(a, set_owner) &&
      ::fchownat(e.dir.get(), name, owner_uid(a), owner_gid(a),
                 AT_SYMLINK_NOFOLLOW) != 0) {
    return sys_error(errno, "chown", e.path);
  }
  // After chown, which clears set-user-ID and set-group-ID bits.
  if (a.valid & AttrPayload::kMode) {
    Result<UniqueFd> pin = pin_entry(e);
    if (!pin.is_ok()) return pin.status();
    struct stat st;
    if (::fstat(pin->get(), &st) != 0) return sys_error(errno, "stat", e.path);
    if (!S_ISLNK(st.st_mode) &&
        ::chmod(fd_path(pin->get()).c_str(), a.mode & 07777) != 0) {
      return sys_error(errno, "chmod", e.path);
    }
  }
  timespec ts[2];
  if (times_of(a, ts) &&
      ::utimensat(e.dir.get(), name, ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return sys_error(errno, "set times of", e.path);
  }
  return Status::ok();
}

Status set_attrs_fd(int fd, const wire::Attrs& a, bool set_owner,
                    std::string_view path) {
  if (sets_owner(a, set_owner) &&
      ::fchown(fd, owner_uid(a), owner_gid(a)) != 0) {
    return sys_error(errno, "chown", path);
  }
  if ((a.valid & AttrPayload::kMode) && ::fchmod(fd, a.mode & 07777) != 0) {
    return sys_error(errno, "chmod", path);
  }
  timespec ts[2];
  if (times_of(a, ts) && ::futimens(fd, ts) != 0) {
    return sys_error(errno, "set times of", path);
  }
  return Status::ok();
}

Status check_xattr(std::string_view name, std::span<const uint8_t> value) {
  if (name.empty() || name.size() > wire::kMaxXattrName ||
      name.find('\0') != std::string_view::npos) {
    return Status::invalid_argument("refused xattr name (empty, NUL or over " +
                                    std::to_string(wire::kMaxXattrName) +
                                    " bytes)");
  }
  if (value.size() > wire::kMaxXattrValue) {
    return Status::invalid_argument(
        "xattr value over " + std::to_string(wire::kMaxXattrValue) + " bytes");
  }
  return Status::ok();
}

Status set_xattr(const Entry& e, std::string_view name,
                 std::span<const uint8_t> value) {
  MIRRORFS_RETURN_IF_ERROR(check_xattr(name, value));
  Result<UniqueFd> pin = pin_entry(e);
  if (!pin.is_ok()) return pin.status();
  const std::string n(name);
  if (::setxattr(fd_path(pin->get()).c_str(), n.c_str(), value.data(),
                 value.size(), 0) != 0) {
    return sys_error(errno, "setxattr " + n + " on", e.path);
  }
  return Status::ok();
}

Status remove_xattr(const Entry& e, std::string_view name) {
  MIRRORFS_RETURN_IF_ERROR(check_xattr(name, {}));
  Result<UniqueFd> pin = pin_entry(e);
  if (!pin.is_ok()) return pin.status();
  const std::string n(name);
  if (::removexattr(fd_path(pin->get()).c_str(), n.c_str()) != 0 &&
      errno != ENODATA) {
    return sys_error(errno, "removexattr " + n + " on", e.path);
  }
  return Status::ok();
}

Status copy_xattrs(int from, int to, std::string_view path) {
  const std::string src = fd_path(from);
  std::vector<char> names;
  for (;;) {  // the list may grow between the two calls: retry
    const ssize_t n = ::listxattr(src.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return Status::ok();  // none can exist
      return sys_error(errno, "list xattrs of", path);
    }
    names.resize(static_cast<size_t>(n));
    const ssize_t got = ::listxattr(src.c_str(), names.data(), names.size());
    if (got >= 0) {
      names.resize(static_cast<size_t>(got));
      break;
    }
    if (errno != ERANGE) return sys_error(errno, "list xattrs of", path);
  }
  std::vector<uint8_t> value;
  for (size_t i = 0; i < names.size();) {
    const char* name = names.data() + i;
    const size_t len = ::strnlen(name, names.size() - i);
    i += len + 1;
    if (len == 0) continue;
    ssize_t n;
    for (;;) {
      n = ::getxattr(src.c_str(), name, nullptr, 0);
      if (n < 0) break;
      value.resize(static_cast<size_t>(n));
      n = ::getxattr(src.c_str(), name, value.data(), value.size());
      if (n >= 0 || errno != ERANGE) break;
    }
    if (n < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return sys_error(errno, std::string("read xattr ") + name + " of", path);
    }
    if (::fsetxattr(to, name, value.data(), static_cast<size_t>(n), 0) != 0) {
      return sys_error(errno, std::string("copy xattr ") + name + " to", path);
    }
  }
  return Status::ok();
}

std::string temp_name() {
  uint8_t r[6];
  size_t have = 0;
  while (have < sizeof r) {
    const ssize_t n = ::getrandom(r + have, sizeof r - have, 0);
    if (n > 0) have += static_cast<size_t>(n);
  }
  char hex[2 * sizeof r + 1];
  for (size_t i = 0; i < sizeof r; ++i) {
    std::snprintf(hex + 2 * i, 3, "%02x", r[i]);
  }
  return std::string(".mirrorfs-tmp-") + hex;
}

Status create_and_replace(const Entry& e,
                          const std::function<int(int, const char*)>& make,
                          std::string_view what) {
  std::string tmp;
  for (int attempt = 0;; ++attempt) {
    tmp = temp_name();
    if (make(e.dir.get(), tmp.c_str()) == 0) break;
    if (errno != EEXIST || attempt == 100) {
      return sys_error(errno, what, e.path);
    }
  }
  if (::renameat(e.dir.get(), tmp.c_str(), e.dir.get(), e.name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(e.dir.get(), tmp.c_str(), 0);
    return sys_error(err, std::string(what) + ": rename into place", e.path);
  }
  return Status::ok();
}

}  // namespace mirrorfs::replicator::mirror

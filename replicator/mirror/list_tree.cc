// Applier::list: a streamed, pre-order walk of a subtree beneath ROOT that
// never follows a symlink (each directory is opened by one component,
// O_NOFOLLOW, relative to its already-open parent), and the catalog
// look-up that gives a listed file its hash without reading it.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/list_entry.h"

namespace mirrorfs::replicator::mirror {
namespace {

// One directory being read, and the wire path of what it holds ("" for
// ROOT). Owns its DIR stream.
struct Level {
  DIR* dir = nullptr;
  std::string prefix;
};

struct Levels {
  std::vector<Level> stack;
  ~Levels() {
    for (Level& l : stack) ::closedir(l.dir);
  }
  // Takes `fd` (an open directory): pushed, or closed on failure.
  Status push(int fd, std::string prefix, std::string_view path) {
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      const int err = errno;
      ::close(fd);
      return sys_error(err, "list", path);
    }
    stack.push_back(Level{d, std::move(prefix)});
    return Status::ok();
  }
  void pop() {
    ::closedir(stack.back().dir);
    stack.pop_back();
  }
};

// The symlink `name` in dir_fd's text, "" if it cannot be read (gone,
// replaced): such an entry is left out.
std::string read_target(int dir_fd, const char* name) {
  char buf[wire::kMaxPath + 1];
  const ssize_t n = ::readlinkat(dir_fd, name, buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) > wire::kMaxPath) return "";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

std::optional<core::ContentHash> ApplierImpl::known_hash(const struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<db::MirrorFileRow>> row = catalog_->file(st.st_ino);
  if (!row.is_ok() || !row->has_value()) return std::nullopt;
  const db::MirrorFileRow& r = **row;
  if (r.size != static_cast<uint64_t>(st.st_size) || r.mtime_ns != mtime_ns(st) ||
      r.ctime_ns != ctime_ns(st)) {
    return std::nullopt;  // a stale row is never trusted
  }
  return r.hash;
}

Status ApplierImpl::list(std::string_view path, bool rehash,
                         const std::function<Status(const wire::ListEntry&)>& sink) {
  Result<Entry> e = entry_or_root(path);
  if (!e.is_ok()) return e.status();
  const int top = ::openat(e->dir.get(), e->name.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (top < 0) {
    const int err = errno;
    // A symlink or any other non-directory at `path` is "not a directory".
    return sys_error(err == ELOOP ? ENOTDIR : err, "list", path);
  }
  Levels levels;
  MIRRORFS_RETURN_IF_ERROR(
      levels.push(top, path == "." ? std::string() : std::string(path) + "/", path));
  while (!levels.stack.empty()) {
    Level& level = levels.stack.back();
    errno = 0;
    const dirent* d = ::readdir(level.dir);
    if (d == nullptr) {
      if (errno != 0) return sys_error(errno, "list", level.prefix);
      levels.pop();
      continue;
    }
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    const int dir_fd = ::dirfd(level.dir);
    wire::ListEntry out;
    out.path = level.prefix + d->d_name;
    if (out.path.size() > wire::kMaxPath) {
      return Status(Code::kOutOfRange, "list " + std::string(path) + ": a path of " +
                                           std::to_string(out.path.size()) +
                                           " bytes is longer than the protocol's limit");
    }
    struct stat st;
    if (::fstatat(dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // gone while listed
      return sys_error(errno, "stat", out.path);
    }
    out = list_entry_of(std::move(out.path), st);
    if (S_ISLNK(st.st_mode)) {
      out.target = read_target(dir_fd, d->d_name);
      if (out.target.empty()) continue;
    } else if (S_ISREG(st.st_mode)) {
      const std::optional<core::ContentHash> h =
          rehash ? hash_if_stable(dir_fd, d->d_name, st.st_ino) : known_hash(st);
      if (h) {
        out.has_hash = true;
        std::copy(h->begin(), h->end(), out.hash.begin());
      }
    }
    MIRRORFS_RETURN_IF_ERROR(sink(out));
    if (!S_ISDIR(st.st_mode)) continue;
    const int sub = ::openat(dir_fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      // Replaced by something else (or removed) since the stat.
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
      return sys_error(errno, "list", out.path);
    }
    // `level` may move with the stack: nothing of it is used after this.
    MIRRORFS_RETURN_IF_ERROR(levels.push(sub, out.path + "/", out.path));
  }
  return Status::ok();
}

}  // namespace mirrorfs::replicator::mirror

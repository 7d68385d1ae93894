// Confinement of the mirror: every path a client sends is checked and
// resolved beneath ROOT without following a symlink anywhere, so no
// request reads or writes outside ROOT whatever ROOT contains (invariant 4).
//
// How: a client path is relative, at most wire::kMaxPath bytes, with no
// empty, "." or ".." component and no NUL. Its parent directory is opened
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS) relative to ROOT, which fails on any symlink on
// the way (even one pointing inside ROOT: the source journals real paths,
// so a mirror never needs to traverse one) and on any escape. The final
// component is then used only through *at() calls that never follow it
// (node_ops.h). Private to replicator/mirror/.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace mirrorfs::replicator::mirror {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// The one place errno becomes a Status in this folder: "what path:
// strerror", errno kept; ENOENT and ENOTDIR (a component is missing or
// not a directory) are kNotFound, EEXIST kAlreadyExists, the rest
// kIoError. REQUIRES: err was read before any call that may overwrite it.
Status sys_error(int err, std::string_view what, std::string_view path);

// OK if `path` is a relative client path the mirror accepts (see above);
// otherwise kInvalidArgument naming the fault.
Status check_rel_path(std::string_view path);

// A client path resolved to its parent directory and final name.
struct Entry {
  UniqueFd dir;      // O_PATH fd of the parent directory, beneath ROOT
  std::string name;  // the final component: never followed
  std::string path;  // the client's path, for messages
};

class MirrorRoot {
 public:
  // Opens ROOT (which must be a directory; it may itself be reached
  // through symlinks: the operator chose it). kUnsupported if the kernel
  // lacks openat2 (Linux >= 5.6).
  static Result<std::unique_ptr<MirrorRoot>> open(const std::string& root);
  ~MirrorRoot() = default;

  int fd() const { return fd_.get(); }  // O_RDONLY directory fd of ROOT
  const std::string& path() const { return path_; }

  // Checks `path` and opens its parent beneath ROOT. Errors:
  // kInvalidArgument for a bad path, a symlink on the way (err ELOOP) or
  // an escape (EXDEV); kNotFound when a parent component is missing or
  // not a directory.
  Result<Entry> entry(std::string_view path) const;

  // ROOT itself as an entry (dir = ROOT, name "."), for the operations
  // that may name the root, "." on the wire: setattr and xattrs.
  Result<Entry> root_entry() const;

 private:
  MirrorRoot(UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  // openat2 beneath ROOT with O_PATH | O_DIRECTORY; dir "" is ROOT.
  Result<UniqueFd> open_dir(std::string_view dir, std::string_view path) const;

  UniqueFd fd_;
  std::string path_;
};

}  // namespace mirrorfs::replicator::mirror

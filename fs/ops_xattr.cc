// Extended attributes, through /proc/self/fd/N of the inode's O_PATH fd,
// pinned for the call (the f*xattr calls refuse O_PATH fds; the magic link
// reaches the inode itself, a symlink included, without following it
// further).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <vector>

#include "fs/passthrough.h"

namespace mirrorfs::fs {
namespace {

using db::JournalKind;

// A size query (size 0) replies with the size; otherwise with the bytes,
// or ERANGE if they do not fit, as getxattr(2) does.
void reply_sized(fuse_req_t req, size_t size, ssize_t n,
                 const std::vector<char>& buf) {
  if (n < 0) {
    reply_err(req, errno);
  } else if (size == 0) {
    fuse_reply_xattr(req, static_cast<size_t>(n));
  } else {
    fuse_reply_buf(req, buf.data(), static_cast<size_t>(n));
  }
}

void do_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name,
                 size_t size) {
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  const std::string path = proc_path(fd.get());
  std::vector<char> buf(size);
  const ssize_t n = ::getxattr(path.c_str(), name,
                               size ? buf.data() : nullptr, size);
  reply_sized(req, size, n, buf);
}

void do_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  const std::string path = proc_path(fd.get());
  std::vector<char> buf(size);
  const ssize_t n =
      ::listxattr(path.c_str(), size ? buf.data() : nullptr, size);
  reply_sized(req, size, n, buf);
}

void record_xattr(fuse_req_t req, Inode& inode, int fd, JournalKind kind,
                  const char* name, const char* value, size_t size) {
  Change c;
  c.kind = kind;
  c.ino = inode.ino;
  c.text = name;
  c.data.assign(value, value + size);
  // xattr changes move the ctime the start-up scan compares.
  c.has_stat = ::fstatat(fd, "", &c.st,
                         AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
  context(req).recorder->record(std::move(c), /*wait=*/false);
}

void do_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name,
                 const char* value, size_t size, int flags) {
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  const std::string path = proc_path(fd.get());
  if (::setxattr(path.c_str(), name, value, size, flags) < 0) {
    reply_err(req, errno);
    return;
  }
  record_xattr(req, inode_of(req, ino), fd.get(), JournalKind::kSetxattr,
               name, value, size);
  reply_err(req, 0);
}

void do_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  const InodeFd fd = pin_or_reply(req, ino);
  if (!fd.ok()) return;
  const std::string path = proc_path(fd.get());
  if (::removexattr(path.c_str(), name) < 0) {
    reply_err(req, errno);
    return;
  }
  record_xattr(req, inode_of(req, ino), fd.get(), JournalKind::kRemovexattr,
               name, nullptr, 0);
  reply_err(req, 0);
}

}  // namespace

void add_xattr_ops(fuse_lowlevel_ops& ops) {
  ops.getxattr = do_getxattr;
  ops.listxattr = do_listxattr;
  ops.setxattr = do_setxattr;
  ops.removexattr = do_removexattr;
}

}  // namespace mirrorfs::fs

// The FUSE low-level handlers of the mount (shared declarations). After
// libfuse's passthrough_hp: every handler works on the backing file
// through the inode's O_PATH fd, pinned for the call (an InodeFd from
// the table: the inode may have no descriptor open until then), or
// through the open fd of a file handle, and passes the backing
// filesystem's errno back exactly, once.
//
// Handlers live in ops_entry.cc (names and attributes), ops_file.cc
// (open files), ops_dir.cc (directory streams) and ops_xattr.cc; each
// adds its handlers to the table with add_*_ops().
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "fs/inode_table.h"
#include "fs/op_stats.h"
#include "fs/recorder.h"

namespace mirrorfs::fs {

// What fuse_file_info::fh points to: an open file (OpenFile) or
// directory. FsContext keeps every one until the kernel releases it, and
// frees those still open when the session ends (the kernel sends no
// RELEASE for them).
class OpenHandle {
 public:
  OpenHandle() = default;
  virtual ~OpenHandle() = default;
  OpenHandle(const OpenHandle&) = delete;
  OpenHandle& operator=(const OpenHandle&) = delete;

 private:
  friend struct FsContext;
  OpenHandle* prev_ = nullptr;  // FsContext's list; guarded by handles_mu_
  OpenHandle* next_ = nullptr;
};

struct FsContext {
  FsContext(int root_fd, const struct stat& root_st,
            const InodeTable::Options& opt)
      : inodes(root_fd, root_st, opt) {}
  // Frees the handles still open. REQUIRES: the session has ended.
  ~FsContext();
  FsContext(const FsContext&) = delete;
  FsContext& operator=(const FsContext&) = delete;

  // Keeps `h` (owned from now on) until drop_handle; returns it as a
  // fuse_file_info::fh.
  uint64_t add_handle(OpenHandle* h);
  // The kernel released `h`: frees it (closing its descriptors).
  void drop_handle(OpenHandle* h);

  InodeTable inodes;
  Recorder* recorder = nullptr;  // set before the session starts
  double entry_timeout = 1.0;    // seconds the kernel may cache a name
  double attr_timeout = 1.0;     // ... and attributes
  bool as_caller = false;  // create files as the calling user (when root)
  OpStats* op_stats = nullptr;  // not owned; set: every operation counted

 private:
  std::mutex handles_mu_;
  OpenHandle* handles_ = nullptr;  // guarded by handles_mu_
};

inline FsContext& context(fuse_req_t req) {
  return *static_cast<FsContext*>(fuse_req_userdata(req));
}
inline Inode& inode_of(fuse_req_t req, fuse_ino_t ino) {
  return context(req).inodes.get(ino);
}

// The descriptor of the inode `id`, pinned; if it cannot be had, replies
// the error to `req` and returns a failed InodeFd (!ok()).
inline InodeFd pin_or_reply(fuse_req_t req, fuse_ino_t id) {
  InodeFd fd = pin_fd(inode_of(req, id));
  if (!fd.ok()) reply_err(req, fd.error());
  return fd;
}

// "/proc/self/fd/N": reaches the file an O_PATH fd names, for the calls
// that take no fd (chmod, truncate, open, xattrs).
std::string proc_path(int fd);

// Looks `name` up in the directory `parent_fd` (a pinned descriptor),
// counts a kernel lookup of the result and fills `e` for a reply. Returns
// 0 or an errno.
int lookup_entry(FsContext& fs, int parent_fd, const char* name,
                 fuse_entry_param* e);

// An open file (fuse_file_info::fh): its backing descriptor, and its
// inode's descriptor pinned while it is open, so that the file stays
// reachable (fstat, fchmod, xattrs through the mount) even once unlinked,
// whether or not its handle still opens.
struct OpenFile : OpenHandle {
  OpenFile(int fd, InodeFd inode_fd) : fd(fd), inode_fd(std::move(inode_fd)) {}
  ~OpenFile() override { ::close(fd); }

  const int fd;  // owned
  InodeFd inode_fd;
};
inline OpenFile& open_file(fuse_file_info* fi) {
  return *static_cast<OpenFile*>(reinterpret_cast<OpenHandle*>(fi->fh));
}

// While alive, this thread creates files as the caller of `req` (fsuid,
// fsgid and supplementary groups), when the mount runs as root for
// several users: new files belong to whoever made them, setgid
// directories work as on a local disk, and a directory the caller may
// write through one of its groups is writable for the backing call too.
class AsCaller {
 public:
  AsCaller(FsContext& fs, fuse_req_t req);
  ~AsCaller();
  AsCaller(const AsCaller&) = delete;
  AsCaller& operator=(const AsCaller&) = delete;

 private:
  bool active_ = false;
  std::vector<gid_t> own_groups_;  // this thread's groups, restored after
};

void add_entry_ops(fuse_lowlevel_ops& ops);
void add_file_ops(fuse_lowlevel_ops& ops);
void add_dir_ops(fuse_lowlevel_ops& ops);
void add_xattr_ops(fuse_lowlevel_ops& ops);

}  // namespace mirrorfs::fs

// One backing inode the kernel knows (see inode_table.h): its identity,
// how the mount reaches it, and the ranges written to it.
//
// An inode is reached in one of two ways, fixed when it is made:
// - a permanent O_PATH descriptor (the root; every inode when file
//   handles cannot be used, see inode_table.h);
// - a file handle, reopened on demand through the FdCache, which keeps a
//   bounded number of descriptors open (fd_cache.h).
// Either way, code that needs the descriptor pins it with an InodeFd.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>

#include "fs/extent_set.h"
#include "fs/file_handle.h"

namespace mirrorfs::fs {

class FdCache;
class InodeFd;

struct Inode : std::enable_shared_from_this<Inode> {
  // Reached through `fixed_fd` (an O_PATH | O_NOFOLLOW fd; owned) for its
  // whole life.
  Inode(FdCache& cache, int fixed_fd, dev_t dev, ino_t ino, mode_t type);
  // Reached through `handle`, opened on `mount_fd` (not owned: the table
  // keeps it open longer than any inode lives).
  Inode(FdCache& cache, FileHandle handle, int mount_fd, dev_t dev, ino_t ino,
        mode_t type);
  // Closes the inode's descriptors. REQUIRES: no InodeFd of it is alive.
  ~Inode();
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  const dev_t dev;
  const ino_t ino;
  const mode_t type;  // S_IFMT bits

  // How it is reopened; empty for an inode with a permanent descriptor.
  const FileHandle& handle() const { return handle_; }

  std::mutex mu;              // guards the two below
  ExtentSet written;          // written since the last extent commit
  bool dirty_marked = false;  // a kDirty row is queued for this write burst

 private:
  friend class FdCache;
  friend class InodeFd;
  friend InodeFd pin_fd(Inode& inode);

  FdCache& cache_;
  const int fixed_fd_;       // >= 0: the permanent fd (owned); no handle
  const FileHandle handle_;  // used when fixed_fd_ < 0
  const int mount_fd_;       // where handle_ is opened (not owned)

  // The cached descriptor: guarded by cache_.mu_ (FdCache's lock), and
  // unused when fixed_fd_ >= 0.
  int fd_ = -1;        // open O_PATH fd, or -1
  uint32_t pins_ = 0;  // live InodeFds, plus one while kept_
  bool kept_ = false;  // fd_ stays open until the inode dies
  // The LRU list of unpinned open descriptors: linked iff fd_ >= 0 and
  // pins_ == 0.
  Inode* lru_prev_ = nullptr;
  Inode* lru_next_ = nullptr;
};

}  // namespace mirrorfs::fs

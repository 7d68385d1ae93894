// The mount's inode table, after libfuse's passthrough_hp: one Inode per
// backing (st_dev, st_ino), holding one O_PATH fd, named to the kernel by
// its address (the FUSE node id) and alive while the kernel holds lookups
// on it (the `forget` contract) or someone holds a shared_ptr to it.
//
// Keying by backing inode (not by path) is what keeps the attributes of a
// hard-linked file fresh through all of its names: one node id, one cache.
//
// Lock order: InodeTable::mu_ before Inode::mu before Recorder's mutexes.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "fs/extent_set.h"

namespace mirrorfs::fs {

struct Inode : std::enable_shared_from_this<Inode> {
  Inode(int fd, dev_t dev, ino_t ino, mode_t type)
      : fd(fd), dev(dev), ino(ino), type(type) {}
  ~Inode();
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  const int fd;  // O_PATH | O_NOFOLLOW; owned
  const dev_t dev;
  const ino_t ino;
  const mode_t type;  // S_IFMT bits

  std::mutex mu;        // guards the two below
  ExtentSet written;    // written since the last extent commit
  bool dirty_marked = false;  // a kDirty row is queued for this write burst
};

class InodeTable {
 public:
  // Takes ownership of root_fd (an O_PATH fd of the backing root).
  InodeTable(int root_fd, const struct stat& root_st);

  // The inode the kernel calls `id`. REQUIRES: the kernel holds a lookup
  // on it (every request but forget names such an id).
  Inode& get(fuse_ino_t id) {
    return id == FUSE_ROOT_ID ? *root_ : *reinterpret_cast<Inode*>(id);
  }
  Inode& root() { return *root_; }

  // Counts one lookup of the backing file `st` names, opened as `fd` (an
  // O_PATH fd: owned; closed here if the inode is already known), and
  // returns the node id to give the kernel.
  fuse_ino_t learn(int fd, const struct stat& st);
  // The kernel dropped n lookups of `id`.
  void forget(fuse_ino_t id, uint64_t n);
  // The inode of a backing file, if the kernel knows it (for refreshing
  // attributes after an operation elsewhere changed them), else null.
  std::shared_ptr<Inode> find(dev_t dev, ino_t ino);

 private:
  struct Entry {
    std::shared_ptr<Inode> inode;
    uint64_t nlookup = 0;
  };
  std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, Entry> entries_;  // guarded by mu_
  std::shared_ptr<Inode> root_;
};

}  // namespace mirrorfs::fs

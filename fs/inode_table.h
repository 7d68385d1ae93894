// The mount's inode table, after libfuse's passthrough_hp: one Inode per
// backing (st_dev, st_ino), named to the kernel by its address (the FUSE
// node id) and alive while the kernel holds lookups on it (the `forget`
// contract) or someone holds a shared_ptr to it.
//
// Keying by backing inode (not by path) is what keeps the attributes of a
// hard-linked file fresh through all of its names: one node id, one cache.
// An inode number names one file only while that file exists: a known
// inode whose descriptor is closed may have been deleted behind the mount
// and its number reused, so a lookup that meets it compares handles, and
// a mismatch gives the new file a new Inode (the old one is detached,
// kept for the kernel's lookups until FORGET).
//
// Descriptors: passthrough_hp keeps one O_PATH fd per inode, so the
// daemon runs out of descriptors once the kernel holds more inodes than
// the open-file limit (after a `find` over a large tree). This table
// keeps a file handle per inode instead (name_to_handle_at, a few bytes)
// and a bounded LRU of open descriptors (fd_cache.h), reopening by handle
// on a miss. That needs CAP_DAC_READ_SEARCH and a file system with
// handles: both are probed once at start (and once per other file system
// mounted inside BACKING); where either is missing, every inode of that
// mount keeps a permanent descriptor, as passthrough_hp does (logged).
// The root keeps its descriptor always.
//
// Lock order (each a leaf held for a few pointer or map operations, none
// held while another is taken, no system call under any):
//   InodeTable::mu_, InodeTable::mounts_mu_, FdCache::mu_.
// Inode::mu (extents) may be held while taking FdCache::mu_ (pinning),
// and is taken before the Recorder's mutex.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "fs/fd_cache.h"
#include "fs/inode.h"

namespace mirrorfs::fs {

class InodeTable {
 public:
  struct Options {
    // Unpinned descriptors kept open for inodes reached by handle.
    size_t fd_cache_size = 4096;
    // false: one permanent descriptor per inode (what a mount without
    // CAP_DAC_READ_SEARCH does anyway).
    bool file_handles = true;
  };

  // Takes ownership of root_fd (an O_PATH fd of the backing root). Probes
  // whether inodes can be reached by handle, and logs the outcome once.
  InodeTable(int root_fd, const struct stat& root_st, const Options& opt);
  // REQUIRES: no Inode of the table is held elsewhere (the Recorder is
  // stopped).
  ~InodeTable();
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  // The inode the kernel calls `id`. REQUIRES: the kernel holds a lookup
  // on it (every request but forget names such an id).
  Inode& get(fuse_ino_t id) {
    return id == FUSE_ROOT_ID ? *root_ : *reinterpret_cast<Inode*>(id);
  }
  Inode& root() { return *root_; }

  // Keeps a pinned descriptor until the inode dies (FdCache::keep).
  void keep(InodeFd pin) { cache_.keep(std::move(pin)); }

  // Counts one lookup of the backing file `st` names, opened as `fd` (an
  // O_PATH | O_NOFOLLOW fd: owned; cached or closed here), and returns the
  // node id to give the kernel.
  fuse_ino_t learn(int fd, const struct stat& st);
  // The kernel dropped n lookups of `id`.
  void forget(fuse_ino_t id, uint64_t n);
  // The inode of a backing file, if the kernel knows it (for refreshing
  // attributes after an operation elsewhere changed them), else null.
  std::shared_ptr<Inode> find(dev_t dev, ino_t ino);

  // After an open failed with `err`: if the process ran out of
  // descriptors (EMFILE, ENFILE), closes the cache's unpinned ones and
  // returns true (worth one more try). errno is kept when it returns
  // false.
  bool make_room(int err) {
    if (err != EMFILE && err != ENFILE) return false;
    cache_.shed();
    return true;
  }

  // Whether inodes of BACKING's own file system are reached by handle.
  bool file_handles() const { return handles_; }
  FdCache::Stats fd_stats() const { return cache_.stats(); }

 private:
  struct Entry {
    std::shared_ptr<Inode> inode;
    uint64_t nlookup = 0;
  };
  // REQUIRES: mu_ held. Drops n lookups of `inode` (in entries_ or
  // detached_); the last one moves it to `dead`, to be dropped after the
  // lock is released.
  void unref_locked(Inode* inode, uint64_t n, std::shared_ptr<Inode>* dead);
  struct Mount {
    int fd = -1;           // a directory on that mount, not O_PATH (owned)
    bool handles = false;  // its handles open
  };
  // A new Inode for the file `fd` names (fd: owned by the result).
  std::shared_ptr<Inode> make_inode(int fd, const struct stat& st);
  // The mount `mount_id`, probed on first sight: through `fd`, a file of
  // type `type` on it whose handle is `probe`. An unknown mount seen
  // through a non-directory gives Mount{} (no handles), unrecorded.
  Mount mount_for(int mount_id, int fd, mode_t type, const FileHandle& probe);

  FdCache cache_;  // first: outlives every Inode below
  bool handles_ = false;
  std::mutex mounts_mu_;
  std::map<int, Mount> mounts_;  // by mount id; guarded by mounts_mu_
  std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, Entry> entries_;  // guarded by mu_
  // Inodes the kernel still knows whose (dev, ino) now names another file
  // (freed and reused behind the mount); guarded by mu_.
  std::map<Inode*, Entry> detached_;
  std::shared_ptr<Inode> root_;
};

}  // namespace mirrorfs::fs

// The mount's bounded cache of open inode descriptors. An inode reached
// by file handle (inode.h) has an O_PATH descriptor only while it is in
// use or among the `capacity` most recently used; on a miss it is
// reopened with open_by_handle_at. So the daemon's descriptors stay
// bounded however many inodes the kernel keeps looked up (its dentry
// cache holds hundreds of thousands after a `find` over a home folder).
//
// Pins: code that needs an inode's descriptor holds an InodeFd; a pinned
// descriptor is never closed under it. Only unpinned descriptors are
// cached (an LRU list, most recent first) and evicted; `capacity` bounds
// them, so the daemon holds at most capacity + pinned descriptors (the
// pinned ones: operations in flight, open files and directories, and the
// inodes kept by keep()).
//
// Thread-safety: every method may be called from any thread. mu_ is a
// leaf lock held for a few pointer moves: no system call runs under it
// (descriptors are opened before and closed after), and no other lock is
// taken while it is held. It may be taken under Inode::mu.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "fs/inode.h"

namespace mirrorfs::fs {

// A descriptor of an inode, open at least as long as this object lives.
// Either ok() and get() is an O_PATH fd of the inode (do not close it),
// or error() is why it could not be had (an errno for the FUSE reply).
// Move-only. A pinned InodeFd also keeps its Inode alive: handlers reply
// before their pins go out of scope, and once the reply is sent the
// kernel may FORGET the inode, on another thread, at once.
class InodeFd {
 public:
  InodeFd() = default;
  ~InodeFd() { reset(); }
  InodeFd(InodeFd&& o) noexcept
      : inode_(o.inode_), owner_(std::move(o.owner_)), fd_(o.fd_), err_(o.err_) {
    o.inode_ = nullptr;
    o.fd_ = -1;
  }
  InodeFd& operator=(InodeFd&& o) noexcept;
  InodeFd(const InodeFd&) = delete;
  InodeFd& operator=(const InodeFd&) = delete;

  bool ok() const { return fd_ >= 0; }
  int get() const {
    assert(ok());
    return fd_;
  }
  int error() const { return err_; }
  // Unpins now (the destructor would).
  void reset();

 private:
  friend class FdCache;
  InodeFd(Inode* pinned, int fd)
      : inode_(pinned),
        owner_(pinned ? pinned->weak_from_this().lock() : nullptr),
        fd_(fd) {}
  explicit InodeFd(int err) : err_(err) {}

  Inode* inode_ = nullptr;  // pinned in its cache; null: nothing to unpin
  std::shared_ptr<Inode> owner_;  // inode_ stays alive until unpinned
  int fd_ = -1;
  int err_ = 0;
};

// The descriptor of `inode`, pinned while the result lives: its permanent
// fd, or FdCache::pin of the cache it belongs to.
InodeFd pin_fd(Inode& inode);

class FdCache {
 public:
  // capacity: unpinned descriptors kept open (at least 1).
  explicit FdCache(size_t capacity);
  // REQUIRES: every inode of this cache is gone.
  ~FdCache();
  FdCache(const FdCache&) = delete;
  FdCache& operator=(const FdCache&) = delete;

  // The descriptor of `inode`, pinned: from the cache, or reopened by its
  // handle. Fails with ENOENT when the handle is stale (the file was
  // deleted: a local file system would not find it either), or with the
  // errno of open_by_handle_at. On EMFILE/ENFILE the cache first sheds
  // its unpinned descriptors and tries again.
  InodeFd pin(Inode& inode);
  // `fd` is an O_PATH fd of `inode` just opened by a lookup (owned): it
  // becomes the cached descriptor if there is none, and the inode counts
  // as just used; otherwise `fd` is closed.
  void adopt(Inode& inode, int fd);
  // If `inode` has a descriptor open (cached, pinned or permanent): counts
  // it as just used and returns true. An inode whose descriptor is open
  // cannot be freed, so its number cannot name another file meanwhile.
  bool touch(Inode& inode);
  // Keeps the pinned descriptor open until the inode dies (consumes the
  // pin): for an inode unlinked through the mount while the kernel still
  // knows it (a file held open or with O_PATH elsewhere, a process's
  // working directory), whose handle no longer opens.
  void keep(InodeFd pin);

  // Closes every unpinned descriptor: for when the process ran out
  // (EMFILE, ENFILE).
  void shed();

  struct Stats {
    size_t cached = 0;  // unpinned descriptors open now
    size_t capacity = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;  // reopened by handle
    uint64_t evictions = 0;
  };
  Stats stats() const;

 private:
  friend struct Inode;
  friend class InodeFd;
  friend InodeFd pin_fd(Inode& inode);
  struct Closer;

  void unpin(Inode& inode);
  void release(Inode& inode);  // from ~Inode
  // REQUIRES: mu_ held.
  void evict_locked(Closer& closer);
  // REQUIRES: mu_ held; inode.fd_ >= 0.
  void touch_locked(Inode& inode);
  void lru_push_front(Inode* inode);
  void lru_unlink(Inode* inode);

  const size_t capacity_;
  mutable std::mutex mu_;
  Inode* head_ = nullptr;  // most recently used; guarded by mu_
  Inode* tail_ = nullptr;  // least recently used; guarded by mu_
  size_t lru_size_ = 0;    // guarded by mu_
  uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;  // guarded by mu_
};

}  // namespace mirrorfs::fs

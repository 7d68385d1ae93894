#include "fs/fd_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <utility>

namespace mirrorfs::fs {

// Descriptors taken out of the cache under mu_, closed when the Closer
// dies: declared before the lock_guard, it outlives the lock, so no
// close(2) runs under mu_.
struct FdCache::Closer {
  static constexpr size_t kMax = 16;
  std::array<int, kMax> fds;
  size_t n = 0;
  bool full() const { return n == kMax; }
  void add(int fd) {
    assert(!full());
    fds[n++] = fd;
  }
  ~Closer() {
    for (size_t i = 0; i < n; ++i) ::close(fds[i]);
  }
};

Inode::Inode(FdCache& cache, int fixed_fd, dev_t dev, ino_t ino, mode_t type)
    : dev(dev),
      ino(ino),
      type(type),
      cache_(cache),
      fixed_fd_(fixed_fd),
      mount_fd_(-1) {
  assert(fixed_fd >= 0);
}

Inode::Inode(FdCache& cache, FileHandle handle, int mount_fd, dev_t dev,
             ino_t ino, mode_t type)
    : dev(dev),
      ino(ino),
      type(type),
      cache_(cache),
      fixed_fd_(-1),
      handle_(std::move(handle)),
      mount_fd_(mount_fd) {
  assert(!handle_.empty() && mount_fd >= 0);
}

Inode::~Inode() { cache_.release(*this); }

InodeFd& InodeFd::operator=(InodeFd&& o) noexcept {
  if (this != &o) {
    reset();
    std::swap(inode_, o.inode_);
    std::swap(owner_, o.owner_);
    std::swap(fd_, o.fd_);
    err_ = o.err_;
  }
  return *this;
}

void InodeFd::reset() {
  if (inode_ != nullptr) inode_->cache_.unpin(*inode_);
  inode_ = nullptr;
  fd_ = -1;
  owner_.reset();  // after the unpin: this may destroy the inode
}

InodeFd pin_fd(Inode& inode) { return inode.cache_.pin(inode); }

FdCache::FdCache(size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

FdCache::~FdCache() {
  assert(head_ == nullptr && tail_ == nullptr && lru_size_ == 0);
}

InodeFd FdCache::pin(Inode& inode) {
  if (inode.fixed_fd_ >= 0) return InodeFd(nullptr, inode.fixed_fd_);
  {
    std::lock_guard lock(mu_);
    if (inode.fd_ >= 0) {
      if (inode.pins_++ == 0) lru_unlink(&inode);
      ++hits_;
      return InodeFd(&inode, inode.fd_);
    }
    ++misses_;
  }
  // A miss: reopen outside the lock. Two threads may both miss; the
  // second to install closes its own.
  int fd = inode.handle_.open(inode.mount_fd_, O_PATH);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {  // ran out
    shed();
    fd = inode.handle_.open(inode.mount_fd_, O_PATH);
  }
  if (fd < 0) return InodeFd(errno == ESTALE ? ENOENT : errno);
  Closer closer;
  std::lock_guard lock(mu_);
  if (inode.fd_ >= 0) {
    closer.add(fd);
    if (inode.pins_ == 0) lru_unlink(&inode);
  } else {
    assert(inode.pins_ == 0);
    inode.fd_ = fd;
  }
  ++inode.pins_;
  return InodeFd(&inode, inode.fd_);
}

void FdCache::adopt(Inode& inode, int fd) {
  if (inode.fixed_fd_ >= 0) {
    ::close(fd);
    return;
  }
  Closer closer;
  std::lock_guard lock(mu_);
  if (inode.fd_ >= 0) {
    closer.add(fd);
    touch_locked(inode);
    return;
  }
  assert(inode.pins_ == 0);  // a pinned inode has its descriptor
  inode.fd_ = fd;
  lru_push_front(&inode);
  evict_locked(closer);
}

bool FdCache::touch(Inode& inode) {
  if (inode.fixed_fd_ >= 0) return true;
  std::lock_guard lock(mu_);
  if (inode.fd_ < 0) return false;
  touch_locked(inode);
  return true;
}

void FdCache::touch_locked(Inode& inode) {
  if (inode.pins_ == 0) {  // unpinned: to the front of the LRU
    lru_unlink(&inode);
    lru_push_front(&inode);
  }
}

void FdCache::keep(InodeFd pin) {
  Inode* inode = pin.inode_;
  if (inode == nullptr) return;  // a fixed fd is kept anyway
  std::lock_guard lock(mu_);
  assert(inode->pins_ > 0);
  if (inode->kept_) {
    --inode->pins_;  // one keep is enough; pins_ stays >= 1
  } else {
    inode->kept_ = true;  // the pin stays, undone by release()
  }
  pin.inode_ = nullptr;
  pin.fd_ = -1;
}

void FdCache::unpin(Inode& inode) {
  Closer closer;
  std::lock_guard lock(mu_);
  assert(inode.pins_ > 0 && inode.fd_ >= 0);
  if (--inode.pins_ == 0) {
    lru_push_front(&inode);
    evict_locked(closer);
  }
}

void FdCache::release(Inode& inode) {
  if (inode.fixed_fd_ >= 0) {
    ::close(inode.fixed_fd_);
    return;
  }
  int fd = -1;
  {
    std::lock_guard lock(mu_);
    assert(inode.pins_ == (inode.kept_ ? 1u : 0u));
    if (inode.fd_ >= 0) {
      if (inode.pins_ == 0) lru_unlink(&inode);
      fd = inode.fd_;
      inode.fd_ = -1;
    }
    inode.pins_ = 0;
    inode.kept_ = false;
  }
  if (fd >= 0) ::close(fd);
}

void FdCache::shed() {
  for (;;) {
    Closer closer;
    std::lock_guard lock(mu_);
    while (tail_ != nullptr && !closer.full()) {
      Inode* victim = tail_;
      lru_unlink(victim);
      closer.add(victim->fd_);
      victim->fd_ = -1;
      ++evictions_;
    }
    if (closer.n == 0) return;
  }
}

void FdCache::evict_locked(Closer& closer) {
  // Each call adds at most one entry over capacity, so the few taken here
  // (Closer's room) keep the list at capacity.
  while (lru_size_ > capacity_ && !closer.full()) {
    Inode* victim = tail_;
    lru_unlink(victim);
    closer.add(victim->fd_);
    victim->fd_ = -1;
    ++evictions_;
  }
}

void FdCache::lru_push_front(Inode* inode) {
  assert(inode->lru_prev_ == nullptr && inode->lru_next_ == nullptr &&
         head_ != inode);
  inode->lru_next_ = head_;
  if (head_ != nullptr) head_->lru_prev_ = inode;
  head_ = inode;
  if (tail_ == nullptr) tail_ = inode;
  ++lru_size_;
}

void FdCache::lru_unlink(Inode* inode) {
  assert(lru_size_ > 0);
  if (inode->lru_prev_ != nullptr) {
    inode->lru_prev_->lru_next_ = inode->lru_next_;
  } else {
    assert(head_ == inode);
    head_ = inode->lru_next_;
  }
  if (inode->lru_next_ != nullptr) {
    inode->lru_next_->lru_prev_ = inode->lru_prev_;
  } else {
    assert(tail_ == inode);
    tail_ = inode->lru_prev_;
  }
  inode->lru_prev_ = inode->lru_next_ = nullptr;
  --lru_size_;
}

FdCache::Stats FdCache::stats() const {
  std::lock_guard lock(mu_);
  return Stats{lru_size_, capacity_, hits_, misses_, evictions_};
}

}  // namespace mirrorfs::fs

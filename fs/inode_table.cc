#include "fs/inode_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>

#include "fs/log.h"

namespace mirrorfs::fs {
namespace {

// A descriptor open_by_handle_at accepts as its mount_fd (it refuses
// O_PATH ones) on the directory `dir_fd` names, or -1 with errno.
int open_mount_fd(int dir_fd) {
  return ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

// 0 if `h` opens on `mount_fd`, else the errno.
int probe_open(const FileHandle& h, int mount_fd) {
  const int fd = h.open(mount_fd, O_PATH);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

std::string why_no_handles(int err) {
  switch (err) {
    case EPERM:
      return "the daemon lacks CAP_DAC_READ_SEARCH (an ordinary user's "
             "mount)";
    case EOPNOTSUPP:
      return "the file system has no file handles";
    default:
      return std::string("file handles fail: ") + std::strerror(err);
  }
}

}  // namespace

InodeTable::InodeTable(int root_fd, const struct stat& root_st,
                       const Options& opt)
    : cache_(opt.fd_cache_size),
      root_(std::make_shared<Inode>(cache_, root_fd, root_st.st_dev,
                                    root_st.st_ino, root_st.st_mode & S_IFMT)) {
  if (!opt.file_handles) {
    log_info("file handles off: one descriptor per inode");
    return;
  }
  FileHandle h;
  int mount_id = 0;
  int err = FileHandle::of(root_fd, &h, &mount_id);
  const int mount_fd = err == 0 ? open_mount_fd(root_fd) : -1;
  if (err == 0 && mount_fd < 0) err = errno;
  if (err == 0) err = probe_open(h, mount_fd);
  if (err != 0) {
    if (mount_fd >= 0) ::close(mount_fd);
    log_info("one descriptor per inode: " + why_no_handles(err) +
             "; the kernel can then keep only about as many inodes looked "
             "up as the open-file limit allows (docs/fs.md)");
    return;
  }
  mounts_[mount_id] = Mount{mount_fd, true};
  handles_ = true;
  log_info("inodes reached by file handle, up to " +
           std::to_string(cache_.stats().capacity) + " descriptors cached");
}

InodeTable::~InodeTable() {
  entries_.clear();
  detached_.clear();
  root_.reset();
  for (auto& [id, m] : mounts_) ::close(m.fd);
}

InodeTable::Mount InodeTable::mount_for(int mount_id, int fd, mode_t type,
                                        const FileHandle& probe) {
  {
    std::lock_guard lock(mounts_mu_);
    auto it = mounts_.find(mount_id);
    if (it != mounts_.end()) return it->second;
  }
  // First sight of another file system mounted inside BACKING: keep a
  // descriptor on it, its root directory (the first thing a lookup
  // crosses into), and see whether its handles open. A file bind-mounted
  // alone has no directory to keep: its inode keeps its own descriptor.
  if (!S_ISDIR(type)) return Mount{};
  Mount m;
  m.fd = open_mount_fd(fd);
  if (m.fd < 0) return Mount{};  // no descriptor to spare: try next time
  const int err = probe_open(probe, m.fd);
  m.handles = err == 0;
  int extra = -1;
  {
    std::lock_guard lock(mounts_mu_);
    auto [it, inserted] = mounts_.emplace(mount_id, m);
    if (!inserted) {
      extra = m.fd;
      m = it->second;
    }
  }
  if (extra >= 0) {
    ::close(extra);
  } else if (!m.handles) {
    log_info("a file system mounted inside BACKING (mount id " +
             std::to_string(mount_id) +
             "): one descriptor per inode: " + why_no_handles(err));
  }
  return m;
}

std::shared_ptr<Inode> InodeTable::make_inode(int fd, const struct stat& st) {
  const mode_t type = st.st_mode & S_IFMT;
  if (handles_) {
    FileHandle h;
    int mount_id = 0;
    if (FileHandle::of(fd, &h, &mount_id) == 0) {
      const Mount m = mount_for(mount_id, fd, type, h);
      if (m.handles) {
        auto inode = std::make_shared<Inode>(cache_, std::move(h), m.fd,
                                             st.st_dev, st.st_ino, type);
        cache_.adopt(*inode, fd);
        return inode;
      }
    }
    // No handle for this one (its file system has none): a permanent fd.
  }
  return std::make_shared<Inode>(cache_, fd, st.st_dev, st.st_ino, type);
}

fuse_ino_t InodeTable::learn(int fd, const struct stat& st) {
  if (st.st_dev == root_->dev && st.st_ino == root_->ino) {
    ::close(fd);  // ".." of a top directory, or a bind loop: the root
    return FUSE_ROOT_ID;
  }
  const std::pair key{st.st_dev, st.st_ino};
  Inode* known = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      ++it->second.nlookup;
      known = it->second.inode.get();
    }
  }
  // The lookup just counted keeps `known` alive until the kernel has the
  // reply and forgets it.
  if (known != nullptr) {
    if (cache_.touch(*known)) {
      ::close(fd);
      return reinterpret_cast<fuse_ino_t>(known);
    }
    // Its descriptor is closed: is it still the same file?
    FileHandle h;
    int mount_id = 0;
    if (FileHandle::of(fd, &h, &mount_id) != 0 || h == known->handle()) {
      cache_.adopt(*known, fd);
      return reinterpret_cast<fuse_ino_t>(known);
    }
  }
  // New (or a new file under a reused number): made (handle, descriptor)
  // outside the lock. Another thread may have learnt the same file
  // meanwhile: then ours is dropped, after the lock is released (dropping
  // closes descriptors), as is a stale inode the kernel forgot.
  std::shared_ptr<Inode> fresh = make_inode(fd, st);
  std::shared_ptr<Inode> dead;
  Inode* inode;
  {
    std::lock_guard lock(mu_);
    if (known != nullptr) {
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.inode.get() == known) {
        detached_.emplace(known, std::move(it->second));
        entries_.erase(it);
      }
      unref_locked(known, 1, &dead);  // the count taken above
    }
    Entry& e = entries_[key];
    if (!e.inode) e.inode = std::move(fresh);
    ++e.nlookup;
    inode = e.inode.get();
  }
  return reinterpret_cast<fuse_ino_t>(inode);
}

void InodeTable::unref_locked(Inode* inode, uint64_t n,
                              std::shared_ptr<Inode>* dead) {
  auto it = entries_.find({inode->dev, inode->ino});
  if (it != entries_.end() && it->second.inode.get() == inode) {
    assert(it->second.nlookup >= n);
    it->second.nlookup -= std::min(n, it->second.nlookup);
    if (it->second.nlookup == 0) {
      *dead = std::move(it->second.inode);
      entries_.erase(it);
    }
    return;
  }
  auto d = detached_.find(inode);
  assert(d != detached_.end());
  if (d == detached_.end()) return;
  assert(d->second.nlookup >= n);
  d->second.nlookup -= std::min(n, d->second.nlookup);
  if (d->second.nlookup == 0) {
    *dead = std::move(d->second.inode);
    detached_.erase(d);
  }
}

void InodeTable::forget(fuse_ino_t id, uint64_t n) {
  if (id == FUSE_ROOT_ID) return;
  std::shared_ptr<Inode> dead;  // dropped after the lock: closes fds
  std::lock_guard lock(mu_);
  unref_locked(reinterpret_cast<Inode*>(id), n, &dead);
}

std::shared_ptr<Inode> InodeTable::find(dev_t dev, ino_t ino) {
  if (dev == root_->dev && ino == root_->ino) return root_;
  std::lock_guard lock(mu_);
  auto it = entries_.find({dev, ino});
  return it == entries_.end() ? nullptr : it->second.inode;
}

}  // namespace mirrorfs::fs

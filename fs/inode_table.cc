#include "fs/inode_table.h"

#include <unistd.h>

#include <cassert>

namespace mirrorfs::fs {

Inode::~Inode() { ::close(fd); }

InodeTable::InodeTable(int root_fd, const struct stat& root_st)
    : root_(std::make_shared<Inode>(root_fd, root_st.st_dev, root_st.st_ino,
                                    root_st.st_mode & S_IFMT)) {}

fuse_ino_t InodeTable::learn(int fd, const struct stat& st) {
  if (st.st_dev == root_->dev && st.st_ino == root_->ino) {
    ::close(fd);  // ".." of a top directory, or a bind loop: the root
    return FUSE_ROOT_ID;
  }
  std::lock_guard lock(mu_);
  Entry& e = entries_[{st.st_dev, st.st_ino}];
  if (e.inode) {
    ::close(fd);
  } else {
    e.inode = std::make_shared<Inode>(fd, st.st_dev, st.st_ino,
                                      st.st_mode & S_IFMT);
  }
  ++e.nlookup;
  return reinterpret_cast<fuse_ino_t>(e.inode.get());
}

void InodeTable::forget(fuse_ino_t id, uint64_t n) {
  if (id == FUSE_ROOT_ID) return;
  Inode* inode = reinterpret_cast<Inode*>(id);
  std::lock_guard lock(mu_);
  auto it = entries_.find({inode->dev, inode->ino});
  assert(it != entries_.end() && it->second.inode.get() == inode);
  if (it == entries_.end()) return;
  assert(it->second.nlookup >= n);
  it->second.nlookup -= std::min(n, it->second.nlookup);
  if (it->second.nlookup == 0) entries_.erase(it);
}

std::shared_ptr<Inode> InodeTable::find(dev_t dev, ino_t ino) {
  if (dev == root_->dev && ino == root_->ino) return root_;
  std::lock_guard lock(mu_);
  auto it = entries_.find({dev, ino});
  return it == entries_.end() ? nullptr : it->second.inode;
}

}  // namespace mirrorfs::fs

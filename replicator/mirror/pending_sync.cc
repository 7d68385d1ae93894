#include "replicator/mirror/pending_sync.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <string>

#include "replicator/mirror/node_ops.h"

namespace mirrorfs::replicator::mirror {

PendingSync::PendingSync(size_t max_tracked) : max_tracked_(max_tracked) {
  assert(max_tracked_ > 0);
}

void PendingSync::fall_back_locked() {
  syncfs_due_ = true;
  fds_.clear();  // syncfs covers them: no need to hold descriptors
}

template <typename Open>
void PendingSync::add_locked(const struct stat& st, Open open) {
  if (syncfs_due_ || fds_.count(Key{st.st_dev, st.st_ino}) != 0) return;
  if (fds_.size() >= max_tracked_) return fall_back_locked();
  UniqueFd fd(open());
  if (!fd.valid()) return fall_back_locked();  // EACCES, EMFILE, ...
  fds_.emplace(Key{st.st_dev, st.st_ino}, std::move(fd));
}

void PendingSync::note_dir(int dir) {
  struct stat st;
  const bool ok = ::fstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
  std::lock_guard<std::mutex> lock(mu_);
  if (!ok) return fall_back_locked();
  // "." reopens the inode dir pins (it may be O_PATH, which fsync refuses).
  add_locked(st, [dir] {
    return ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  });
}

void PendingSync::note_node(const Entry& e) {
  UniqueFd pin(::openat(e.dir.get(), e.name.c_str(),
                        O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!pin.valid() && errno == ENOENT) return;
  struct stat st;
  const bool ok = pin.valid() && ::fstat(pin.get(), &st) == 0;
  std::lock_guard<std::mutex> lock(mu_);
  // Never open a device, FIFO or socket; a symlink cannot be opened.
  if (!ok || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    return fall_back_locked();
  }
  // Through the pinned inode: the type checked is the type opened.
  add_locked(st, [&pin] {
    return ::open(fd_path(pin.get()).c_str(), O_RDONLY | O_CLOEXEC);
  });
}

void PendingSync::note_file(int fd) {
  struct stat st;
  const bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  std::lock_guard<std::mutex> lock(mu_);
  if (!ok) return fall_back_locked();
  add_locked(st, [fd] { return ::fcntl(fd, F_DUPFD_CLOEXEC, 0); });
}

void PendingSync::note_unsyncable() {
  std::lock_guard<std::mutex> lock(mu_);
  fall_back_locked();
}

Status PendingSync::sync(int root_fd, std::string_view root_path) {
  std::lock_guard<std::mutex> serial(sync_mu_);
  std::map<Key, UniqueFd> fds;
  bool whole;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fds.swap(fds_);
    whole = syncfs_due_;
    syncfs_due_ = false;
  }
  auto failed = [this](int err, std::string_view what, std::string_view path) {
    std::lock_guard<std::mutex> lock(mu_);
    fall_back_locked();  // the next barrier must not trust the set
    return sys_error(err, what, path);
  };
  uint64_t fsyncs = 0;
  if (!whole) {
    for (const auto& [key, fd] : fds) {
      if (::fsync(fd.get()) != 0) {
        return failed(errno, "fsync (barrier) of inode " +
                                 std::to_string(key.second) + " beneath",
                      root_path);
      }
      ++fsyncs;
    }
  }
  if (whole && ::syncfs(root_fd) != 0) return failed(errno, "syncfs", root_path);
  std::lock_guard<std::mutex> lock(mu_);
  counts_.fsyncs += fsyncs;
  if (whole) ++counts_.syncfs;
  return Status::ok();
}

BarrierCounts PendingSync::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  BarrierCounts c = counts_;
  c.pending = fds_.size();
  c.syncfs_due = syncfs_due_;
  return c;
}

std::vector<std::pair<dev_t, ino_t>> PendingSync::tracked() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Key> out;
  for (const auto& [key, fd] : fds_) out.push_back(key);
  return out;
}

}  // namespace mirrorfs::replicator::mirror

// The handlers' shared helpers (passthrough.h): lookups, acting as the
// caller, and the open handles the daemon frees at exit.
#include "fs/passthrough.h"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <string>
#include <vector>

namespace mirrorfs::fs {

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

int lookup_entry(FsContext& fs, int parent_fd, const char* name,
                 fuse_entry_param* e) {
  *e = fuse_entry_param{};
  const int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(parent_fd, name, flags);
  if (fd < 0 && fs.inodes.make_room(errno))
    fd = ::openat(parent_fd, name, flags);
  if (fd < 0) return errno;
  if (::fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
    const int err = errno;
    ::close(fd);
    return err;
  }
  e->ino = fs.inodes.learn(fd, e->attr);
  e->attr_timeout = fs.attr_timeout;
  e->entry_timeout = fs.entry_timeout;
  return 0;
}

namespace {

// setgroups(2) for this thread only: the raw syscall, not glibc's wrapper,
// which applies it to every thread of the process.
int set_thread_groups(const std::vector<gid_t>& groups) {
  return static_cast<int>(
      ::syscall(SYS_setgroups, groups.size(), groups.data()));
}

// The caller's supplementary groups (the kernel does not send them: read
// from /proc), or none if they cannot be read.
std::vector<gid_t> caller_groups(fuse_req_t req) {
  std::vector<gid_t> groups(32);
  int n =
      fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  if (n > static_cast<int>(groups.size())) {
    groups.resize(static_cast<size_t>(n));
    n = fuse_req_getgroups(req, n, groups.data());
  }
  groups.resize(n >= 0 && n <= static_cast<int>(groups.size())
                    ? static_cast<size_t>(n)
                    : 0);
  return groups;
}

}  // namespace

AsCaller::AsCaller(FsContext& fs, fuse_req_t req) {
  if (!fs.as_caller) return;
  const fuse_ctx* c = fuse_req_ctx(req);
  // Per thread (these are raw syscalls, unlike setuid). Groups first,
  // while the thread still has root's file-system identity. Without the
  // caller's supplementary groups the backing call would be checked
  // against the daemon's, and fail where the kernel let the caller in.
  const int n = ::getgroups(0, nullptr);
  own_groups_.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0 && ::getgroups(n, own_groups_.data()) != n) own_groups_.clear();
  set_thread_groups(caller_groups(req));
  ::setfsgid(c->gid);
  ::setfsuid(c->uid);
  active_ = true;
}

AsCaller::~AsCaller() {
  if (!active_) return;
  ::setfsuid(0);
  ::setfsgid(0);
  set_thread_groups(own_groups_);
}

FsContext::~FsContext() {
  // Files and directories still open when the session ended: the kernel
  // sends no RELEASE for them.
  while (handles_ != nullptr) drop_handle(handles_);
}

uint64_t FsContext::add_handle(OpenHandle* h) {
  std::lock_guard lock(handles_mu_);
  assert(h->prev_ == nullptr && h->next_ == nullptr);
  h->next_ = handles_;
  if (handles_ != nullptr) handles_->prev_ = h;
  handles_ = h;
  return reinterpret_cast<uint64_t>(h);
}

void FsContext::drop_handle(OpenHandle* h) {
  {
    std::lock_guard lock(handles_mu_);
    if (h->prev_ != nullptr) {
      h->prev_->next_ = h->next_;
    } else {
      assert(handles_ == h);
      handles_ = h->next_;
    }
    if (h->next_ != nullptr) h->next_->prev_ = h->prev_;
  }
  delete h;  // closes descriptors: after the lock
}

}  // namespace mirrorfs::fs

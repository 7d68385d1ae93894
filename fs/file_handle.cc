#include "fs/file_handle.h"

#include <cassert>
#include <cerrno>
#include <cstring>

namespace mirrorfs::fs {

int FileHandle::of(int fd, FileHandle* out, int* mount_id) {
  // Room for the largest handle any file system makes; the kernel says
  // how much it used (or EOVERFLOW if more is needed: never, by its own
  // bound, but checked below all the same).
  alignas(file_handle) unsigned char buf[sizeof(file_handle) + MAX_HANDLE_SZ];
  auto* fh = reinterpret_cast<file_handle*>(buf);
  fh->handle_bytes = MAX_HANDLE_SZ;
  if (::name_to_handle_at(fd, "", fh, mount_id, AT_EMPTY_PATH) < 0) {
    return errno;
  }
  if (fh->handle_bytes > MAX_HANDLE_SZ) return EOVERFLOW;
  const size_t n = sizeof(file_handle) + fh->handle_bytes;
  auto* copy = static_cast<file_handle*>(std::malloc(n));
  if (copy == nullptr) return ENOMEM;
  std::memcpy(copy, buf, n);
  out->h_.reset(copy);
  return 0;
}

int FileHandle::open(int mount_fd, int flags) const {
  assert(h_ != nullptr);
  return ::open_by_handle_at(mount_fd, h_.get(), flags | O_CLOEXEC);
}

bool FileHandle::operator==(const FileHandle& o) const {
  if (h_ == nullptr || o.h_ == nullptr) return h_ == o.h_;
  return h_->handle_type == o.h_->handle_type &&
         h_->handle_bytes == o.h_->handle_bytes &&
         std::memcmp(h_->f_handle, o.h_->f_handle, h_->handle_bytes) == 0;
}

size_t FileHandle::size() const { return h_ ? h_->handle_bytes : 0; }

}  // namespace mirrorfs::fs

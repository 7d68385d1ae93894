#include "core/reflink.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>

namespace mirrorfs::core {

Cloner::Cloner(int src_fd, int dst_fd) : src_fd_(src_fd), dst_fd_(dst_fd) {
  struct stat s, d;
  if (::fstat(src_fd, &s) != 0 || ::fstat(dst_fd, &d) != 0) return;
  if (!S_ISREG(s.st_mode) || !S_ISREG(d.st_mode) || s.st_dev != d.st_dev) {
    return;
  }
  struct statfs fs;
  if (::fstatfs(dst_fd, &fs) != 0 || fs.f_bsize <= 0) return;
  block_ = static_cast<uint64_t>(fs.f_bsize);
}

bool Cloner::clone(uint64_t src_off, uint64_t dst_off, uint64_t len) {
  struct file_clone_range r;
  r.src_fd = src_fd_;
  r.src_offset = src_off;
  r.src_length = len;
  r.dest_offset = dst_off;
  if (::ioctl(dst_fd_, FICLONERANGE, &r) == 0) return true;
  // EOPNOTSUPP (ext4), EXDEV, EINVAL, ENOTTY...: whatever the reason, the
  // bytes can still be copied; stop trying.
  block_ = 0;
  return false;
}

}  // namespace mirrorfs::core

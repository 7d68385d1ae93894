#include "core/fd_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace mirrorfs::core {

Result<size_t> read_full(int fd, uint8_t* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    const ssize_t n = ::read(fd, buf + got, len - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "read");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

Result<size_t> pread_full(int fd, uint8_t* buf, size_t len, uint64_t offset) {
  size_t got = 0;
  while (got < len) {
    const ssize_t n =
        ::pread(fd, buf + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "read");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

Status write_full(int fd, const uint8_t* buf, size_t len) {
  while (len > 0) {
    const ssize_t n = ::write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "write");
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return Status::ok();
}

std::optional<uint64_t> regular_file_size(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace mirrorfs::core

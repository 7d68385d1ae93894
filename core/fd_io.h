// Small helpers over file descriptors for core's whole-file layer: full
// reads and writes that retry on EINTR and short counts, errno captured
// into a Status at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/job.h"
#include "core/status.h"

namespace mirrorfs::core {

// Owns a file descriptor: closes it when destroyed (a failure there has
// nowhere to go), or earlier by close(), which reports it. Movable.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  // Gives up ownership; returns the descriptor.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes now; a delayed write error becomes "close <what>: <error>".
  // OK when there was nothing to close.
  Status close(std::string_view what);

 private:
  int fd_ = -1;
};

// Reads until len bytes or end of file; returns the count read.
Result<size_t> read_full(int fd, uint8_t* buf, size_t len);
// Like read_full, at an offset (pread); does not move the file offset.
Result<size_t> pread_full(int fd, uint8_t* buf, size_t len, uint64_t offset);
Status write_full(int fd, const uint8_t* buf, size_t len);
// Like write_full, at an offset (pwrite); does not move the file offset.
Status pwrite_full(int fd, const uint8_t* buf, size_t len, uint64_t offset);
// Copies up to len bytes of in_fd from in_off to out_fd at its file offset
// inside the kernel (copy_file_range), so they never pass through user
// memory. Returns the count copied. It is short when the kernel cannot
// (or will not) copy: other file types or file systems, an O_APPEND
// output, the end of in_fd, or an I/O error. The caller then copies the
// rest itself, and its ordinary read and write path meets and reports
// any real error.
uint64_t copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t len);
// The size of a regular file; nullopt for pipes, sockets, terminals.
std::optional<uint64_t> regular_file_size(int fd);

// Where a job's input comes from: everything readable from the file's
// current offset (read), or the byte range [from, to) (pread).
struct InputRange {
  bool positioned = false;
  uint64_t from = 0, to = 0;
};

// Runs `job` to kDone over input from in_fd, writing its output to out_fd
// (out_fd < 0: the job produces none). Buffers of buffer_size bytes are
// allocated uninitialised: touching 4 MiB per process start costs more
// than a small file's whole run.
Status drive_job_fd(Job& job, int in_fd, const InputRange& range, int out_fd,
                    size_t buffer_size);

}  // namespace mirrorfs::core

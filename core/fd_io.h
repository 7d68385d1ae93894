// Small helpers over file descriptors for core's whole-file layer: full
// reads and writes that retry on EINTR and short counts, errno captured
// into a Status at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/status.h"

namespace mirrorfs::core {

// Reads until len bytes or end of file; returns the count read.
Result<size_t> read_full(int fd, uint8_t* buf, size_t len);
// Like read_full, at an offset (pread); does not move the file offset.
Result<size_t> pread_full(int fd, uint8_t* buf, size_t len, uint64_t offset);
Status write_full(int fd, const uint8_t* buf, size_t len);
// The size of a regular file; nullopt for pipes, sockets, terminals.
std::optional<uint64_t> regular_file_size(int fd);

}  // namespace mirrorfs::core

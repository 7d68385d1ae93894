// Sharing byte ranges between files by reflink (FICLONERANGE), where the
// file system offers it (XFS, btrfs; not ext4). Used by patch_fd to turn
// block-aligned COPY commands into shared extents instead of written data.
#pragma once

#include <cstdint>

#include "core/status.h"

namespace mirrorfs::core {

class Cloner {
 public:
  // Probes whether ranges of src_fd may be cloned into dst_fd: both
  // regular files on one file system. Never fails: a Cloner that cannot
  // clone just says so.
  Cloner(int src_fd, int dst_fd);

  bool enabled() const { return block_ > 0; }
  // The alignment clones need (the file system's block size).
  uint64_t block() const { return block_; }

  // Shares src [src_off, src_off + len) at dst_off.
  // REQUIRES: enabled(); offsets and len multiples of block().
  // Returns false (and disables itself) if the file system refuses; the
  // caller then copies the bytes instead. Nothing is changed on refusal.
  bool clone(uint64_t src_off, uint64_t dst_off, uint64_t len);

 private:
  int src_fd_, dst_fd_;
  uint64_t block_ = 0;  // 0: disabled
};

}  // namespace mirrorfs::core

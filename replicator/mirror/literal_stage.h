// Where an in-place update keeps the literal bytes of its delta until
// finish(): in memory up to a limit, beyond it in an unnamed file
// (O_TMPFILE) in the state directory, so memory does not grow with the
// update. Private to replicator/mirror/. One thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "replicator/mirror/mirror_root.h"

namespace mirrorfs::replicator::mirror {

class LiteralStage {
 public:
  // REQUIRES: state_dir (a directory fd) outlives the stage.
  LiteralStage(int state_dir, size_t memory_limit)
      : dir_(state_dir), limit_(memory_limit) {}

  // Appends len bytes; they are at offset size() before the call.
  Status append(const uint8_t* data, size_t len);
  // Reads [at, at + len) of what was appended. REQUIRES: inside size().
  Status read(uint64_t at, uint8_t* buf, size_t len) const;
  uint64_t size() const { return size_; }
  bool spilled() const { return file_.valid(); }

 private:
  const int dir_;
  const size_t limit_;
  std::vector<uint8_t> mem_;  // everything, until it is spilled
  UniqueFd file_;             // everything, once spilled
  uint64_t size_ = 0;
};

}  // namespace mirrorfs::replicator::mirror

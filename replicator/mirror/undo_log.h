// The undo log of an in-place update (docs/undo-log.md): before a byte
// of the target changes, the old bytes of every range about to be
// overwritten or cut off are written to a log file in the state
// directory, behind a trailer with a checksum, and made durable. A log
// without a valid trailer was never acted on; a valid one lets recovery
// restore the old version exactly. Private to replicator/mirror/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/blake2b.h"
#include "core/content_hash.h"
#include "core/status.h"
#include "replicator/mirror/mirror_root.h"

namespace mirrorfs::replicator::mirror {

struct UndoLogHeader {
  std::string path;  // the client path of the target, beneath ROOT
  uint64_t ino = 0;  // the target's inode: a log never touches another
  uint64_t old_size = 0, new_size = 0;
  core::ContentHash old_hash{}, new_hash{};
  uint64_t range_count = 0;
};

// Writes one log. Not thread-safe; one per update.
class UndoLogWriter {
 public:
  // Creates a fresh log file in the directory state_dir (a directory fd)
  // and writes h. REQUIRES: h.range_count ranges are added before
  // commit().
  static Result<std::unique_ptr<UndoLogWriter>> create(int state_dir,
                                                       const UndoLogHeader& h);
  // Not committed: the file is removed.
  ~UndoLogWriter();

  // Appends the range [offset, offset + len) with its old bytes, read
  // from target_fd (which must hold them all: kIoError otherwise).
  Status add_range(int target_fd, uint64_t offset, uint64_t len);
  // Writes the trailer and makes the log durable (fsync of it and of the
  // state directory). From here recovery restores the old version.
  Status commit();
  // Removes the log and syncs the directory: the update is final.
  Status remove();
  // Forgets the log without removing it (a simulated crash).
  void abandon() { name_.clear(); }
  const std::string& name() const { return name_; }

 private:
  UndoLogWriter(int dir, UniqueFd fd, std::string name);
  Status put(const uint8_t* data, size_t len);
  Status flush();

  const int dir_;
  UniqueFd fd_;
  std::string name_;  // empty once removed or abandoned
  core::Blake2b sum_;
  uint64_t body_len_ = 0;
  uint64_t ranges_left_ = 0;
  std::unique_ptr<uint8_t[]> buf_;
  size_t buf_len_ = 0;
};

// Reads the log open as fd. kCorrupt if it has no valid trailer or
// checksum, or its contents are inconsistent (a path over
// wire::kMaxPath, a range past old_size, a count that does not match):
// then it was never committed. Otherwise fills *h and, if `restore` is
// set, passes it every range's old bytes in order, in pieces, with
// their offset in the target; only after the whole log was checked.
Status read_undo_log(
    int fd, UndoLogHeader* h,
    const std::function<Status(uint64_t, std::span<const uint8_t>)>& restore);

// Whether `name` (a file in the state directory) is an undo log.
bool is_undo_log_name(std::string_view name);

}  // namespace mirrorfs::replicator::mirror

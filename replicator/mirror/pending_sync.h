// What the next Barrier must make durable (Applier::barrier): the
// directories whose entries changed and the inodes whose attributes,
// xattrs or link count changed since the last barrier, so that a barrier
// fsyncs exactly those instead of syncfs() of the whole file system,
// which on a host with other writers waits for all of their dirty data
// too. Private to replicator/mirror/.
//
// Each is held by one open descriptor, deduplicated by (st_dev, st_ino):
// a directory renamed after it was noted is still the one synced (a path
// would name something else by then). Content updates fsync their new
// file themselves before its rename (no torn files); only the
// directories they rename and link in are noted here.
//
// Falls back to one syncfs() of ROOT's file system for the next sync()
// when something changed that cannot be fsynced safely: a symlink (no
// descriptor of one can be fsynced), a device node, FIFO or socket
// (opening one has side effects or blocks), anything that cannot be
// opened (EACCES, EMFILE, ...), more than max_tracked descriptors, and
// after open (what an earlier process applied may not be durable yet:
// its replays are no-ops that note nothing) or a failed sync().
//
// Thread-safety: all methods may be called from any thread. sync() calls
// are serialized, so a barrier returns only after the fsyncs of what an
// earlier, concurrent barrier took from the set. Lock order: sync_mu_
// before mu_.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "replicator/mirror/applier.h"
#include "replicator/mirror/mirror_root.h"

namespace mirrorfs::replicator::mirror {

class PendingSync {
 public:
  // max_tracked: descriptors held before falling back to syncfs (> 0).
  explicit PendingSync(size_t max_tracked);

  // The entries of directory `dir` (any descriptor of it, O_PATH too)
  // changed. Call after the change (see note_changed in entry_ops.cc).
  void note_dir(int dir);
  // The inode e names changed (attributes, xattrs, link count). Nothing
  // if e names nothing (its removal is its directory's change).
  void note_node(const Entry& e);
  // The open regular file fd changed (held by a duplicate of fd).
  void note_file(int fd);
  // Something changed that no descriptor can make durable.
  void note_unsyncable();

  // Makes everything noted durable: one fsync per descriptor, or one
  // syncfs(root_fd) when a fallback is due (or an fsync failed). Clears
  // the set on success; on error the next sync() is a syncfs.
  Status sync(int root_fd, std::string_view root_path);

  BarrierCounts counts() const;
  // Tests: the (st_dev, st_ino) noted now, sorted.
  std::vector<std::pair<dev_t, ino_t>> tracked() const;

 private:
  using Key = std::pair<dev_t, ino_t>;
  // Opens (via `open`) and adds the inode with fstat st unless present.
  // REQUIRES: mu_ held.
  template <typename Open>
  void add_locked(const struct stat& st, Open open);
  void fall_back_locked();  // REQUIRES: mu_ held

  const size_t max_tracked_;
  std::mutex sync_mu_;  // serializes sync(); before mu_
  mutable std::mutex mu_;  // guards the members below
  std::map<Key, UniqueFd> fds_;
  bool syncfs_due_ = true;  // see above: an earlier process's changes
  BarrierCounts counts_;
};

}  // namespace mirrorfs::replicator::mirror

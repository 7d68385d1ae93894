// The recorder: the mount's one writer of the state database. FUSE
// threads hand it changes, which are recorded in the catalog and the
// journal many per transaction (group commit): by a thread that waits for
// its change (it leads a commit of everything queued, or waits for the
// running one), or by the background thread for changes nobody waits for.
// One connection, used by one thread at a time (the leader).
//
// - write() costs no database work: the range joins the inode's in-memory
//   extent set; the first write of a burst queues one kDirty row, so a
//   crash of the mount before close still leaves a trace.
// - sync() (flush, fsync, release, and every commit_interval for files
//   held open) queues the inode's extents with its attributes.
// - Entry operations are queued as they complete, in that order, and
//   not waited for: the background thread commits them within
//   batch_delay (or at once when batch_max are queued). Whatever an
//   application saw complete is in the journal before a replicator that
//   starts afterwards reads it because the replicator first asks for
//   commit_all() (the commit rendezvous, fs/commit_server.h; DESIGN.md,
//   "The write path", point 4). fsync and fsyncdir wait (wait=true).
//
// A change the catalog cannot place (the backing tree was changed behind
// the mount while it runs) is logged and counted, never fatal: the next
// start-up scan mends the catalog and journals what differs.
//
// Thread-safety: every method may be called from any thread. Lock order:
// Inode::mu before the recorder's mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <set>
#include <vector>

#include "db/catalog.h"
#include "db/journal.h"
#include "db/sqlite.h"
#include "fs/change.h"
#include "fs/inode_table.h"

namespace mirrorfs::fs {

class Recorder {
 public:
  struct Options {
    // Extents of files held open are committed at least this often.
    std::chrono::milliseconds commit_interval{5000};
    // A change nobody waits for is committed at most this long after it
    // was queued (the group commit's bound) ...
    std::chrono::milliseconds batch_delay{5};
    // ... or as soon as this many are queued.
    size_t batch_max = 4096;
    // false: record nothing (benchmarks measure the journal's cost with
    // it). Changes are then NOT replicated.
    bool journal = true;
    // BACKING (an O_PATH fd the caller keeps open): at stop(), the
    // catalog rows of the directories whose entries changed take their
    // mtime from it, so that a clean restart's scan, which compares
    // directory mtimes, finds nothing. -1: not done.
    int backing_fd = -1;
  };

  // Takes the connection the committer thread will use (its own: SQLite
  // connections are per thread) and starts that thread.
  static Result<std::unique_ptr<Recorder>> start(
      std::unique_ptr<db::Database> db, const Options& opt);
  // Commits everything still in memory and stops the thread.
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Queues a change; with wait, returns once it is committed.
  void record(Change c, bool wait);
  // [off, off + len) of `inode` was written.
  void wrote(Inode& inode, uint64_t off, uint64_t len);
  // Queues the extents written to `inode` since its last sync, with its
  // attributes now; with wait, returns once they are committed.
  void sync(Inode& inode, bool wait);
  // Commits every change queued before the call; returns the journal's
  // last seq after that commit (0 if nothing was ever journaled; also 0
  // with journaling off). Extents of files held open and not yet synced
  // are not included: no application saw them complete.
  uint64_t commit_all();
  // Commits what every file holds in memory, then stops the thread.
  // Idempotent; the destructor calls it.
  void stop();

  // Changes that could not be recorded (logged), and commits that failed.
  uint64_t errors() const;

 private:
  Recorder(std::unique_ptr<db::Database> db,
           std::unique_ptr<db::Catalog> catalog,
           std::unique_ptr<db::Journal> journal, const Options& opt);
  // REQUIRES: mu_ held. Returns the change's ticket.
  uint64_t enqueue(Change c, bool wait);
  void wait_for(uint64_t ticket);
  void lead(std::unique_lock<std::mutex>& lock);
  void run();
  void sync_open_files();
  // Returns the journal's last seq afterwards (0: the commit failed).
  uint64_t commit(const std::vector<Change>& changes);
  // At stop: the catalog's mtime of each directory in dirs_changed_ from
  // BACKING (nothing can be in flight any more).
  void refresh_directories();

  const Options opt_;
  std::unique_ptr<db::Database> db_;  // used by the leader only
  std::unique_ptr<db::Catalog> catalog_;
  std::unique_ptr<db::Journal> journal_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // queue_ gained work, or stopping_
  std::condition_variable done_cv_;  // committed_ moved
  std::vector<Change> queue_;        // guarded by mu_
  uint64_t queued_ = 0;              // tickets handed out; guarded by mu_
  uint64_t committed_ = 0;           // tickets committed; guarded by mu_
  uint64_t last_seq_ = 0;  // the journal's last seq; guarded by mu_
  // When the oldest change in queue_ was queued; guarded by mu_.
  std::chrono::steady_clock::time_point queued_since_;
  bool committing_ = false;  // a thread is committing; guarded by mu_
  uint64_t errors_ = 0;              // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  bool stopped_ = false;             // the thread is gone; guarded by mu_
  // Backing inos of directories whose entries committed changes touched:
  // the committer's alone (read by stop() after joining it).
  std::set<uint64_t> dirs_changed_;
  // Inodes holding written ranges not yet queued; guarded by mu_.
  std::map<Inode*, std::shared_ptr<Inode>> unsynced_;
  std::thread thread_;
};

}  // namespace mirrorfs::fs

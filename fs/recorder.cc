#include "fs/recorder.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>

#include "db/attr_payload.h"
#include "fs/log.h"

namespace mirrorfs::fs {

Result<std::unique_ptr<Recorder>> Recorder::start(
    std::unique_ptr<db::Database> db, const Options& opt) {
  MIRRORFS_ASSIGN_OR_RETURN(catalog, db::Catalog::open(*db));
  MIRRORFS_ASSIGN_OR_RETURN(journal, db::Journal::open(*db));
  MIRRORFS_ASSIGN_OR_RETURN(last_seq, journal->last_seq());
  std::unique_ptr<Recorder> r(new Recorder(std::move(db), std::move(catalog),
                                           std::move(journal), opt));
  r->last_seq_ = last_seq;
  if (opt.journal) r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

Recorder::Recorder(std::unique_ptr<db::Database> db,
                   std::unique_ptr<db::Catalog> catalog,
                   std::unique_ptr<db::Journal> journal, const Options& opt)
    : opt_(opt),
      db_(std::move(db)),
      catalog_(std::move(catalog)),
      journal_(std::move(journal)) {}

Recorder::~Recorder() { stop(); }

uint64_t Recorder::enqueue(Change c, bool wait) {
  if (queue_.empty()) queued_since_ = std::chrono::steady_clock::now();
  queue_.push_back(std::move(c));
  // A waiter commits its own change (wait_for). The background thread is
  // woken when a batch starts (it then sleeps until batch_delay has
  // passed) and when the batch is full; not once per change: on this
  // kind of VM a wake-up costs more than queueing.
  if (!wait && (queue_.size() == 1 || queue_.size() >= opt_.batch_max)) {
    work_cv_.notify_one();
  }
  return ++queued_;
}

// Leader/follower group commit (as in LevelDB's write path): a waiter
// whose change is not committed yet either commits everything queued
// itself, if no commit is running, or waits for the running one and
// checks again. No thread handoff on the way: on this kind of VM a
// wake-up costs more than the commit.
void Recorder::wait_for(uint64_t ticket) {
  std::unique_lock lock(mu_);
  while (committed_ < ticket && !stopped_) {
    if (committing_) {
      done_cv_.wait(lock);
    } else {
      lead(lock);
    }
  }
}

// REQUIRES: lock holds mu_ and no commit is running. Commits the whole
// queue with mu_ released; other threads queue meanwhile.
void Recorder::lead(std::unique_lock<std::mutex>& lock) {
  committing_ = true;
  std::vector<Change> changes;
  changes.swap(queue_);
  const uint64_t upto = queued_;
  lock.unlock();
  const uint64_t seq = changes.empty() ? 0 : commit(changes);
  lock.lock();
  if (seq != 0) last_seq_ = seq;
  committed_ = upto;
  committing_ = false;
  done_cv_.notify_all();
  if (!queue_.empty()) work_cv_.notify_one();  // queued meanwhile
}

void Recorder::record(Change c, bool wait) {
  if (!opt_.journal) return;
  uint64_t ticket;
  {
    std::lock_guard lock(mu_);
    ticket = enqueue(std::move(c), wait);
  }
  if (wait) wait_for(ticket);
}

uint64_t Recorder::commit_all() {
  if (!opt_.journal) return 0;
  uint64_t ticket;
  {
    std::lock_guard lock(mu_);
    ticket = queued_;
  }
  wait_for(ticket);
  std::lock_guard lock(mu_);
  return last_seq_;
}

void Recorder::wrote(Inode& inode, uint64_t off, uint64_t len) {
  if (!opt_.journal) return;
  std::lock_guard ilock(inode.mu);
  inode.written.add(off, len);
  if (inode.dirty_marked) return;
  inode.dirty_marked = true;
  Change c;
  c.kind = db::JournalKind::kDirty;
  c.ino = inode.ino;
  std::lock_guard lock(mu_);
  unsynced_.emplace(&inode, inode.shared_from_this());
  enqueue(std::move(c), /*wait=*/false);
}

void Recorder::sync(Inode& inode, bool wait) {
  if (!opt_.journal) return;
  Change c;
  c.kind = db::JournalKind::kExtent;
  c.ino = inode.ino;
  uint64_t ticket;
  {
    std::lock_guard ilock(inode.mu);
    if (inode.written.empty() && !inode.dirty_marked) {
      if (!wait) return;
      // Nothing of ours to commit, but an earlier queued change of this
      // file (or any) must be in before flush returns: wait for the tail.
      std::lock_guard lock(mu_);
      ticket = queued_;
    } else {
      c.extents = inode.written.take();
      inode.dirty_marked = false;
      // The attributes the extents leave behind, for the start-up scan's
      // comparison. O_PATH fds can be fstat()ed. (Pinning under
      // Inode::mu is in the lock order, inode_table.h.)
      {
        const InodeFd fd = pin_fd(inode);
        c.has_stat = fd.ok() && ::fstat(fd.get(), &c.st) == 0;
      }
      std::lock_guard lock(mu_);
      unsynced_.erase(&inode);
      ticket = enqueue(std::move(c), wait);
    }
  }
  if (wait) wait_for(ticket);
}

void Recorder::sync_open_files() {
  std::vector<std::shared_ptr<Inode>> inodes;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, inode] : unsynced_) inodes.push_back(inode);
  }
  for (auto& inode : inodes) sync(*inode, /*wait=*/false);
}

void Recorder::stop() {
  if (!thread_.joinable()) return;
  sync_open_files();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
  refresh_directories();
  {
    std::lock_guard lock(mu_);
    stopped_ = true;  // a change queued from now on is never committed
  }
  done_cv_.notify_all();
}

uint64_t Recorder::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

// The background committer: commits what nobody waits for (entry
// operations, dirty marks, closes) batch_delay after the first of a
// batch was queued, or once batch_max are queued; and, every
// commit_interval, the extents of files held open.
void Recorder::run() {
  using Clock = std::chrono::steady_clock;
  auto next_sync = Clock::now() + opt_.commit_interval;
  std::unique_lock lock(mu_);
  // A batch is due when it is full or its oldest change waited long
  // enough. REQUIRES: mu_ held.
  auto due = [&] {
    return !queue_.empty() && !committing_ &&
           (queue_.size() >= opt_.batch_max || stopping_ ||
            Clock::now() >= queued_since_ + opt_.batch_delay);
  };
  for (;;) {
    const auto wake = queue_.empty() || committing_
                          ? next_sync
                          : std::min(next_sync,
                                     queued_since_ + opt_.batch_delay);
    work_cv_.wait_until(lock, wake, [&] { return due() || stopping_; });
    if (due()) {
      lead(lock);
      continue;
    }
    if (stopping_) {
      if (queue_.empty() && !committing_) return;
      done_cv_.wait(lock);  // a leader is finishing; then drain
      continue;
    }
    if (std::chrono::steady_clock::now() >= next_sync) {
      lock.unlock();
      sync_open_files();
      lock.lock();
      next_sync = std::chrono::steady_clock::now() + opt_.commit_interval;
    }
  }
}

// One transaction for all of `changes`; each change in its own savepoint,
// so one that the catalog cannot place is skipped (and logged) without
// undoing the others. A failed commit (disk full, a lock held too long)
// is retried; in the end the changes are logged as lost to this run: the
// next start-up scan finds them in the backing tree.
uint64_t Recorder::commit(const std::vector<Change>& changes) {
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    uint64_t skipped = 0;
    db::JournalBatch batch;
    Result<db::Transaction> txn =
        db::Transaction::begin(*db_, db::Transaction::Kind::kWrite);
    if (!txn.is_ok()) {
      last = txn.status();
      continue;
    }
    ChangeApplier applier(*catalog_, batch);
    for (const Change& c : changes) {
      if (c.parent != 0) dirs_changed_.insert(c.parent);
      if (c.parent2 != 0) dirs_changed_.insert(c.parent2);
      const size_t mark = batch.size();
      Result<db::Transaction> step =
          db::Transaction::begin(*db_, db::Transaction::Kind::kWrite);
      Status st = step.is_ok() ? applier.apply(c) : step.status();
      if (st.is_ok()) st = step->commit();
      if (!st.is_ok()) {
        batch.truncate(mark);
        ++skipped;
        log_error("cannot record " + c.name + " (kind " +
                  std::to_string(static_cast<int>(c.kind)) +
                  "): " + st.to_string() +
                  "; the next start-up scan will mend it");
      }
    }
    Result<uint64_t> seq = journal_->commit(batch);
    last = seq.is_ok() ? txn->commit() : seq.status();
    if (last.is_ok()) {
      std::lock_guard lock(mu_);
      errors_ += skipped;
      return *seq;
    }
  }
  log_error("journal commit failed, " + std::to_string(changes.size()) +
            " changes not recorded: " + last.to_string() +
            "; the next start-up scan will find them");
  std::lock_guard lock(mu_);
  errors_ += changes.size();
  return 0;
}

void Recorder::refresh_directories() {
  if (opt_.backing_fd < 0 || !opt_.journal || dirs_changed_.empty()) return;
  Result<db::Transaction> txn = db::Transaction::begin(*db_, db::Transaction::Kind::kWrite);
  if (!txn.is_ok()) return;  // the next scan journals their mtimes: harmless
  for (uint64_t ino : dirs_changed_) {
    Result<db::FileId> id = catalog_->lookup_backing(ino);
    if (!id.is_ok()) continue;
    Result<std::string> path = catalog_->path_of(*id);
    Result<db::FileAttrs> cat = catalog_->get(*id);
    if (!path.is_ok() || !cat.is_ok() || cat->kind != db::FileKind::kDir) continue;
    struct stat st;
    if (::fstatat(opt_.backing_fd, path->empty() ? "." : path->c_str(), &st,
                  AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode) || st.st_ino != ino) {
      continue;
    }
    // Only the times: a mode or owner changed behind the mount must still
    // be found (and journaled) by the next scan.
    db::FileAttrs a = *cat;
    a.mtime_ns = db::ns_of(st.st_mtim);
    a.ctime_ns = db::ns_of(st.st_ctim);
    if (a.mtime_ns != cat->mtime_ns || a.ctime_ns != cat->ctime_ns) {
      if (!catalog_->set(*id, a).is_ok()) return;
    }
  }
  (void)txn->commit();
}

}  // namespace mirrorfs::fs

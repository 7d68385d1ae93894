// The change journal: an ordered sequence of records the mount appends and
// the replicator reads and trims. Schema: docs/state-db.md.
//
// Appends are batched: callers fill a JournalBatch in memory (no database
// work) and commit() writes it in one transaction (group commit), so the
// FUSE write path never waits for a commit per operation. A batch is
// atomic: after any crash either all of its records are there, with
// consecutive sequence numbers, or none.
//
// Thread-safety: a Journal uses one Database connection and must be used
// by one thread at a time; other threads and processes open their own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

enum class JournalKind : uint8_t {
  kCreate = 1,  // path: new regular file
  kMkdir = 2,
  kMknod = 3,    // fifo, socket, device: data holds mode and rdev
  kSymlink = 4,  // path2: the link's text
  kLink = 5,     // path: existing name; path2: the new name
  kUnlink = 6,
  kRmdir = 7,
  kRename = 8,     // path -> path2; off: rename flags (EXCHANGE, NOREPLACE)
  kSetattr = 9,    // data: which attributes and their values
  kTruncate = 10,  // off: the new size
  kSetxattr = 11,  // path2: attribute name; data: value
  kRemovexattr = 12,
  kDirty = 13,   // the first write to a file since its last sync: re-sync
                 // in full if no kExtent rows follow (a crash before close)
  kExtent = 14,  // bytes [off, off + len) were written
};

struct JournalRecord {
  uint64_t seq = 0;  // assigned by commit(); ignored on append
  JournalKind kind = JournalKind::kDirty;
  uint64_t file_id = 0;  // catalog inode id, 0 when unknown
  std::string path;      // relative to the mount root
  std::string path2;
  uint64_t off = 0;
  uint64_t len = 0;
  std::vector<uint8_t> data;
};

// Records gathered in memory for one group commit.
class JournalBatch {
 public:
  void add(JournalRecord r) { records_.push_back(std::move(r)); }
  void add(JournalKind kind, uint64_t file_id, std::string path,
           std::string path2 = {}, uint64_t off = 0, uint64_t len = 0,
           std::vector<uint8_t> data = {}) {
    records_.push_back(JournalRecord{0, kind, file_id, std::move(path),
                                     std::move(path2), off, len,
                                     std::move(data)});
  }
  void add_extent(uint64_t file_id, uint64_t off, uint64_t len) {
    add(JournalKind::kExtent, file_id, {}, {}, off, len);
  }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  const std::vector<JournalRecord>& records() const { return records_; }
  void clear() { records_.clear(); }
  // Drops the records after the first n (undoing a failed step).
  void truncate(size_t n) {
    if (n < records_.size()) records_.resize(n);
  }

 private:
  std::vector<JournalRecord> records_;
};

class Journal {
 public:
  // REQUIRES: db is an open state database (open_state_db) that outlives
  // the Journal.
  static Result<std::unique_ptr<Journal>> open(Database& db);

  // Writes every record of the batch in one transaction, clears the batch
  // and returns the sequence number of its last record (0 if it was
  // empty). The records get consecutive sequence numbers.
  Result<uint64_t> commit(JournalBatch& batch);

  // Up to `limit` records with seq > after, in order, read in one read
  // transaction (one consistent snapshot).
  Result<std::vector<JournalRecord>> read_after(uint64_t after, size_t limit);

  // Deletes the records with seq <= upto (acknowledged by every mirror).
  // Sequence numbers are never reused afterwards.
  Status trim(uint64_t upto);

  // What is left after `after`: the number of records, and the bytes
  // their extents cover (a lower bound on what there is to send).
  struct Pending {
    uint64_t records = 0;
    uint64_t extent_bytes = 0;
  };
  Result<Pending> pending(uint64_t after);

  // The highest sequence number ever assigned (0 if none), trimmed or not.
  Result<uint64_t> last_seq();

 private:
  explicit Journal(Database& db) : db_(db) {}
  Database& db_;
  Statement insert_, read_, trim_, last_, pending_;
};

}  // namespace mirrorfs::db

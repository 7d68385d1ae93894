// Turning a batch of journal records into what to send a mirror.
//
// The batch is read in one read transaction together with the catalog, so
// the catalog describes the tree exactly as of the batch's last record
// (the mount commits catalog and journal changes together). A plan has
// three parts, sent in this order:
//   1. entry operations, in journal order, each with its journal seq;
//   2. content updates, one per file whose content changed in the batch and
//      that still exists at its end, under its path at the end of the
//      batch (renames in the batch were replayed by part 1);
//   3. attribute fixes: for every entry the batch touched that still
//      exists (and each directory it changed), its mode, owner and mtime as
//      they are now in BACKING, so mirrors converge to the nanosecond
//      whatever the order of the operations that moved them (a rename into
//      a directory bumps its mtime on the mirror as on the source).
// Many writes to one file become one content update; entry operations keep
// their order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "db/catalog.h"
#include "db/journal.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

struct ContentJob {
  db::FileId file = 0;
  std::string path;                // at the end of the batch
  std::vector<std::string> links;  // its other names (hard links)
  uint64_t first_seq = 0;  // first record of the batch that changed it
  uint64_t last_seq = 0;   // last such record
  bool created = false;    // created in this batch: the mirror has no basis
  // For a created file: the file whose name it took in the batch (renamed
  // over it, or created where it was unlinked), 0 if none. The version a
  // mirror holds of that one is a likely basis (save-by-rename editors).
  db::FileId replaced = 0;
  // Written ranges, merged; `whole` when the journal does not say what
  // changed (a dirty mark without extents: a crash, a file still open, or
  // a change found by the start-up scan).
  std::vector<std::pair<uint64_t, uint64_t>> extents;  // (offset, length)
  bool whole = false;
  uint64_t min_truncate = UINT64_MAX;  // smallest size truncated to
  // The catalog's row for the file at the snapshot: the stat the mount
  // recorded with its last extent commit (the dirty-range check).
  db::FileAttrs catalog;
};

struct AttrFix {
  db::FileId file = 0;
  std::string path;  // at the end of the batch; "" = the root
  bool is_dir = false;
  // The first record of the batch that made the fix needed: if `path`
  // no longer names the entry when the fix is sent (renamed since the
  // snapshot), the batch is acknowledged only below it, so the next batch
  // replays that record, which touches the entry again at its new path.
  uint64_t seq = 0;
  uint64_t backing_ino = 0;  // the entry's st_ino in the catalog; 0 = unknown
};

struct Plan {
  uint64_t first_seq = 0, last_seq = 0;  // the records planned
  std::vector<wire::EntryOp> ops;
  std::vector<ContentJob> contents;
  std::vector<AttrFix> attrs;  // directories last, deepest first
};

// REQUIRES: records are consecutive journal records in seq order, and
// `catalog` reads the same snapshot (the caller holds one read transaction
// around reading both). kCorrupt for a record this build cannot read.
Result<Plan> plan_batch(const std::vector<db::JournalRecord>& records,
                        db::Catalog& catalog);

// A full plan from the catalog alone: every directory, symlink, node and
// file as content, for a mirror that has nothing acknowledged yet and a
// journal that no longer holds everything (trimmed for other mirrors).
// `seq` is the journal seq the snapshot corresponds to.
Result<Plan> plan_full(db::Catalog& catalog, uint64_t seq);

}  // namespace mirrorfs::replicator

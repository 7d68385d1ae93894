// The start-up scan: compares the backing tree with the catalog and
// journals every difference, so a change made while the mount was down,
// or behind it, is never skipped (DESIGN.md invariant 5).
//
// Per directory, the backing entries and the catalog's names are merged
// by name. New names are created (hard links and renames recognised by
// backing inode number), vanished ones removed (subtrees depth-first), a
// changed kind is a remove and a create, a name now holding an inode the
// catalog knows elsewhere (or a hard-linked name now holding another
// inode) is a remove and a create too, and a file whose inode, size,
// mtime or ctime differs from the catalog is marked dirty (re-synced in
// full, by delta).
// On the first start every file of a non-empty BACKING is new: that is
// the initial sync.
//
// Runs before the mount serves requests, on its own connection, with
// changes committed every `batch` records.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::fs {

struct ScanStats {
  uint64_t entries = 0;  // backing entries visited
  uint64_t created = 0;  // journaled as new (incl. links)
  uint64_t removed = 0;  // journaled as gone
  uint64_t changed = 0;  // journaled as dirty or with new attributes
  uint64_t records = 0;  // journal records written
};

struct ScanOptions {
  size_t batch = 20000;  // journal records per transaction
};

// REQUIRES: root_fd is a directory fd of BACKING (any open mode); db is
// open (schema current) and used by this thread only.
Result<ScanStats> scan_backing(db::Database& db, int root_fd,
                               const ScanOptions& opt = {});

}  // namespace mirrorfs::fs

// A test stand-in for the replicator: applies journal rows to a copy of
// the tree as it was when they began, the way DESIGN.md's replicator will
// (entry operations in order; content as the written extents of each file,
// copied from the backing file's final content at the end). If change
// capture is complete, the copy then equals BACKING.
#pragma once

#include <string>
#include <vector>

#include "db/journal.h"

namespace mirrorfs::fs::testing {

// Applies `rows` to `replica`. Extents are copied from `backing`, at the
// file's current path there (looked up in the catalog of `state_db`).
// Returns "" or a description of the first row it could not apply.
std::string replay_journal(const std::vector<db::JournalRecord>& rows,
                           const std::string& replica,
                           const std::string& backing,
                           const std::string& state_db);

// Compares two trees: names, kinds, modes, owners, sizes, contents,
// symlink targets, user.* xattrs and which names are hard links of one
// another; with `mtimes`, also every entry's mtime to the nanosecond (the
// roots' included). Returns "" or the first difference.
std::string compare_trees(const std::string& a, const std::string& b,
                          bool mtimes = false);

}  // namespace mirrorfs::fs::testing

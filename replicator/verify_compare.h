// The pure half of `mirrorfs verify`: two listings in, differences out.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "replicator/verify.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

// What the journal holds past the mirror's acknowledgement: names a
// record changed (with everything beneath them: a renamed or removed
// directory), and directories whose entries it changed (their own
// attributes only).
struct PendingPaths {
  std::unordered_set<std::string> subtrees;
  std::unordered_set<std::string> exact;
};

// Compares `source` with `mirror` (both pre-order, paths relative to the
// root, regular files with has_hash when their content was hashed: a file
// without a hash on either side is a "content" difference, since it could
// not be checked). A difference whose path, or one of whose ancestors, is
// in pending.subtrees, or whose path is in pending.exact, goes to
// report.pending instead. Owners are compared unless
// every mirror entry has one owner that the source does not share (a
// mirror not running as root cannot set owners). Fills differences,
// pending and entries; the byte counts are the caller's.
VerifyReport compare_listings(const std::vector<wire::ListEntry>& source,
                              const std::vector<wire::ListEntry>& mirror,
                              const PendingPaths& pending);

// "dir/name" -> "dir"; a top-level name -> "".
std::string parent_path(const std::string& path);

}  // namespace mirrorfs::replicator

// The dirty-range strategy: the next version of a file, built from the
// version a mirror holds and the ranges the journal says were written
// since, reading only those ranges of BACKING (DESIGN.md, "The
// replication path"). The cost is O(bytes changed), not O(file size).
//
// It is only correct when the file changed through the mount alone since
// that version, and the journal recorded every write: so it is taken
// only when the file's (inode, size, mtime, ctime) are still exactly what
// the catalog recorded at the batch's snapshot (the mount refreshes them
// with every extent commit; a change behind the mount, or a write after
// the snapshot, moves them), and never for a file the journal marked
// dirty without extents (a crash, a start-up scan). The mirror checks the
// whole-file hash of what it builds as always; the two sides agree on
// which leaves were rehashed because both derive it from the delta.
//
// What goes on the wire is an ordinary librsync delta — LITERAL for the
// changed bytes, COPY of the same offset for everything else — flagged
// wire::kFileInPlace, so a mirror may apply it in place.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/content_hash.h"
#include "core/signature_format.h"
#include "core/status.h"
#include "db/catalog.h"
#include "replicator/content_sender.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

// [begin, end) byte ranges, sorted and disjoint.
using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

// What the replicator knows of the version a mirror holds (from the
// signature cache): enough to build the next one without reading it.
struct KnownVersion {
  wire::Hash hash{};
  uint64_t size = 0;
  std::vector<core::ContentHash> leaves;  // content-hash leaf digests
  std::vector<uint8_t> signature;         // librsync bytes of that version
};

// The bytes of the new version (new_size bytes) that may differ from the
// old one (old_size bytes): the written extents (offset, length), and
// everything from the smallest size the file was truncated to (or the old
// size, if smaller) up to the new size. Clipped to new_size.
Ranges changed_ranges(const std::vector<std::pair<uint64_t, uint64_t>>& extents,
                      uint64_t min_truncate, uint64_t old_size, uint64_t new_size);

// Whether a signature made with `have` may be carried to a version of
// new_size bytes by patching its blocks: its block length is within a
// factor of two of what mirror_signature_params would choose now (else the
// signature is made anew from a full read, so a growing file's signature
// does not degrade).
bool signature_carries(const core::SignatureParams& have, uint64_t new_size);

struct DirtyRange {
  std::vector<std::pair<uint64_t, uint64_t>> extents;  // (offset, length)
  uint64_t min_truncate = UINT64_MAX;
  db::FileAttrs expected;  // the catalog's row for the file at the snapshot
};

// Sends the update of args.backing_path as a dirty-range delta against
// `old`, or sends nothing and returns Outcome::kNotApplicable when the
// strategy does not apply: the file is not as the catalog recorded it,
// the cached version is inconsistent, the signature does not carry, or
// more than a quarter of the file changed (a rolling delta is then no
// dearer to compute and may find moved data). Other outcomes as
// send_content; `signature` and `leaves` describe the new version.
Result<ContentResult> send_dirty_range(const MessageSink& send, const SendContentArgs& args,
                                       const KnownVersion& old, const DirtyRange& dirty);

}  // namespace mirrorfs::replicator

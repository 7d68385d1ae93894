// Seeding: the first sync to a mirror that may already hold data (a copy
// restored from tape, an earlier rsync). The replicator lists what the
// mirror holds (ListRequest, docs/protocol.md) and adapts the full plan
// of the tree to it:
//   - entries the source does not have, or has as another file type, are
//     removed first (Unlink/Rmdir, every entry before its directory), so
//     the plan's entry operations find their names free;
//   - a file the mirror already holds as a regular file at the same path
//     is sent as a delta against the mirror's own signature (SigRequest),
//     not re-sent; every other file is literal (no signature round trip).
// Directories, symlinks and nodes the mirror holds with the right type
// are kept: the plan's entry operations and attribute fixes converge them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/client_session.h"
#include "replicator/plan.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

// Everything beneath `path` ("." for the root) on the mirror, in the
// mirror's pre-order. An Error answer becomes its Status.
Result<std::vector<wire::ListEntry>> list_mirror(ClientSession& session, const std::string& path,
                                                 std::chrono::milliseconds timeout);

// The entries of a listing from every answer to its ListRequest (the
// final one last). An Error answer becomes its Status (kNotFound when the
// mirror said so, the errno kept); a count that does not add up is
// kCorrupt.
Result<std::vector<wire::ListEntry>> listing_of(const std::vector<wire::Message>& answers,
                                                const std::string& path);
// The answers to the ListRequest sent as `id` for `path`, gathered and
// checked (as list_mirror does after sending it).
Result<std::vector<wire::ListEntry>> collect_listing(ClientSession& session, uint64_t id,
                                                     const std::string& path,
                                                     std::chrono::milliseconds timeout);

// Adapts `plan` (from plan_full) to a mirror holding `mirror` (from
// list_mirror of "."). The removals carry seq plan.first_seq, so one the
// mirror fails to apply holds its Ack below every change of the plan and
// the next round seeds again. REQUIRES: plan.first_seq >= 1.
void seed_plan(const std::vector<wire::ListEntry>& mirror, Plan& plan);

}  // namespace mirrorfs::replicator

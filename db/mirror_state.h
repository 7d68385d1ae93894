// Per-mirror replication state (tables `mirrors` and `mirror_files`): how
// far each mirror has acknowledged the journal, which version (content
// hash) of each file it holds, and how the last contact went.
//
// Thread-safety: one thread at a time, as the Database it uses.
// Transactions: commit_ack() opens its own write transaction; REQUIRES
// no transaction open on the Database for it (SQLite does not nest BEGIN;
// such a call fails with kInternal and changes nothing). Every other
// method makes at most one change, so is atomic without one, and may run
// inside a transaction the caller holds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "db/catalog.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

using MirrorId = uint64_t;

struct MirrorInfo {
  MirrorId id = 0;
  std::string name;
  uint64_t acked_seq = 0;       // journal seq acknowledged, 0 = none
  int64_t last_contact_ns = 0;  // last attempt, success or not; 0 = never
  std::string last_error;       // of that attempt; empty = it went well
  std::string identity;         // the mirror's id (HelloOk); empty = not yet known
  int64_t last_ok_ns = 0;       // last attempt that went well; 0 = never
  uint64_t bytes_sent = 0;      // on the wire, both directions, all time
  uint64_t bytes_saved = 0;     // file bytes not sent thanks to deltas
};

class MirrorState {
 public:
  // REQUIRES: db is migrated to schema v4 and outlives this object.
  static Result<std::unique_ptr<MirrorState>> open(Database& db);

  MirrorState(const MirrorState&) = delete;
  MirrorState& operator=(const MirrorState&) = delete;

  // The id of mirror `name`, registering it (acked_seq 0) if new.
  Result<MirrorId> add_mirror(std::string_view name);
  Result<std::vector<MirrorInfo>> list();
  // The id of mirror `name`; kNotFound if it is not registered.
  Result<MirrorId> find_mirror(std::string_view name);

  // Forgets mirror `name`: its row and its file versions go (traffic
  // counters too), so the journal is no longer kept for it. kNotFound if
  // it is not registered. In one transaction.
  Status remove_mirror(std::string_view name);

  // Which mirror the name was last synced with: the id its HelloOk gave
  // ("" if never recorded, e.g. a state from before schema v6).
  Result<std::string> identity(MirrorId mirror);
  Status set_identity(MirrorId mirror, std::string_view identity);

  // Starts `mirror` over as if it had never been synced: acked_seq 0 and
  // no file versions (so the next sync lists the mirror and seeds it
  // against what it holds), under identity `identity`. Traffic counters
  // and the last contact stay. In one transaction.
  Status restart(MirrorId mirror, std::string_view identity);

  Result<uint64_t> acked_seq(MirrorId mirror);
  // Acknowledgements only move forward: seq below the stored one is
  // refused (kInvalidArgument); the same seq again is a no-op.
  Status set_acked(MirrorId mirror, uint64_t seq);

  // Records that `mirror` holds the version of `file` with content hash
  // `hash`. An empty hash records that it holds none (the row goes).
  Status set_file_version(MirrorId mirror, FileId file,
                          std::span<const uint8_t> hash);
  // The hash of the version `mirror` holds, nullopt if none recorded.
  Result<std::optional<std::vector<uint8_t>>> file_version(MirrorId mirror,
                                                           FileId file);

  // Records an attempt to reach `mirror` at now_ns; `error` empty = ok
  // (then also the last success).
  Status record_contact(MirrorId mirror, int64_t now_ns,
                        std::string_view error);

  // Adds to the mirror's traffic counters.
  Status add_traffic(MirrorId mirror, uint64_t sent, uint64_t saved);

  // The journal may be trimmed up to (and including) this seq: the
  // smallest acked_seq over all mirrors. With no mirror registered it is
  // 0 (trim nothing): mirrors are registered by the replicator, which may
  // first run long after the mount started journaling, and those changes
  // must still reach it (invariant 3, nothing lost).
  Result<uint64_t> min_acked_seq();

  // In one transaction: records every (file, hash) in `versions` (as
  // set_file_version) and advances the ack to `seq` (as set_acked). On
  // any failure, a backwards seq included, nothing is recorded.
  Status commit_ack(
      MirrorId mirror, uint64_t seq,
      std::span<const std::pair<FileId, std::vector<uint8_t>>> versions);

 private:
  explicit MirrorState(Database& db) : db_(db) {}

  Status require_mirror(MirrorId mirror);  // kNotFound if unknown
  Status put_version(MirrorId mirror, FileId file,
                     std::span<const uint8_t> hash);
  Status advance(MirrorId mirror, uint64_t seq);

  Database& db_;
  Statement insert_, find_, list_, acked_, set_acked_, upsert_file_,
      delete_file_, file_, contact_, min_acked_, traffic_, identity_,
      set_identity_, reset_acked_, delete_files_, delete_mirror_;
};

}  // namespace mirrorfs::db

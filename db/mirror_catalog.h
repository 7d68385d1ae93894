// The mirror daemon's own database, STATE_DIR/mirror.db (separate from
// the replicator's state.db): the mirror's id, how far each client's
// journal is applied and durable here, and a catalog of the regular files
// under ROOT whose content hash is known, so a basis check costs a stat
// instead of a read of the whole file. Spec: docs/state-db.md ("The
// mirror database").
//
// The file catalog is a cache keyed by inode number: a row is trusted only
// while the file's (size, mtime_ns, ctime_ns) still match it, so a stale
// row is harmless (ino reuse, a change behind the daemon's back). It is
// also only an optimisation: the mirror checks the hash of every patch
// result before renaming it into place.
//
// Thread-safety: one thread at a time, as the Database it owns.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/content_hash.h"
#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

// The schema this build writes (PRAGMA user_version of mirror.db).
inline constexpr int kMirrorSchemaVersion = 3;

// Brings a mirror database up to `target` (each step one transaction).
Status migrate_mirror_db(Database& db, int target = kMirrorSchemaVersion);

struct MirrorFileRow {
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  core::ContentHash hash{};
  // The leaf digests of the content hash (core/content_hash.h), in file
  // order; empty = unknown. When set, hash ==
  // content_hash_from_leaves(leaves, size): an in-place update rehashes
  // only the leaves it changes and takes the others from here.
  std::vector<core::ContentHash> leaves;
  bool operator==(const MirrorFileRow&) const = default;
};

class MirrorCatalog {
 public:
  // Opens (creating) the database at path: integrity check, migration. A
  // new database takes `id_if_new` as the mirror id (the caller makes a
  // random one); an existing one keeps its own. REQUIRES: id_if_new is
  // not empty.
  static Result<std::unique_ptr<MirrorCatalog>> open(
      const std::string& path, std::string_view id_if_new);

  MirrorCatalog(const MirrorCatalog&) = delete;
  MirrorCatalog& operator=(const MirrorCatalog&) = delete;

  const std::string& mirror_id() const { return mirror_id_; }

  // The highest seq recorded as applied for `client`; 0 if none.
  Result<uint64_t> applied_seq(std::string_view client);
  // Records seq as applied for client. Forward only: a seq not above the
  // stored one changes nothing (OK). Durable on return: this commit syncs
  // the WAL (synchronous=FULL), unlike the catalog's other writes.
  Status set_applied(std::string_view client, uint64_t seq);
  // How far `client`'s entry operations were applied past its last
  // barrier, as set_progress recorded it during the boot `boot_id` of this
  // machine; 0 if it was recorded during another boot (a power cut may
  // have lost operations the record outlived) or never.
  Result<uint64_t> progress(std::string_view client, std::string_view boot_id);
  // Records it. Not durable, and cheap: it only has to outlive the daemon
  // (a crash, a dropped connection), not the machine.
  Status set_progress(std::string_view client, uint64_t seq, std::string_view boot_id);

  // The row of inode `ino`, nullopt if none. kCorrupt if its stored
  // leaves are not whole digests.
  Result<std::optional<MirrorFileRow>> file(uint64_t ino);
  // Inserts or replaces the row of row.ino.
  Status put_file(const MirrorFileRow& row);
  // Removes the row of `ino` (OK if there is none).
  Status forget_file(uint64_t ino);

 private:
  explicit MirrorCatalog(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  Status init_id(std::string_view id_if_new);

  std::unique_ptr<Database> db_;
  std::string mirror_id_;
  Statement applied_, set_applied_, progress_, set_progress_, file_, put_file_, forget_file_;
};

}  // namespace mirrorfs::db

#include "db/mirror_catalog.h"

#include <algorithm>
#include <limits>

#include "db/versioned_db.h"

namespace mirrorfs::db {
namespace {

// kMirrorMigrations[v - 1] takes mirror.db from version v - 1 to v. Never
// edit a step once released: add one.
constexpr const char* kMirrorMigrations[] = {
    // 1: the mirror's id, per-client applied seq, the file catalog.
    R"sql(
CREATE TABLE mirror (
  one       INTEGER PRIMARY KEY CHECK (one = 1),  -- a single row
  mirror_id TEXT NOT NULL                         -- 128-bit random, hex
);
CREATE TABLE clients (
  client      TEXT PRIMARY KEY,                   -- its key fingerprint
  applied_seq INTEGER NOT NULL DEFAULT 0          -- applied and durable
) WITHOUT ROWID;
CREATE TABLE files (
  ino      INTEGER PRIMARY KEY,                   -- st_ino (as signed 64-bit)
  size     INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  hash     BLOB NOT NULL                          -- content hash, 32 bytes
);
)sql",
    // 2: the leaf digests of each file's content hash (x'' = unknown).
    R"sql(
ALTER TABLE files ADD COLUMN leaves BLOB NOT NULL DEFAULT x'';
)sql",
    // 3: how far each client's entry operations were applied past its
    // last barrier, and during which boot of the machine.
    R"sql(
ALTER TABLE clients ADD COLUMN progress_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN progress_boot TEXT NOT NULL DEFAULT '';
)sql",
};
static_assert(std::size(kMirrorMigrations) == kMirrorSchemaVersion);

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

Status migrate_mirror_db(Database& db, int target) {
  return migrate_steps(db, kMirrorMigrations, target);
}

Result<std::unique_ptr<MirrorCatalog>> MirrorCatalog::open(
    const std::string& path, std::string_view id_if_new) {
  if (id_if_new.empty()) return Status::invalid_argument("empty mirror id");
  Result<std::unique_ptr<Database>> db =
      open_versioned_db(path, {}, kMirrorMigrations);
  if (!db.is_ok()) return db.status();
  std::unique_ptr<MirrorCatalog> c(new MirrorCatalog(std::move(*db)));
  MIRRORFS_RETURN_IF_ERROR(c->init_id(id_if_new));
  const std::pair<Statement*, const char*> sql[] = {
      {&c->applied_, "SELECT applied_seq FROM clients WHERE client = ?1"},
      // Forward only, in the statement itself.
      {&c->set_applied_,
       "INSERT INTO clients(client, applied_seq) VALUES (?1, ?2) "
       "ON CONFLICT(client) DO UPDATE SET applied_seq = excluded.applied_seq "
       "WHERE excluded.applied_seq > applied_seq"},
      {&c->progress_,
       "SELECT progress_seq FROM clients WHERE client = ?1 AND progress_boot = ?2"},
      {&c->set_progress_,
       "INSERT INTO clients(client, progress_seq, progress_boot) VALUES (?1, ?2, ?3) "
       "ON CONFLICT(client) DO UPDATE SET progress_seq = excluded.progress_seq, "
       "progress_boot = excluded.progress_boot"},
      {&c->file_,
       "SELECT size, mtime_ns, ctime_ns, hash, leaves FROM files "
       "WHERE ino = ?1"},
      {&c->put_file_,
       "INSERT OR REPLACE INTO files(ino, size, mtime_ns, ctime_ns, hash, "
       "leaves) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&c->forget_file_, "DELETE FROM files WHERE ino = ?1"},
  };
  for (const auto& [st, text] : sql) {
    Result<Statement> p = c->db_->prepare(text);
    if (!p.is_ok()) return p.status();
    *st = std::move(*p);
  }
  return c;
}

Status MirrorCatalog::init_id(std::string_view id_if_new) {
  Result<Transaction> txn = Transaction::begin(*db_, Transaction::Kind::kWrite);
  if (!txn.is_ok()) return txn.status();
  {
    Result<Statement> ins = db_->prepare(
        "INSERT INTO mirror(one, mirror_id) VALUES (1, ?1) "
        "ON CONFLICT(one) DO NOTHING");
    if (!ins.is_ok()) return ins.status();
    ins->bind(1, id_if_new);
    MIRRORFS_RETURN_IF_ERROR(ins->run());
    Result<Statement> sel = db_->prepare("SELECT mirror_id FROM mirror");
    if (!sel.is_ok()) return sel.status();
    Result<bool> row = sel->step();
    if (!row.is_ok()) return row.status();
    if (!*row) return Status::internal(db_->path() + ": no mirror id");
    mirror_id_ = sel->column_text(0);
  }
  return txn->commit();
}

Result<uint64_t> MirrorCatalog::applied_seq(std::string_view client) {
  Use st(applied_);
  st->bind(1, client);
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  return *row ? static_cast<uint64_t>(st->column_int(0)) : 0;
}

Status MirrorCatalog::set_applied(std::string_view client, uint64_t seq) {
  if (client.empty()) return Status::invalid_argument("empty client name");
  if (seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::invalid_argument("journal seq out of range");
  }
  // The client deletes its journal up to seq once we acknowledge it: the
  // record must survive a power cut, so this commit syncs the WAL.
  MIRRORFS_RETURN_IF_ERROR(db_->exec("PRAGMA synchronous=FULL"));
  Status st;
  {
    Use ins(set_applied_);
    ins->bind(1, client).bind(2, i64(seq));
    st = ins->run();
  }
  Status back = db_->exec("PRAGMA synchronous=NORMAL");
  return st.is_ok() ? back : st;
}

Result<uint64_t> MirrorCatalog::progress(std::string_view client, std::string_view boot_id) {
  Use st(progress_);
  st->bind(1, client).bind(2, boot_id);
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  return *row ? static_cast<uint64_t>(st->column_int(0)) : 0;
}

Status MirrorCatalog::set_progress(std::string_view client, uint64_t seq,
                                   std::string_view boot_id) {
  if (client.empty()) return Status::invalid_argument("empty client name");
  if (seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::invalid_argument("journal seq out of range");
  }
  Use st(set_progress_);
  st->bind(1, client).bind(2, i64(seq)).bind(3, boot_id);
  return st->run();
}

Result<std::optional<MirrorFileRow>> MirrorCatalog::file(uint64_t ino) {
  Use st(file_);
  st->bind(1, i64(ino));
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  if (!*row) return std::optional<MirrorFileRow>();
  MirrorFileRow r;
  r.ino = ino;
  r.size = static_cast<uint64_t>(st->column_int(0));
  r.mtime_ns = st->column_int(1);
  r.ctime_ns = st->column_int(2);
  const std::span<const uint8_t> h = st->column_blob(3);
  if (h.size() != r.hash.size()) {
    return Status::corrupt(db_->path() + ": hash of inode " +
                           std::to_string(ino) + " has " +
                           std::to_string(h.size()) + " bytes");
  }
  std::copy(h.begin(), h.end(), r.hash.begin());
  const std::span<const uint8_t> l = st->column_blob(4);
  if (l.size() % core::kContentHashLen != 0) {
    return Status::corrupt(db_->path() + ": leaves of inode " +
                           std::to_string(ino) + " have " +
                           std::to_string(l.size()) + " bytes");
  }
  r.leaves.resize(l.size() / core::kContentHashLen);
  for (size_t i = 0; i < r.leaves.size(); ++i) {
    std::copy_n(l.data() + i * core::kContentHashLen, core::kContentHashLen,
                r.leaves[i].begin());
  }
  return std::optional<MirrorFileRow>(r);
}

Status MirrorCatalog::put_file(const MirrorFileRow& row) {
  Use st(put_file_);
  st->bind(1, i64(row.ino))
      .bind(2, i64(row.size))
      .bind(3, row.mtime_ns)
      .bind(4, row.ctime_ns)
      .bind_blob(5, row.hash)
      .bind_blob(6, std::span<const uint8_t>(
                        row.leaves.empty() ? nullptr : row.leaves[0].data(),
                        row.leaves.size() * core::kContentHashLen));
  return st->run();
}

Status MirrorCatalog::forget_file(uint64_t ino) {
  Use st(forget_file_);
  st->bind(1, i64(ino));
  return st->run();
}

}  // namespace mirrorfs::db

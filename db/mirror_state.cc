#include "db/mirror_state.h"

#include <limits>

namespace mirrorfs::db {
namespace {

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

Status no_mirror(MirrorId m) {
  return Status(Code::kNotFound, "no mirror " + std::to_string(m));
}

}  // namespace

Result<std::unique_ptr<MirrorState>> MirrorState::open(Database& db) {
  std::unique_ptr<MirrorState> m(new MirrorState(db));
  const std::pair<Statement*, const char*> sql[] = {
      {&m->insert_,
       "INSERT INTO mirrors(name) VALUES (?1) ON CONFLICT(name) DO NOTHING"},
      {&m->find_, "SELECT id FROM mirrors WHERE name = ?1"},
      {&m->list_,
       "SELECT id, name, acked_seq, last_contact_ns, last_error, last_ok_ns, "
       "bytes_sent, bytes_saved, identity FROM mirrors ORDER BY id"},
      {&m->acked_, "SELECT acked_seq FROM mirrors WHERE id = ?1"},
      // Forward only, in the statement itself: no read-then-write race.
      {&m->set_acked_,
       "UPDATE mirrors SET acked_seq = ?2 WHERE id = ?1 AND acked_seq <= ?2"},
      {&m->upsert_file_,
       "INSERT INTO mirror_files(mirror, inode, hash) VALUES (?1, ?2, ?3) "
       "ON CONFLICT(mirror, inode) DO UPDATE SET hash = excluded.hash"},
      {&m->delete_file_,
       "DELETE FROM mirror_files WHERE mirror = ?1 AND inode = ?2"},
      {&m->file_,
       "SELECT hash FROM mirror_files WHERE mirror = ?1 AND inode = ?2"},
      {&m->contact_,
       "UPDATE mirrors SET last_contact_ns = ?2, last_error = ?3, "
       "last_ok_ns = CASE WHEN ?3 IS NULL THEN ?2 ELSE last_ok_ns END "
       "WHERE id = ?1"},
      {&m->traffic_,
       "UPDATE mirrors SET bytes_sent = bytes_sent + ?2, "
       "bytes_saved = bytes_saved + ?3 WHERE id = ?1"},
      {&m->min_acked_, "SELECT coalesce(min(acked_seq), 0) FROM mirrors"},
      {&m->identity_, "SELECT identity FROM mirrors WHERE id = ?1"},
      {&m->set_identity_, "UPDATE mirrors SET identity = ?2 WHERE id = ?1"},
      {&m->reset_acked_, "UPDATE mirrors SET acked_seq = 0 WHERE id = ?1"},
      {&m->delete_files_, "DELETE FROM mirror_files WHERE mirror = ?1"},
      {&m->delete_mirror_, "DELETE FROM mirrors WHERE id = ?1"},
  };
  for (const auto& [st, text] : sql) {
    Result<Statement> p = db.prepare(text);
    if (!p.is_ok()) return p.status();
    *st = std::move(*p);
  }
  return m;
}

Result<MirrorId> MirrorState::add_mirror(std::string_view name) {
  if (name.empty()) return Status::invalid_argument("empty mirror name");
  {
    Use st(insert_);
    st->bind(1, name);
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return find_mirror(name);
}

Result<std::vector<MirrorInfo>> MirrorState::list() {
  std::vector<MirrorInfo> out;
  Use st(list_);
  for (;;) {
    Result<bool> row = st->step();
    if (!row.is_ok()) return row.status();
    if (!*row) break;
    MirrorInfo& m = out.emplace_back();
    m.id = static_cast<MirrorId>(st->column_int(0));
    m.name = st->column_text(1);
    m.acked_seq = static_cast<uint64_t>(st->column_int(2));
    m.last_contact_ns = st->column_int(3);
    m.last_error = st->column_text(4);  // NULL reads as ""
    m.last_ok_ns = st->column_int(5);
    m.bytes_sent = static_cast<uint64_t>(st->column_int(6));
    m.bytes_saved = static_cast<uint64_t>(st->column_int(7));
    m.identity = st->column_text(8);
  }
  return out;
}

Result<MirrorId> MirrorState::find_mirror(std::string_view name) {
  Use st(find_);
  st->bind(1, name);
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  if (!*row) return Status(Code::kNotFound, "no mirror named '" + std::string(name) + "'");
  return static_cast<MirrorId>(st->column_int(0));
}

Status MirrorState::remove_mirror(std::string_view name) {
  Result<Transaction> txn = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!txn.is_ok()) return txn.status();
  Result<MirrorId> id = find_mirror(name);
  if (!id.is_ok()) return id.status();
  for (Statement* s : {&delete_files_, &delete_mirror_}) {
    Use st(*s);
    st->bind(1, i64(*id));
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return txn->commit();
}

Result<std::string> MirrorState::identity(MirrorId mirror) {
  Use st(identity_);
  st->bind(1, i64(mirror));
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  if (!*row) return no_mirror(mirror);
  return st->column_text(0);  // NULL reads as ""
}

Status MirrorState::set_identity(MirrorId mirror, std::string_view identity) {
  {
    Use st(set_identity_);
    st->bind(1, i64(mirror)).bind(2, identity);
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return db_.changes() > 0 ? Status::ok() : no_mirror(mirror);
}

Status MirrorState::restart(MirrorId mirror, std::string_view identity) {
  Result<Transaction> txn = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!txn.is_ok()) return txn.status();
  MIRRORFS_RETURN_IF_ERROR(set_identity(mirror, identity));
  for (Statement* s : {&reset_acked_, &delete_files_}) {
    Use st(*s);
    st->bind(1, i64(mirror));
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return txn->commit();
}

Result<uint64_t> MirrorState::acked_seq(MirrorId mirror) {
  Use st(acked_);
  st->bind(1, i64(mirror));
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  if (!*row) return no_mirror(mirror);
  return static_cast<uint64_t>(st->column_int(0));
}

Status MirrorState::require_mirror(MirrorId mirror) {
  Result<uint64_t> seq = acked_seq(mirror);
  return seq.is_ok() ? Status::ok() : seq.status();
}

Status MirrorState::advance(MirrorId mirror, uint64_t seq) {
  if (seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::invalid_argument("journal seq out of range");
  }
  {
    Use st(set_acked_);
    st->bind(1, i64(mirror)).bind(2, i64(seq));
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  if (db_.changes() > 0) return Status::ok();
  Result<uint64_t> now = acked_seq(mirror);  // why not: gone or backwards
  if (!now.is_ok()) return now.status();
  return Status::invalid_argument(
      "mirror " + std::to_string(mirror) + ": ack cannot move back from " +
      std::to_string(*now) + " to " + std::to_string(seq));
}

Status MirrorState::set_acked(MirrorId mirror, uint64_t seq) {
  return advance(mirror, seq);
}

Status MirrorState::put_version(MirrorId mirror, FileId file,
                                std::span<const uint8_t> hash) {
  Use st(hash.empty() ? delete_file_ : upsert_file_);
  st->bind(1, i64(mirror)).bind(2, i64(file));
  if (!hash.empty()) st->bind_blob(3, hash);
  return st->run();
}

Status MirrorState::set_file_version(MirrorId mirror, FileId file,
                                     std::span<const uint8_t> hash) {
  // Checked first for a clear kNotFound; the foreign key would refuse the
  // row anyway, but as a constraint error.
  MIRRORFS_RETURN_IF_ERROR(require_mirror(mirror));
  return put_version(mirror, file, hash);
}

Result<std::optional<std::vector<uint8_t>>> MirrorState::file_version(
    MirrorId mirror, FileId file) {
  {
    Use st(file_);
    st->bind(1, i64(mirror)).bind(2, i64(file));
    Result<bool> row = st->step();
    if (!row.is_ok()) return row.status();
    if (*row) {
      const std::span<const uint8_t> h = st->column_blob(0);
      return std::optional<std::vector<uint8_t>>(
          std::vector<uint8_t>(h.begin(), h.end()));
    }
  }
  MIRRORFS_RETURN_IF_ERROR(require_mirror(mirror));
  return std::optional<std::vector<uint8_t>>();
}

Status MirrorState::record_contact(MirrorId mirror, int64_t now_ns,
                                   std::string_view error) {
  {
    Use st(contact_);
    st->bind(1, i64(mirror)).bind(2, now_ns);
    if (error.empty()) {
      st->bind_null(3);
    } else {
      st->bind(3, error);
    }
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return db_.changes() > 0 ? Status::ok() : no_mirror(mirror);
}

Status MirrorState::add_traffic(MirrorId mirror, uint64_t sent,
                                uint64_t saved) {
  {
    Use st(traffic_);
    st->bind(1, i64(mirror)).bind(2, i64(sent)).bind(3, i64(saved));
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return db_.changes() > 0 ? Status::ok() : no_mirror(mirror);
}

Result<uint64_t> MirrorState::min_acked_seq() {
  Use st(min_acked_);
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  return static_cast<uint64_t>(*row ? st->column_int(0) : 0);
}

Status MirrorState::commit_ack(
    MirrorId mirror, uint64_t seq,
    std::span<const std::pair<FileId, std::vector<uint8_t>>> versions) {
  Result<Transaction> txn = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!txn.is_ok()) return txn.status();
  MIRRORFS_RETURN_IF_ERROR(require_mirror(mirror));
  for (const auto& [file, hash] : versions) {
    MIRRORFS_RETURN_IF_ERROR(put_version(mirror, file, hash));
  }
  // Last, so a refused ack also exercises the rollback of the versions.
  MIRRORFS_RETURN_IF_ERROR(advance(mirror, seq));
  return txn->commit();
}

}  // namespace mirrorfs::db

#include "db/journal.h"

namespace mirrorfs::db {

Result<std::unique_ptr<Journal>> Journal::open(Database& db) {
  std::unique_ptr<Journal> j(new Journal(db));
  struct {
    Statement* st;
    const char* sql;
  } const stmts[] = {
      {&j->insert_,
       "INSERT INTO journal(kind, file_id, path, path2, off, len, data)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&j->read_,
       "SELECT seq, kind, file_id, path, path2, off, len, data FROM journal"
       " WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
      {&j->trim_, "DELETE FROM journal WHERE seq <= ?1"},
      // AUTOINCREMENT keeps the high-water mark in sqlite_sequence, which
      // survives trimming every row.
      {&j->last_,
       "SELECT COALESCE((SELECT seq FROM sqlite_sequence"
       " WHERE name = 'journal'), 0)"},
      {&j->pending_,
       "SELECT count(*), COALESCE(SUM(CASE WHEN kind = 14 THEN len END), 0)"
       " FROM journal WHERE seq > ?1"},
  };
  for (const auto& s : stmts) {
    Result<Statement> st = db.prepare(s.sql);
    if (!st.is_ok()) return st.status();
    *s.st = std::move(*st);
  }
  return j;
}

Result<uint64_t> Journal::commit(JournalBatch& batch) {
  if (batch.empty()) return uint64_t{0};
  Result<Transaction> txn = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!txn.is_ok()) return txn.status();
  for (const JournalRecord& r : batch.records()) {
    insert_.bind(1, static_cast<int64_t>(r.kind))
        .bind(2, static_cast<int64_t>(r.file_id));
    if (r.path.empty())
      insert_.bind_null(3);
    else
      insert_.bind(3, r.path);
    if (r.path2.empty())
      insert_.bind_null(4);
    else
      insert_.bind(4, r.path2);
    insert_.bind(5, static_cast<int64_t>(r.off))
        .bind(6, static_cast<int64_t>(r.len));
    if (r.data.empty())
      insert_.bind_null(7);
    else
      insert_.bind_blob(7, r.data);
    MIRRORFS_RETURN_IF_ERROR(insert_.run());
  }
  const uint64_t last = static_cast<uint64_t>(db_.last_insert_rowid());
  MIRRORFS_RETURN_IF_ERROR(txn->commit());
  batch.clear();
  return last;
}

Result<std::vector<JournalRecord>> Journal::read_after(uint64_t after,
                                                       size_t limit) {
  Result<Transaction> txn = Transaction::begin(db_, Transaction::Kind::kRead);
  if (!txn.is_ok()) return txn.status();
  std::vector<JournalRecord> out;
  read_.bind(1, static_cast<int64_t>(after))
      .bind(2, static_cast<int64_t>(limit));
  for (;;) {
    Result<bool> row = read_.step();
    if (!row.is_ok()) {
      read_.reset();
      return row.status();
    }
    if (!*row) break;
    JournalRecord r;
    r.seq = static_cast<uint64_t>(read_.column_int(0));
    r.kind = static_cast<JournalKind>(read_.column_int(1));
    r.file_id = static_cast<uint64_t>(read_.column_int(2));
    r.path = read_.column_text(3);
    r.path2 = read_.column_text(4);
    r.off = static_cast<uint64_t>(read_.column_int(5));
    r.len = static_cast<uint64_t>(read_.column_int(6));
    auto blob = read_.column_blob(7);
    r.data.assign(blob.begin(), blob.end());
    out.push_back(std::move(r));
  }
  read_.reset();
  MIRRORFS_RETURN_IF_ERROR(txn->commit());
  return out;
}

Status Journal::trim(uint64_t upto) {
  Result<Transaction> txn = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!txn.is_ok()) return txn.status();
  MIRRORFS_RETURN_IF_ERROR(trim_.bind(1, static_cast<int64_t>(upto)).run());
  return txn->commit();
}

Result<Journal::Pending> Journal::pending(uint64_t after) {
  Use st(pending_);
  st->bind(1, static_cast<int64_t>(after));
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  Pending p;
  if (*row) {
    p.records = static_cast<uint64_t>(st->column_int(0));
    p.extent_bytes = static_cast<uint64_t>(st->column_int(1));
  }
  return p;
}

Result<uint64_t> Journal::last_seq() {
  Result<bool> row = last_.step();
  if (!row.is_ok()) return row.status();
  const uint64_t v = *row ? static_cast<uint64_t>(last_.column_int(0)) : 0;
  last_.reset();
  return v;
}

}  // namespace mirrorfs::db

#include "db/sqlite.h"

#include <chrono>
#include <thread>

namespace mirrorfs::db {

Status Database::error(int rc, std::string_view what) const {
  std::string msg(what);
  msg += ": ";
  msg += db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  Code code = Code::kIoError;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
    code = Code::kCorrupt;
  if (primary == SQLITE_CONSTRAINT) code = Code::kAlreadyExists;
  if (primary == SQLITE_MISUSE || primary == SQLITE_ERROR)
    code = Code::kInternal;
  return Status(code, std::move(msg));
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path,
                                                 const Options& opt) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (opt.create) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) return db->error(rc, "open " + path);
  sqlite3_busy_timeout(raw, opt.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  // WAL: readers never block the writer, and a commit is one append to the
  // log. synchronous=NORMAL: a commit survives a process crash at once and
  // an OS crash or power loss once the WAL is checkpointed or synced (see
  // docs/durability.md for why that is enough).
  Result<Statement> wal = db->prepare("PRAGMA journal_mode=WAL");
  if (!wal.is_ok()) return wal.status();
  Result<bool> row = wal->step();
  if (!row.is_ok()) return row.status();
  if (!*row || wal->column_text(0) != "wal") {
    return Status(Code::kIoError, path + ": cannot use WAL mode here");
  }
  MIRRORFS_RETURN_IF_ERROR(
      db->exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  return db;
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status st = error(rc, "sql");
    return Status(st.code(), "sql: " + msg);
  }
  return Status::ok();
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) return error(rc, "prepare");
  return Statement(this, st);
}

Result<int64_t> Database::query_int(std::string_view sql) {
  Result<Statement> st = prepare(sql);
  if (!st.is_ok()) return st.status();
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  if (!*row) return Status::internal("query returned no row");
  return st->column_int(0);
}

int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}
int64_t Database::changes() const { return sqlite3_changes64(db_); }

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    if (st_) sqlite3_finalize(st_);
    db_ = o.db_;
    st_ = o.st_;
    o.st_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  if (st_) sqlite3_finalize(st_);
}

Statement& Statement::bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Statement& Statement::bind(int i, std::string_view text) {
  sqlite3_bind_text64(st_, i, text.data(), text.size(), SQLITE_TRANSIENT,
                      SQLITE_UTF8);
  return *this;
}
Statement& Statement::bind_blob(int i, std::span<const uint8_t> blob) {
  if (blob.empty()) {
    sqlite3_bind_zeroblob(st_, i, 0);
  } else {
    sqlite3_bind_blob64(st_, i, blob.data(), blob.size(), SQLITE_TRANSIENT);
  }
  return *this;
}
Statement& Statement::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status st = db_->error(rc, "step");
  sqlite3_reset(st_);
  return st;
}

Status Statement::run() {
  for (;;) {
    Result<bool> r = step();
    if (!r.is_ok()) return r.status();
    if (!*r) break;
  }
  reset();
  return Status::ok();
}

void Statement::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

int64_t Statement::column_int(int i) const {
  return sqlite3_column_int64(st_, i);
}
bool Statement::column_is_null(int i) const {
  return sqlite3_column_type(st_, i) == SQLITE_NULL;
}
std::string Statement::column_text(int i) const {
  const auto* p = sqlite3_column_text(st_, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(st_, i)))
           : std::string();
}
std::span<const uint8_t> Statement::column_blob(int i) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st_, i));
  return {p, static_cast<size_t>(sqlite3_column_bytes(st_, i))};
}

namespace {

// Retries `sql` while another connection holds the lock: busy_timeout
// covers most waits; a writer that holds the lock longer than that (a huge
// batch) is waited for with backoff, bounded.
int exec_retrying(sqlite3* db, const char* sql) {
  for (int attempt = 0;; ++attempt) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY || attempt >= 20) return rc;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(10 << std::min(attempt, 6)));
  }
}

constexpr const char* kSavepoint = "SAVEPOINT nested";
constexpr const char* kRelease = "RELEASE nested";
// ROLLBACK TO leaves the savepoint open; RELEASE then closes it.
constexpr const char* kUndo = "ROLLBACK TO nested; RELEASE nested";

}  // namespace

Result<Transaction> Transaction::begin(Database& db, Kind kind) {
  if (db.depth_ > 0) {
    if (kind == Kind::kWrite && !db.outer_write_) {
      return Status::internal("write transaction inside a read transaction");
    }
    const int rc = sqlite3_exec(db.handle(), kSavepoint, nullptr, nullptr,
                                nullptr);
    if (rc != SQLITE_OK) return db.error(rc, kSavepoint);
    ++db.depth_;
    return Transaction(&db, true);
  }
  const char* sql = kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED";
  const int rc = exec_retrying(db.handle(), sql);
  if (rc != SQLITE_OK) return db.error(rc, sql);
  db.depth_ = 1;
  db.outer_write_ = kind == Kind::kWrite;
  return Transaction(&db, false);
}

Transaction::~Transaction() {
  if (!db_) return;
  sqlite3_exec(db_->handle(), nested_ ? kUndo : "ROLLBACK", nullptr, nullptr,
               nullptr);
  --db_->depth_;
}

Status Transaction::commit() {
  Database* db = db_;
  const char* sql = nested_ ? kRelease : "COMMIT";
  const int rc = exec_retrying(db->handle(), sql);
  if (rc != SQLITE_OK) return db->error(rc, sql);  // the destructor undoes
  --db->depth_;
  db_ = nullptr;
  return Status::ok();
}

}  // namespace mirrorfs::db

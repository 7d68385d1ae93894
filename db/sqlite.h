// Thin RAII over SQLite: Database, Statement, Transaction. Private to db/:
// callers of db/ use the repositories (Journal, Catalog, ...) and never see
// SQL or sqlite3 types.
//
// Thread-safety: a Database (one connection) is used by one thread at a
// time; open one per thread. Busy waits are handled here: a locked
// database is retried (busy timeout plus bounded retries of BEGIN), so
// callers never see SQLITE_BUSY.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace mirrorfs::db {

class Statement;

class Database {
 public:
  struct Options {
    bool create = true;           // create the file if missing
    int busy_timeout_ms = 30000;  // wait this long for another writer
  };

  // Opens path in WAL mode with synchronous=NORMAL (see docs/durability.md)
  // and foreign keys on.
  static Result<std::unique_ptr<Database>> open(const std::string& path,
                                                const Options& opt);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  // Compiles one statement. REQUIRES: sql outlives nothing (copied).
  Result<Statement> prepare(std::string_view sql);
  // A single integer from a one-row query (e.g. PRAGMA user_version).
  Result<int64_t> query_int(std::string_view sql);

  int64_t last_insert_rowid() const;
  // True while a Transaction is open on this connection.
  bool in_transaction() const { return depth_ > 0; }
  int64_t changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

  // A Status for the connection's last error, "what: message".
  Status error(int rc, std::string_view what) const;

 private:
  friend class Transaction;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  int depth_ = 0;            // open Transactions, outermost included
  bool outer_write_ = false;  // the outermost one is a write transaction
};

// A prepared statement. run() resets it; after step()ping rows, call
// reset() before binding it again.
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& o) noexcept : db_(o.db_), st_(o.st_) {
    o.st_ = nullptr;
  }
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();

  // Binding is 1-based, as in SQLite.
  Statement& bind(int i, int64_t v);
  Statement& bind(int i, std::string_view text);
  Statement& bind_blob(int i, std::span<const uint8_t> blob);
  Statement& bind_null(int i);

  // One step: true if a row is available, false when done.
  Result<bool> step();
  // Steps to completion, ignoring rows; then resets.
  Status run();
  void reset();

  int64_t column_int(int i) const;
  bool column_is_null(int i) const;
  std::string column_text(int i) const;
  std::span<const uint8_t> column_blob(int i) const;  // valid until next step

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  Database* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
};

// Resets a cached statement when one use of it ends, so the next use binds
// afresh and no read cursor stays open into a COMMIT.
class Use {
 public:
  explicit Use(Statement& st) : st_(st) {}
  ~Use() { st_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  Statement* operator->() { return &st_; }
  Statement& operator*() { return st_; }

 private:
  Statement& st_;
};

// BEGIN IMMEDIATE (write) or DEFERRED (read) ... COMMIT; rolls back in its
// destructor unless committed. Write transactions take the write lock at
// BEGIN, so a WAL snapshot is never upgraded (no SQLITE_BUSY_SNAPSHOT).
//
// Transactions nest: one begun while another is open on the connection is
// a SAVEPOINT inside it. Its commit() releases the savepoint (the outer
// transaction still decides), its destructor without commit() undoes only
// its own changes. So a repository method that is atomic on its own joins
// a caller's transaction unchanged (the mount commits catalog and journal
// changes together). A write transaction cannot nest inside a read one
// (kInternal): that would upgrade a snapshot. Nested transactions end in
// reverse order of their beginning.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  static Result<Transaction> begin(Database& db, Kind kind);
  Transaction(Transaction&& o) noexcept : db_(o.db_), nested_(o.nested_) {
    o.db_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  Transaction(Database* db, bool nested) : db_(db), nested_(nested) {}
  Database* db_;  // null once committed or rolled back
  bool nested_;   // a SAVEPOINT inside an outer transaction
};

}  // namespace mirrorfs::db

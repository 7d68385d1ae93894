#include "db/signature_cache.h"

#include <sqlite3.h>

#include <optional>

namespace mirrorfs::db {
namespace {

Status check_hash(std::span<const uint8_t> hash) {
  if (hash.empty()) return Status::invalid_argument("empty content hash");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<SignatureCache>> SignatureCache::open(Database& db) {
  std::unique_ptr<SignatureCache> c(new SignatureCache(db));
  const std::pair<Statement*, const char*> sql[] = {
      {&c->put_,
       "INSERT INTO signatures(hash, sig, size, leaves) VALUES (?1, ?2, ?3, ?4) "
       "ON CONFLICT(hash) DO UPDATE SET size = coalesce(size, excluded.size), "
       "leaves = coalesce(leaves, excluded.leaves)"},
      {&c->find_, "SELECT id FROM signatures WHERE hash = ?1"},
      {&c->shape_, "SELECT size, leaves FROM signatures WHERE hash = ?1"},
      // NOT IN over uncorrelated subqueries: each is built once into a
      // temporary index, so gc is O((S + I + M) log n), not O(S * I) (no
      // index on inodes.hash). NULL hashes are left out: one NULL in a
      // NOT IN list would make it match nothing.
      {&c->gc_,
       "DELETE FROM signatures WHERE "
       "hash NOT IN (SELECT hash FROM inodes WHERE hash IS NOT NULL) AND "
       "hash NOT IN (SELECT hash FROM mirror_files)"},
      {&c->count_, "SELECT count(*) FROM signatures"},
  };
  for (const auto& [st, text] : sql) {
    Result<Statement> p = db.prepare(text);
    if (!p.is_ok()) return p.status();
    *st = std::move(*p);
  }
  return c;
}

Status SignatureCache::put(std::span<const uint8_t> hash,
                           std::span<const uint8_t> sig, const Shape* shape) {
  MIRRORFS_RETURN_IF_ERROR(check_hash(hash));
  Use st(put_);
  st->bind_blob(1, hash).bind_blob(2, sig);
  if (shape != nullptr) {
    st->bind(3, static_cast<int64_t>(shape->size)).bind_blob(4, shape->leaves);
  } else {
    st->bind_null(3).bind_null(4);
  }
  return st->run();
}

Result<std::optional<SignatureCache::Shape>> SignatureCache::shape(
    std::span<const uint8_t> hash) {
  MIRRORFS_RETURN_IF_ERROR(check_hash(hash));
  Use st(shape_);
  st->bind_blob(1, hash);
  MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
  if (!row) return Status(Code::kNotFound, "no cached signature");
  if (st->column_is_null(0) || st->column_is_null(1)) return std::optional<Shape>();
  Shape out;
  out.size = static_cast<uint64_t>(st->column_int(0));
  const std::span<const uint8_t> leaves = st->column_blob(1);
  out.leaves.assign(leaves.begin(), leaves.end());
  return std::optional<Shape>(std::move(out));
}

Result<bool> SignatureCache::contains(std::span<const uint8_t> hash) {
  MIRRORFS_RETURN_IF_ERROR(check_hash(hash));
  Use st(find_);
  st->bind_blob(1, hash);
  return st->step();
}

Result<std::vector<uint8_t>> SignatureCache::get(
    std::span<const uint8_t> hash) {
  MIRRORFS_RETURN_IF_ERROR(check_hash(hash));
  // One snapshot for the id lookup and the blob read: a gc in another
  // process between the two cannot hand us another row's blob.
  // Inside the caller's transaction, that one is the snapshot.
  std::optional<Transaction> txn;
  if (sqlite3_get_autocommit(db_.handle()) != 0) {
    Result<Transaction> t = Transaction::begin(db_, Transaction::Kind::kRead);
    if (!t.is_ok()) return t.status();
    txn.emplace(std::move(*t));
  }
  int64_t rowid = 0;
  {
    Use st(find_);
    st->bind_blob(1, hash);
    Result<bool> row = st->step();
    if (!row.is_ok()) return row.status();
    if (!*row) return Status(Code::kNotFound, "no cached signature");
    rowid = st->column_int(0);
  }
  sqlite3_blob* raw = nullptr;
  const int rc = sqlite3_blob_open(db_.handle(), "main", "signatures", "sig",
                                   rowid, /*flags=read-only*/ 0, &raw);
  // Closed before the transaction ends (declared after it).
  std::unique_ptr<sqlite3_blob, int (*)(sqlite3_blob*)> blob(
      raw, sqlite3_blob_close);
  if (rc != SQLITE_OK) return db_.error(rc, "open signature blob");
  const int n = sqlite3_blob_bytes(blob.get());
  std::vector<uint8_t> out(static_cast<size_t>(n));
  if (n > 0) {
    const int rc2 = sqlite3_blob_read(blob.get(), out.data(), n, 0);
    if (rc2 != SQLITE_OK) return db_.error(rc2, "read signature blob");
  }
  return out;  // read-only: the transaction's rollback ends it
}

Result<uint64_t> SignatureCache::gc() {
  Use st(gc_);
  MIRRORFS_RETURN_IF_ERROR(st->run());
  return static_cast<uint64_t>(db_.changes());
}

Result<uint64_t> SignatureCache::count() {
  Use st(count_);
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  return static_cast<uint64_t>(*row ? st->column_int(0) : 0);
}

}  // namespace mirrorfs::db

#include "db/settings.h"

#include <errno.h>
#include <sys/random.h>

namespace mirrorfs::db {

Result<std::unique_ptr<Settings>> Settings::open(Database& db) {
  std::unique_ptr<Settings> s(new Settings(db));
  const std::pair<Statement*, const char*> sql[] = {
      {&s->get_, "SELECT value FROM settings WHERE key = ?1"},
      {&s->set_,
       "INSERT INTO settings(key, value) VALUES (?1, ?2) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
      {&s->insert_,
       "INSERT INTO settings(key, value) VALUES (?1, ?2) "
       "ON CONFLICT(key) DO NOTHING"},
  };
  for (const auto& [st, text] : sql) {
    Result<Statement> p = db.prepare(text);
    if (!p.is_ok()) return p.status();
    *st = std::move(*p);
  }
  return s;
}

Result<std::optional<std::string>> Settings::get(std::string_view key) {
  Use st(get_);
  st->bind(1, key);
  Result<bool> row = st->step();
  if (!row.is_ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(st->column_text(0));
}

Status Settings::set(std::string_view key, std::string_view value) {
  Use st(set_);
  st->bind(1, key).bind(2, value);
  return st->run();
}

Result<std::string> Settings::get_or_set(std::string_view key,
                                         std::string_view value) {
  Result<Transaction> txn = Transaction::begin(db_, Transaction::Kind::kWrite);
  if (!txn.is_ok()) return txn.status();
  {
    Use st(insert_);
    st->bind(1, key).bind(2, value);
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  Result<std::optional<std::string>> v = get(key);
  if (!v.is_ok()) return v.status();
  if (!*v) return Status::internal("setting vanished: " + std::string(key));
  MIRRORFS_RETURN_IF_ERROR(txn->commit());
  return **v;
}

Result<std::string> random_hex_id() {
  uint8_t bytes[16];
  size_t have = 0;
  while (have < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + have, sizeof bytes - have, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "getrandom");
    }
    have += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace mirrorfs::db

// Settings of a state directory (table `settings`, schema v4): small named
// values that tie the state to what it describes, e.g. the BACKING
// directory a mount journals (so `replicate` knows where to read files,
// and a state directory is never reused for another tree) and the
// journal's id (so a mirror never mistakes a new journal for an old one
// whose sequence numbers it has already seen).
//
// Thread-safety: one thread at a time, as the Database it uses.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

// Keys in use.
inline constexpr std::string_view kSettingBacking = "backing";
inline constexpr std::string_view kSettingJournalId = "journal_id";

class Settings {
 public:
  // REQUIRES: db is migrated to schema v4 and outlives the object.
  static Result<std::unique_ptr<Settings>> open(Database& db);

  Result<std::optional<std::string>> get(std::string_view key);
  Status set(std::string_view key, std::string_view value);

  // The value of `key`, storing `value` first if the key has none (one
  // transaction: two processes racing agree on the first value stored).
  Result<std::string> get_or_set(std::string_view key, std::string_view value);

 private:
  explicit Settings(Database& db) : db_(db) {}
  Database& db_;
  Statement get_, set_, insert_;
};

// A fresh random id: 32 lowercase hex digits from getrandom().
Result<std::string> random_hex_id();

}  // namespace mirrorfs::db

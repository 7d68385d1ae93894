#include "db/versioned_db.h"

namespace mirrorfs::db {

Status migrate_steps(Database& db, MigrationSteps steps, int target) {
  const int64_t newest = static_cast<int64_t>(steps.size());
  Result<int64_t> have = db.query_int("PRAGMA user_version");
  if (!have.is_ok()) return have.status();
  if (*have > newest) {
    return Status(Code::kUnsupported,
                  db.path() + ": schema version " + std::to_string(*have) +
                      " is newer than this mirrorfs knows (" +
                      std::to_string(newest) + "); upgrade mirrorfs");
  }
  if (target > newest) {
    return Status::invalid_argument("no schema version " +
                                    std::to_string(target));
  }
  for (int64_t v = *have + 1; v <= target; ++v) {
    Result<Transaction> txn = Transaction::begin(db, Transaction::Kind::kWrite);
    if (!txn.is_ok()) return txn.status();
    // Re-read under the write lock: another process may have migrated.
    Result<int64_t> now = db.query_int("PRAGMA user_version");
    if (!now.is_ok()) return now.status();
    if (*now >= v) continue;
    MIRRORFS_RETURN_IF_ERROR(db.exec(steps[v - 1]));
    MIRRORFS_RETURN_IF_ERROR(
        db.exec("PRAGMA user_version=" + std::to_string(v)));
    MIRRORFS_RETURN_IF_ERROR(txn->commit());
  }
  return Status::ok();
}

Result<std::unique_ptr<Database>> open_versioned_db(
    const std::string& path, const Database::Options& opt,
    MigrationSteps steps) {
  Result<std::unique_ptr<Database>> db = Database::open(path, opt);
  if (!db.is_ok()) return db.status();
  {
    Result<Statement> check = (*db)->prepare("PRAGMA quick_check");
    if (!check.is_ok()) {
      return Status(Code::kCorrupt, path + ": " + check.status().message());
    }
    Result<bool> row = check->step();
    if (!row.is_ok()) {
      return Status(Code::kCorrupt, path + ": " + row.status().message());
    }
    if (!*row || check->column_text(0) != "ok") {
      return Status(Code::kCorrupt,
                    path + ": database is corrupt (quick_check: " +
                        (*row ? check->column_text(0) : "no answer") + ")");
    }
  }
  MIRRORFS_RETURN_IF_ERROR(
      migrate_steps(**db, steps, static_cast<int>(steps.size())));
  return db;
}

}  // namespace mirrorfs::db

// The state database's schema and its migrations. Spec: docs/state-db.md.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

// The schema this build writes. PRAGMA user_version holds a database's.
inline constexpr int kSchemaVersion = 6;

// Brings db from its user_version up to `target` (each step one
// transaction). Refuses a database newer than this build knows.
Status migrate(Database& db, int target = kSchemaVersion);

// Opens DIR/state.db-style files: checks integrity (quick_check: a corrupt
// file is reported, never half-used), refuses a newer schema, migrates.
Result<std::unique_ptr<Database>> open_state_db(
    const std::string& path, const Database::Options& opt = {});

}  // namespace mirrorfs::db

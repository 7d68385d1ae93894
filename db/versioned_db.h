// What every SQLite file of mirrorfs does on open: an integrity check and
// step-by-step schema migrations tracked in PRAGMA user_version. Used by
// the state database (schema.h) and the mirror database
// (mirror_catalog.h), each with its own list of steps.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

// steps[v - 1] takes a database from version v - 1 to v; the schema this
// build writes is steps.size(). Never edit a released step: add one.
using MigrationSteps = std::span<const char* const>;

// Brings db from its user_version up to `target` (<= steps.size()), each
// step one write transaction. Refuses (kUnsupported) a database newer than
// steps.size().
Status migrate_steps(Database& db, MigrationSteps steps, int target);

// Opens path (creating it if opt.create), runs PRAGMA quick_check (a
// corrupt file is kCorrupt, never half-used), refuses a newer schema and
// migrates to the newest.
Result<std::unique_ptr<Database>> open_versioned_db(
    const std::string& path, const Database::Options& opt,
    MigrationSteps steps);

}  // namespace mirrorfs::db

#include "db/schema.h"

#include "db/versioned_db.h"

namespace mirrorfs::db {
namespace {

// kMigrations[v - 1] takes a database from version v - 1 to v. Never edit
// a step once released: add one.
constexpr const char* kMigrations[] = {
    // 1: the change journal.
    R"sql(
CREATE TABLE journal (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after trim
  kind    INTEGER NOT NULL,                   -- JournalKind
  file_id INTEGER NOT NULL DEFAULT 0,         -- catalog inode id, 0 unknown
  path    TEXT,                               -- relative to the mount root
  path2   TEXT,                               -- rename/link target, symlink text
  off     INTEGER NOT NULL DEFAULT 0,         -- extent offset, truncate size
  len     INTEGER NOT NULL DEFAULT 0,         -- extent length
  data    BLOB                                -- setattr/xattr payload
);
)sql",
    // 2: catalog (inodes and their names, so hard links and subtree
    // renames are single rows), signature cache, mirror state.
    R"sql(
CREATE TABLE inodes (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- stable file id, never
                                              -- reused (journal and mirror rows
                                              -- name it); 1 = root
  kind        INTEGER NOT NULL,               -- FileKind
  size        INTEGER NOT NULL DEFAULT 0,
  mode        INTEGER NOT NULL DEFAULT 0,
  uid         INTEGER NOT NULL DEFAULT 0,
  gid         INTEGER NOT NULL DEFAULT 0,
  mtime_ns    INTEGER NOT NULL DEFAULT 0,
  ctime_ns    INTEGER NOT NULL DEFAULT 0,
  backing_ino INTEGER NOT NULL DEFAULT 0,     -- to spot changes behind the mount
  target      TEXT,                           -- symlink target
  hash        BLOB                            -- BLAKE2b of the replicated version
);
CREATE TABLE names (
  parent INTEGER NOT NULL,                    -- the directory's inode id
  name   TEXT NOT NULL,
  inode  INTEGER NOT NULL REFERENCES inodes(id),
  PRIMARY KEY (parent, name)
) WITHOUT ROWID;
CREATE INDEX names_by_inode ON names(inode);
INSERT INTO inodes(id, kind, mode) VALUES (1, 2, 16877);  -- the root, 040755

CREATE TABLE signatures (
  id   INTEGER PRIMARY KEY,                   -- rowid: blobs read incrementally
  hash BLOB NOT NULL UNIQUE,                  -- BLAKE2b of the content signed
  sig  BLOB NOT NULL                          -- librsync-format signature
);

CREATE TABLE mirrors (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  acked_seq    INTEGER NOT NULL DEFAULT 0,    -- journal seq acknowledged
  last_contact_ns INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT
);
CREATE TABLE mirror_files (
  mirror INTEGER NOT NULL REFERENCES mirrors(id) ON DELETE CASCADE,
  inode  INTEGER NOT NULL,
  hash   BLOB NOT NULL,                       -- the version the mirror holds
  PRIMARY KEY (mirror, inode)
) WITHOUT ROWID;
CREATE INDEX mirror_files_by_hash ON mirror_files(hash);
)sql",
    // 3: the mount finds a file's id from its backing inode number (FUSE
    // names files by inode, not by path).
    R"sql(
CREATE INDEX inodes_by_backing ON inodes(backing_ino) WHERE backing_ino != 0;
)sql",
    // 4: settings of this state directory (the BACKING it belongs to, the
    // journal's id), and per-mirror traffic and last success for status.
    R"sql(
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
ALTER TABLE mirrors ADD COLUMN bytes_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mirrors ADD COLUMN bytes_saved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mirrors ADD COLUMN last_ok_ns INTEGER NOT NULL DEFAULT 0;
)sql",
    // 5: a signed version's size and content-hash leaf digests beside its
    // signature, so the next version can be built from its dirty ranges.
    R"sql(
ALTER TABLE signatures ADD COLUMN size INTEGER;
ALTER TABLE signatures ADD COLUMN leaves BLOB;
)sql",
    // 6: which mirror (its HelloOk mirror_id) a mirror name was synced
    // with, so a mirror replaced under the same name is noticed.
    R"sql(
ALTER TABLE mirrors ADD COLUMN identity TEXT;
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

Status migrate(Database& db, int target) {
  return migrate_steps(db, kMigrations, target);
}

Result<std::unique_ptr<Database>> open_state_db(const std::string& path,
                                                const Database::Options& opt) {
  return open_versioned_db(path, opt, kMigrations);
}

}  // namespace mirrorfs::db

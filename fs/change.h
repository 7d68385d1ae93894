// One change made through the mount, as the FUSE side saw it complete,
// and the code that records it in the catalog and the journal.
//
// FUSE names files by backing inode number, not by path, so a Change
// carries backing inode numbers and names; apply() turns them into
// catalog file ids and paths at commit time, in the order the changes
// completed.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "db/catalog.h"
#include "db/journal.h"
#include "fs/extent_set.h"

namespace mirrorfs::fs {

struct Change {
  db::JournalKind kind = db::JournalKind::kDirty;
  uint64_t parent = 0;  // backing ino of the directory holding `name`
  std::string name;
  uint64_t parent2 = 0;  // rename and link: the new directory
  std::string name2;     // ... and the new name
  uint64_t ino = 0;      // backing ino of the file concerned (0: by name)
  bool has_stat = false;
  struct stat st {};     // its attributes after the change
  bool has_stat2 = false;
  struct stat st2 {};    // rename: the other file of an exchange
  std::string text;      // symlink target; xattr name
  std::vector<uint8_t> data;     // setattr payload; xattr value
  uint64_t off = 0;              // rename flags; truncate size
  std::vector<Extent> extents;   // kExtent: the ranges written
};

// Records changes in the catalog and a journal batch. Used by one thread
// (the recorder's committer, or the start-up scan) inside its write
// transaction.
class ChangeApplier {
 public:
  ChangeApplier(db::Catalog& catalog, db::JournalBatch& batch)
      : catalog_(catalog), batch_(batch) {}

  // Catalog rows and journal records for `c`. An error means the catalog
  // disagrees with the backing tree (changed behind the mount while it
  // runs); the caller logs it and the next start-up scan mends it.
  Status apply(const Change& c);

 private:
  Result<db::FileId> file_of(uint64_t ino);
  Result<std::string> path_of(db::FileId id);
  Status refresh(db::FileId id, const struct stat& st);

  Status create(const Change& c);
  Status link(const Change& c);
  Status remove(const Change& c);
  Status rename(const Change& c);
  Status on_file(const Change& c);

  db::Catalog& catalog_;
  db::JournalBatch& batch_;
};

}  // namespace mirrorfs::fs

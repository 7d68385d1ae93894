// The file catalog: inodes (stable file ids) and the tree of names that
// point at them (schema v2, tables `inodes` and `names`). A name is a
// (parent, name) -> inode row, so renaming a directory is one row update
// whatever its subtree holds, and a hard link is a second name for one
// inode.
//
// Thread-safety: a Catalog uses its Database's one connection and is used
// by one thread at a time (as the Database is).
//
// Transactions: every method that runs more than one statement opens its
// own write (or read) transaction, so each call is atomic. Called inside a
// caller's write transaction it nests (a savepoint, see Transaction), so
// the caller can commit catalog and journal changes together, or load a
// million entries in one transaction.
//
// Errors: kNotFound for a missing name or inode; kAlreadyExists for a name
// that is taken; kInvalidArgument for what POSIX refuses, with the errno
// the FUSE edge should return captured (ENOTEMPTY, ENOTDIR, EISDIR,
// EINVAL, EPERM); kCorrupt for rows this build cannot read.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

using FileId = uint64_t;
inline constexpr FileId kRootId = 1;  // the root directory; has no name

// Stored as an integer in inodes.kind: never renumber.
enum class FileKind : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kFifo = 4,
  kSocket = 5,
  kCharDev = 6,
  kBlockDev = 7,
};

struct FileAttrs {
  FileKind kind = FileKind::kFile;
  uint64_t size = 0;
  uint64_t mode = 0;  // st_mode, type bits included
  uint64_t uid = 0;
  uint64_t gid = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t backing_ino = 0;   // the backing file's st_ino, 0 = unknown
  std::string target;         // symlink target; empty otherwise
  std::vector<uint8_t> hash;  // BLAKE2b of the replicated version; empty =
                              // none yet (stored as NULL)
};

class Catalog {
 public:
  // Prepares every statement. REQUIRES: db is migrated to schema v2
  // (open_state_db) and outlives the Catalog.
  static Result<std::unique_ptr<Catalog>> open(Database& db);

  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // A new inode with `attrs`, named `name` in directory `parent`.
  Result<FileId> create(FileId parent, std::string_view name,
                        const FileAttrs& attrs);
  // A hard link: `name` in `parent` becomes another name of `inode`.
  // Directories cannot be linked (EPERM).
  Status link(FileId inode, FileId parent, std::string_view name);

  Result<FileId> lookup(FileId parent, std::string_view name);
  // The inode whose backing file has inode number `ino` (kNotFound if
  // none). If stale rows share it (changes behind the mount, before the
  // start-up scan mends them), the newest.
  Result<FileId> lookup_backing(uint64_t ino);
  // "a/b/c" relative to the root; "" and "/" are the root. Empty
  // components ("a//b", a leading or trailing '/') are skipped; "." and
  // ".." are refused (kInvalidArgument): paths here are canonical.
  Result<FileId> lookup_path(std::string_view path);
  // One path of `id` ("a/b/c", "" for the root): with hard links, the
  // smallest (parent, name). For journaling, not for identity.
  Result<std::string> path_of(FileId id);

  // Removes a name. The inode goes with its last name. A directory must be
  // empty (kInvalidArgument "not empty", errno ENOTEMPTY). The caller keeps
  // any open backing fd alive itself: the catalog holds no open counts.
  // Every path of the inode (several for hard links), ordered by (parent
  // id, name): the first is the one path_of() gives. Empty if it has no
  // name (the root, or an inode with its last name gone).
  Result<std::vector<std::string>> paths_of(FileId id);

  Status unlink(FileId parent, std::string_view name);

  // POSIX rename(2): an existing target name is replaced (its inode
  // dropped with its last name); a directory replaces only an empty
  // directory, a non-directory only a non-directory. The move itself is
  // one row update whatever the size of the subtree. A directory cannot
  // move into its own subtree (EINVAL). Renaming a name onto another name
  // of the same inode changes nothing, as POSIX says.
  Status rename(FileId from_parent, std::string_view from, FileId to_parent,
                std::string_view to);

  // renameat2(RENAME_EXCHANGE): the two names swap inodes, whatever their
  // kinds. Neither may end up inside its own subtree (EINVAL).
  Status exchange(FileId parent_a, std::string_view a, FileId parent_b,
                  std::string_view b);

  Result<FileAttrs> get(FileId id);
  // Overwrites every attribute of `id`, kind included.
  Status set(FileId id, const FileAttrs& attrs);
  // An empty hash clears it (NULL).
  Status set_hash(FileId id, std::span<const uint8_t> hash);

  // The names in directory `dir`, sorted by name (bytewise).
  Result<std::vector<std::pair<std::string, FileId>>> list(FileId dir);
  // The number of inodes, the root included.
  Result<uint64_t> count();

 private:
  explicit Catalog(Database& db) : db_(db) {}

  // These run inside a transaction the public method holds.
  Result<FileKind> kind_of(FileId id);  // kNotFound if no such inode
  Status require_dir(FileId id);        // ENOTDIR if not a directory
  Status require_free(FileId parent, std::string_view name);  // EEXIST
  Status require_empty(FileId dir, std::string_view name);    // ENOTEMPTY
  Result<bool> is_in_subtree(FileId id, FileId dir);  // id == dir counts
  Status drop_name(FileId parent, std::string_view name, FileId inode);

  Database& db_;
  Statement insert_inode_, insert_name_, lookup_, kind_, get_, update_,
      set_hash_, by_backing_, repoint_, delete_name_, name_count_, first_child_, delete_inode_, move_,
      name_of_, ancestors_, list_, count_, names_of_;
};

}  // namespace mirrorfs::db

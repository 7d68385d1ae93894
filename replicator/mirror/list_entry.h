// What a listing says of one entry, shared by the mirror's walk
// (list_tree.cc) and `mirrorfs verify`'s walk of BACKING, so both sides
// describe a file the same way.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/content_hash.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::mirror {

// The entry `path` with the fields of `st` (no target, no hash).
wire::ListEntry list_entry_of(std::string path, const struct stat& st);

// The content hash of the regular file `name` in dir_fd, read now, if it
// is still the inode `ino` and did not change while read (size, mtime and
// ctime the same after); nullopt otherwise. Adds the bytes read to
// *bytes_read when given.
std::optional<core::ContentHash> hash_if_stable(int dir_fd, const char* name, ino_t ino,
                                                uint64_t* bytes_read = nullptr);

}  // namespace mirrorfs::replicator::mirror

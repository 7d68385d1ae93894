// What the mount stores in the catalog about a backing file, taken from
// its stat: shared by the recorder (changes through the mount) and the
// start-up scan (changes behind it), so both judge "changed" alike.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "db/attr_payload.h"
#include "db/catalog.h"

namespace mirrorfs::fs {

db::FileKind kind_of_mode(mode_t mode);
int64_t mtime_ns(const struct stat& st);
int64_t ctime_ns(const struct stat& st);

// Kind, size, mode, owner, times and backing inode of `st`; `hash` and
// `target` are left empty for the caller.
db::FileAttrs attrs_from_stat(const struct stat& st);

// attrs_from_stat(st), keeping what the catalog row `old` knows beyond a
// stat: the replicated hash and the symlink target.
db::FileAttrs restat(const db::FileAttrs& old, const struct stat& st);

// True if the backing file may hold other content than the catalog row
// describes: another inode, size, mtime or ctime. (ctime moves with every
// change of content or metadata, including ones that reset mtime.)
bool content_may_differ(const db::FileAttrs& cat, const struct stat& st);

// The mode, owner, times and rdev of `st`, as a journal payload.
db::AttrPayload payload_from_stat(const struct stat& st);

// "dir/name", or "name" in the root (dir == "").
std::string join_path(std::string_view dir, std::string_view name);

}  // namespace mirrorfs::fs

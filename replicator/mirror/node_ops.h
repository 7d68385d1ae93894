// Operations on the final component of an Entry (mirror_root.h) that
// never follow it: attributes, xattrs, reading a regular file, replacing
// a name atomically. Private to replicator/mirror/.
//
// A final symlink is acted on itself, never on what it points to: its
// mode is left alone (Linux ignores symlink modes), its owner and times
// are set with AT_SYMLINK_NOFOLLOW, and xattrs go through the
// /proc/self/fd path of an O_PATH | O_NOFOLLOW descriptor, which names
// the symlink inode itself.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "replicator/mirror/mirror_root.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::mirror {

// lstat of the final component; nullopt if it does not exist.
Result<std::optional<struct stat>> stat_entry(const Entry& e);

// An O_PATH | O_NOFOLLOW descriptor of the final component, pinning the
// inode against renames; kNotFound if missing.
Result<UniqueFd> pin_entry(const Entry& e);

// "/proc/self/fd/N": names the inode fd refers to (a symlink itself for an
// O_PATH | O_NOFOLLOW fd of one).
std::string fd_path(int fd);

// Opens the final component read-only if it is a regular file; nullopt
// if it is missing or anything else (a symlink included). Never opens a
// device or a FIFO. *st receives its fstat when st is not null.
Result<std::optional<UniqueFd>> open_regular(const Entry& e,
                                             struct stat* st = nullptr);

// Applies the `valid` fields of `a` to the final component: owner (only
// when set_owner), then permission bits (not on symlinks), then
// atime/mtime to the nanosecond. rdev is ignored (set at creation).
Status set_attrs(const Entry& e, const wire::Attrs& a, bool set_owner);
// The same on an open regular file (the new content before its rename).
Status set_attrs_fd(int fd, const wire::Attrs& a, bool set_owner,
                    std::string_view path);

// Checks an xattr name (non-empty, <= wire::kMaxXattrName, no NUL) and
// value (<= wire::kMaxXattrValue): kInvalidArgument otherwise.
Status check_xattr(std::string_view name, std::span<const uint8_t> value);
Status set_xattr(const Entry& e, std::string_view name,
                 std::span<const uint8_t> value);
// A missing attribute is OK (idempotent).
Status remove_xattr(const Entry& e, std::string_view name);
// Copies every xattr of the inode `from` (an O_PATH fd) onto the open
// file `to`.
Status copy_xattrs(int from, int to, std::string_view path);

// A fresh hidden name ".mirrorfs-tmp-" + 12 random hex digits.
std::string temp_name();

// Makes e.name name a new node atomically: make(dirfd, name) creates it
// under a fresh temporary name in e's directory (returns 0, or -1 with
// errno; EEXIST makes it try another name), then it is renamed over
// e.name. On failure the temporary is removed and e.name is untouched.
Status create_and_replace(const Entry& e,
                          const std::function<int(int, const char*)>& make,
                          std::string_view what);

}  // namespace mirrorfs::replicator::mirror

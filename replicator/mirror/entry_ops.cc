// Entry operations (Applier::apply): each applied as the source did it,
// and idempotent by state (applier.h says how), since a reconnect replays
// what no barrier covered.
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "db/attr_payload.h"
#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/node_ops.h"

namespace mirrorfs::replicator::mirror {
namespace {

using db::AttrPayload;
using wire::Type;

bool same_inode(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Status check_link_text(std::string_view text) {
  if (text.empty() || text.size() > wire::kMaxPath ||
      text.find('\0') != std::string_view::npos) {
    return Status::invalid_argument(
        "refused symlink text (empty, NUL or over " +
        std::to_string(wire::kMaxPath) + " bytes)");
  }
  return Status::ok();
}

// True if the symlink e holds exactly `text`.
bool link_text_is(const Entry& e, std::string_view text) {
  std::string buf(wire::kMaxPath + 1, '\0');
  const ssize_t n =
      ::readlinkat(e.dir.get(), e.name.c_str(), buf.data(), buf.size());
  return n >= 0 && std::string_view(buf.data(), static_cast<size_t>(n)) == text;
}

Status exists_as_other(std::string_view what, std::string_view path,
                       std::string_view other) {
  return Status(Code::kAlreadyExists,
                std::string(what) + " " + std::string(path) + ": " +
                    std::string(other) + " is in the way",
                EEXIST);
}

}  // namespace

Status ApplierImpl::apply(std::string_view client, const wire::EntryOp& op) {
  const bool state_fix = (op.flags & wire::kOpStateFix) != 0;
  Result<uint64_t> applied = applied_seq(client);
  if (!applied.is_ok()) return applied.status();
  // A replay of what is durable, or of what was applied before the
  // connection (or this daemon) went down: skipped — but not the
  // operations sharing the last applied seq (a seed's removals, a full
  // plan: state-based, idempotent, several under one seq). A state fix
  // is idempotent and always applied.
  if (!state_fix && (op.seq <= *applied || op.seq < progress(client))) return Status::ok();
  Status s = apply_op(op);
  if (s.is_ok() && !state_fix) note_progress(client, op.seq);
  return s;
}

Status ApplierImpl::apply_op(const wire::EntryOp& op) {
  Status s = dispatch_op(op);
  note_changed(op);  // a failed operation may have changed something
  return s;
}

// After the change, so a barrier racing with it from another thread
// either already holds what it changed or finds it noted anew.
void ApplierImpl::note_changed(const wire::EntryOp& op) {
  auto note = [&](std::string_view path, bool dir, bool node) {
    Result<Entry> e = entry_or_root(path);
    if (!e.is_ok()) {
      // A missing parent: nothing there changed. Anything else: unknown.
      if (e.status().code() != Code::kNotFound) pending_.note_unsyncable();
      return;
    }
    if (dir) pending_.note_dir(e->dir.get());
    // A device, FIFO, socket or symlink makes the barrier a syncfs.
    if (node) pending_.note_node(*e);
  };
  switch (op.type) {
    case Type::kMkdir:
    case Type::kMknod:
    case Type::kSymlink:
      return note(op.path, true, true);
    case Type::kLink:  // the new name, and the inode's link count
      return note(op.path2, true, true);
    case Type::kUnlink:
    case Type::kRmdir:
      return note(op.path, true, false);
    case Type::kRename:
      note(op.path, true, false);
      return note(op.path2, true, false);
    case Type::kSetattr:
    case Type::kSetxattr:
    case Type::kRemovexattr:
      return note(op.path, false, true);
    default:
      return;
  }
}

Status ApplierImpl::dispatch_op(const wire::EntryOp& op) {
  switch (op.type) {
    case Type::kMkdir:
      return do_mkdir(op);
    case Type::kMknod:
      return do_mknod(op);
    case Type::kSymlink:
      return do_symlink(op);
    case Type::kLink:
      return do_link(op);
    case Type::kUnlink:
      return do_unlink(op, false);
    case Type::kRmdir:
      return do_unlink(op, true);
    case Type::kRename:
      return do_rename(op);
    case Type::kSetattr: {
      Result<Entry> e = entry_or_root(op.path);
      if (!e.is_ok()) return e.status();
      // Must exist: set_attrs alone would skip a missing file silently
      // when only owner bits are given and set_owner is off.
      Result<std::optional<struct stat>> st = stat_entry(*e);
      if (!st.is_ok()) return st.status();
      if (!st->has_value()) return sys_error(ENOENT, "setattr", op.path);
      return set_attrs(*e, op.attrs, opt_.set_owner);
    }
    case Type::kSetxattr:
    case Type::kRemovexattr: {
      Result<Entry> e = entry_or_root(op.path);
      if (!e.is_ok()) return e.status();
      return op.type == Type::kSetxattr ? set_xattr(*e, op.path2, op.value)
                                        : remove_xattr(*e, op.path2);
    }
    default:
      return Status::invalid_argument(
          "not an entry operation: type " +
          std::to_string(static_cast<int>(op.type)));
  }
}

Status ApplierImpl::replace_node(
    const Entry& e, const struct stat& existing,
    const std::function<int(int, const char*)>& make, std::string_view what) {
  if (S_ISDIR(existing.st_mode)) {
    return exists_as_other(what, e.path, "a directory");
  }
  MIRRORFS_RETURN_IF_ERROR(create_and_replace(e, make, what));
  note_gone(existing);
  return Status::ok();
}

Status ApplierImpl::do_mkdir(const wire::EntryOp& op) {
  Result<Entry> e = root_->entry(op.path);
  if (!e.is_ok()) return e.status();
  const mode_t mode =
      (op.attrs.valid & AttrPayload::kMode) ? (op.attrs.mode & 07777) : 0755;
  if (::mkdirat(e->dir.get(), e->name.c_str(), mode) != 0) {
    if (errno != EEXIST) return sys_error(errno, "mkdir", op.path);
    Result<std::optional<struct stat>> st = stat_entry(*e);
    if (!st.is_ok()) return st.status();
    if (!st->has_value() || !S_ISDIR((*st)->st_mode)) {
      return exists_as_other("mkdir", op.path, "a non-directory");
    }
  }
  return set_attrs(*e, op.attrs, opt_.set_owner);  // exact mode: no umask
}

Status ApplierImpl::do_mknod(const wire::EntryOp& op) {
  if (!(op.attrs.valid & AttrPayload::kMode)) {
    return Status::invalid_argument("mknod " + op.path + ": no mode given");
  }
  const mode_t type = op.attrs.mode & S_IFMT;
  const bool device = type == S_IFCHR || type == S_IFBLK;
  if (!device && type != S_IFIFO && type != S_IFSOCK && type != S_IFREG) {
    return Status::invalid_argument("mknod " + op.path + ": bad file type");
  }
  if (device && ::geteuid() != 0) {
    return Status(
        Code::kUnsupported,
        "mknod " + op.path + ": device nodes need the mirror to run as root",
        EPERM);
  }
  const dev_t rdev = (device && (op.attrs.valid & AttrPayload::kRdev))
                         ? static_cast<dev_t>(op.attrs.rdev)
                         : 0;
  Result<Entry> e = root_->entry(op.path);
  if (!e.is_ok()) return e.status();
  auto make = [&](int dir, const char* name) {
    return ::mknodat(dir, name, type | (op.attrs.mode & 07777), rdev);
  };
  if (make(e->dir.get(), e->name.c_str()) != 0) {
    if (errno != EEXIST) return sys_error(errno, "mknod", op.path);
    Result<std::optional<struct stat>> st = stat_entry(*e);
    if (!st.is_ok()) return st.status();
    if (!st->has_value()) return sys_error(ENOENT, "mknod", op.path);
    const struct stat& old = **st;
    const bool same =
        (old.st_mode & S_IFMT) == type && (!device || old.st_rdev == rdev);
    if (!same) MIRRORFS_RETURN_IF_ERROR(replace_node(*e, old, make, "mknod"));
  }
  return set_attrs(*e, op.attrs, opt_.set_owner);
}

Status ApplierImpl::do_symlink(const wire::EntryOp& op) {
  MIRRORFS_RETURN_IF_ERROR(check_link_text(op.path2));
  Result<Entry> e = root_->entry(op.path);
  if (!e.is_ok()) return e.status();
  auto make = [&](int dir, const char* name) {
    return ::symlinkat(op.path2.c_str(), dir, name);
  };
  if (make(e->dir.get(), e->name.c_str()) != 0) {
    if (errno != EEXIST) return sys_error(errno, "symlink", op.path);
    Result<std::optional<struct stat>> st = stat_entry(*e);
    if (!st.is_ok()) return st.status();
    if (!st->has_value()) return sys_error(ENOENT, "symlink", op.path);
    if (!S_ISLNK((*st)->st_mode) || !link_text_is(*e, op.path2)) {
      MIRRORFS_RETURN_IF_ERROR(replace_node(*e, **st, make, "symlink"));
    }
  }
  return set_attrs(*e, op.attrs, opt_.set_owner);
}

Status ApplierImpl::do_link(const wire::EntryOp& op) {
  Result<Entry> to = root_->entry(op.path2);
  if (!to.is_ok()) return to.status();
  Result<Entry> from = root_->entry(op.path);
  if (!from.is_ok()) {
    if (from.status().code() != Code::kNotFound) return from.status();
    // The source's directory is gone: as for a missing source below.
    Result<std::optional<struct stat>> dst = stat_entry(*to);
    if (!dst.is_ok()) return dst.status();
    return dst->has_value() ? Status::ok() : from.status();
  }
  auto make = [&](int dir, const char* name) {
    return ::linkat(from->dir.get(), from->name.c_str(), dir, name, 0);
  };
  if (make(to->dir.get(), to->name.c_str()) == 0) return Status::ok();
  const int err = errno;
  if (err != EEXIST && err != ENOENT) return sys_error(err, "link", op.path2);
  Result<std::optional<struct stat>> src = stat_entry(*from);
  if (!src.is_ok()) return src.status();
  Result<std::optional<struct stat>> dst = stat_entry(*to);
  if (!dst.is_ok()) return dst.status();
  if (!src->has_value()) {
    // A replay after the source name went: the new name is what is left.
    if (dst->has_value()) return Status::ok();
    return sys_error(ENOENT, "link", op.path);
  }
  if (!dst->has_value()) return sys_error(err, "link", op.path2);
  if (same_inode(**src, **dst)) return Status::ok();
  return replace_node(*to, **dst, make, "link");
}

Status ApplierImpl::do_unlink(const wire::EntryOp& op, bool dir) {
  const char* what = dir ? "rmdir" : "unlink";
  Result<Entry> e = root_->entry(op.path);
  if (!e.is_ok()) {
    // A missing parent means a missing name: already done.
    return e.status().code() == Code::kNotFound ? Status::ok() : e.status();
  }
  Result<std::optional<struct stat>> st = stat_entry(*e);
  if (!st.is_ok()) return st.status();
  if (!st->has_value()) return Status::ok();
  if (!dir) keep_replaced(*e, **st);
  if (::unlinkat(e->dir.get(), e->name.c_str(), dir ? AT_REMOVEDIR : 0) != 0) {
    if (errno == ENOENT) return Status::ok();
    return sys_error(errno, what, op.path);
  }
  note_gone(**st);
  return Status::ok();
}

Status ApplierImpl::do_rename(const wire::EntryOp& op) {
  constexpr uint32_t kNoReplace = 1, kExchange = 2;
  if ((op.flags & ~(kNoReplace | kExchange)) != 0 ||
      op.flags == (kNoReplace | kExchange)) {
    return Status::invalid_argument("rename " + op.path + ": bad flags " +
                                    std::to_string(op.flags));
  }
  Result<Entry> to = root_->entry(op.path2);
  if (!to.is_ok()) return to.status();
  Result<std::optional<struct stat>> dst = stat_entry(*to);
  if (!dst.is_ok()) return dst.status();
  Result<Entry> from = root_->entry(op.path);
  std::optional<struct stat> src;
  if (from.is_ok()) {
    Result<std::optional<struct stat>> s = stat_entry(*from);
    if (!s.is_ok()) return s.status();
    src = *s;
  } else if (from.status().code() != Code::kNotFound) {
    return from.status();
  }
  if (!src) {
    // A replay of a rename already done: the source is gone, the target
    // is there.
    if (dst->has_value() && !(op.flags & kExchange)) return Status::ok();
    return sys_error(ENOENT, "rename", op.path);
  }
  // NOREPLACE is applied as a plain rename: the source checked the target
  // was absent, and the mirror converges on the source's state.
  const unsigned flags = (op.flags & kExchange) ? RENAME_EXCHANGE : 0;
  if (!flags && dst->has_value() && !same_inode(*src, **dst)) keep_replaced(*to, **dst);
  if (::renameat2(from->dir.get(), from->name.c_str(), to->dir.get(),
                  to->name.c_str(), flags) != 0) {
    return sys_error(errno, "rename", op.path + " to " + op.path2);
  }
  if (!(op.flags & kExchange) && dst->has_value() && !same_inode(*src, **dst)) {
    note_gone(**dst);
  }
  return Status::ok();
}

}  // namespace mirrorfs::replicator::mirror

#include "fs/change.h"

#include <linux/fs.h>  // RENAME_EXCHANGE

#include "fs/catalog_attrs.h"

namespace mirrorfs::fs {

using db::FileId;
using db::JournalKind;

Result<FileId> ChangeApplier::file_of(uint64_t ino) {
  return catalog_.lookup_backing(ino);
}

Result<std::string> ChangeApplier::path_of(FileId id) {
  return catalog_.path_of(id);
}

// Stores the attributes the backing file has now, keeping what the
// catalog knows beyond the stat (replicated hash, symlink target).
Status ChangeApplier::refresh(FileId id, const struct stat& st) {
  MIRRORFS_ASSIGN_OR_RETURN(old, catalog_.get(id));
  return catalog_.set(id, restat(old, st));
}

Status ChangeApplier::apply(const Change& c) {
  switch (c.kind) {
    case JournalKind::kCreate:
    case JournalKind::kMkdir:
    case JournalKind::kMknod:
    case JournalKind::kSymlink:
      return create(c);
    case JournalKind::kLink:
      return link(c);
    case JournalKind::kUnlink:
    case JournalKind::kRmdir:
      return remove(c);
    case JournalKind::kRename:
      return rename(c);
    default:
      return on_file(c);
  }
}

Status ChangeApplier::create(const Change& c) {
  MIRRORFS_ASSIGN_OR_RETURN(parent, file_of(c.parent));
  // A stale name (changed behind the mount) gives way to what is there now.
  if (catalog_.lookup(parent, c.name).is_ok()) {
    MIRRORFS_RETURN_IF_ERROR(catalog_.unlink(parent, c.name));
  }
  db::FileAttrs attrs = attrs_from_stat(c.st);
  attrs.target = c.text;
  MIRRORFS_ASSIGN_OR_RETURN(id, catalog_.create(parent, c.name, attrs));
  MIRRORFS_ASSIGN_OR_RETURN(dir, path_of(parent));
  batch_.add(c.kind, id, join_path(dir, c.name), c.text, 0, 0,
      payload_from_stat(c.st).encode());
  return Status::ok();
}

Status ChangeApplier::link(const Change& c) {
  MIRRORFS_ASSIGN_OR_RETURN(id, file_of(c.ino));
  MIRRORFS_ASSIGN_OR_RETURN(old_path, path_of(id));
  MIRRORFS_ASSIGN_OR_RETURN(parent, file_of(c.parent2));
  MIRRORFS_RETURN_IF_ERROR(catalog_.link(id, parent, c.name2));
  MIRRORFS_ASSIGN_OR_RETURN(dir, path_of(parent));
  batch_.add(JournalKind::kLink, id, old_path, join_path(dir, c.name2));
  return c.has_stat ? refresh(id, c.st) : Status::ok();
}

Status ChangeApplier::remove(const Change& c) {
  MIRRORFS_ASSIGN_OR_RETURN(parent, file_of(c.parent));
  MIRRORFS_ASSIGN_OR_RETURN(id, catalog_.lookup(parent, c.name));
  MIRRORFS_ASSIGN_OR_RETURN(dir, path_of(parent));
  batch_.add(c.kind, id, join_path(dir, c.name));
  MIRRORFS_RETURN_IF_ERROR(catalog_.unlink(parent, c.name));
  // The inode lives on under its other names: its ctime moved.
  if (c.has_stat && catalog_.get(id).is_ok()) return refresh(id, c.st);
  return Status::ok();
}

Status ChangeApplier::rename(const Change& c) {
  MIRRORFS_ASSIGN_OR_RETURN(from_parent, file_of(c.parent));
  MIRRORFS_ASSIGN_OR_RETURN(to_parent, file_of(c.parent2));
  MIRRORFS_ASSIGN_OR_RETURN(id, catalog_.lookup(from_parent, c.name));
  MIRRORFS_ASSIGN_OR_RETURN(from_dir, path_of(from_parent));
  MIRRORFS_ASSIGN_OR_RETURN(to_dir, path_of(to_parent));
  // The file a plain rename replaces, so the replicator can use the
  // version a mirror holds of it as the basis of what replaced it (the
  // save-by-rename of editors).
  uint64_t replaced = 0;
  if (!(c.off & RENAME_EXCHANGE)) {
    Result<FileId> dst = catalog_.lookup(to_parent, c.name2);
    if (dst.is_ok() && *dst != id) replaced = *dst;
  }
  batch_.add(JournalKind::kRename, id, join_path(from_dir, c.name),
      join_path(to_dir, c.name2), c.off, replaced);
  if (c.off & RENAME_EXCHANGE) {
    MIRRORFS_RETURN_IF_ERROR(
        catalog_.exchange(from_parent, c.name, to_parent, c.name2));
  } else {
    MIRRORFS_RETURN_IF_ERROR(
        catalog_.rename(from_parent, c.name, to_parent, c.name2));
  }
  // rename moves the ctime of what it moves.
  if (c.has_stat) MIRRORFS_RETURN_IF_ERROR(refresh(id, c.st));
  if (c.has_stat2) {
    MIRRORFS_ASSIGN_OR_RETURN(other, catalog_.lookup(from_parent, c.name));
    MIRRORFS_RETURN_IF_ERROR(refresh(other, c.st2));
  }
  return Status::ok();
}

// Changes to one file's content or attributes.
Status ChangeApplier::on_file(const Change& c) {
  Result<FileId> found = file_of(c.ino);
  if (!found.is_ok()) {
    // Unlinked while open: no name, nothing a mirror could hold.
    if (found.status().code() == Code::kNotFound) return Status::ok();
    return found.status();
  }
  const FileId id = *found;
  MIRRORFS_ASSIGN_OR_RETURN(path, path_of(id));
  switch (c.kind) {
    case JournalKind::kExtent:
      for (const Extent& e : c.extents) {
        batch_.add(JournalKind::kExtent, id, {}, {}, e.off, e.len);
      }
      break;
    case JournalKind::kDirty:
      batch_.add(JournalKind::kDirty, id, path);
      break;
    case JournalKind::kTruncate:
      batch_.add(JournalKind::kTruncate, id, path, {}, c.off);
      break;
    case JournalKind::kSetattr:
      batch_.add(JournalKind::kSetattr, id, path, {}, 0, 0, c.data);
      break;
    case JournalKind::kSetxattr:
    case JournalKind::kRemovexattr:
      batch_.add(c.kind, id, path, c.text, 0, 0, c.data);
      break;
    default:
      return Status::internal("not a file change: kind " +
                              std::to_string(static_cast<int>(c.kind)));
  }
  return c.has_stat ? refresh(id, c.st) : Status::ok();
}

}  // namespace mirrorfs::fs

#include "fs/catalog_attrs.h"

namespace mirrorfs::fs {

db::FileKind kind_of_mode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return db::FileKind::kDir;
    case S_IFLNK:
      return db::FileKind::kSymlink;
    case S_IFIFO:
      return db::FileKind::kFifo;
    case S_IFSOCK:
      return db::FileKind::kSocket;
    case S_IFCHR:
      return db::FileKind::kCharDev;
    case S_IFBLK:
      return db::FileKind::kBlockDev;
    default:
      return db::FileKind::kFile;
  }
}

int64_t mtime_ns(const struct stat& st) { return db::ns_of(st.st_mtim); }
int64_t ctime_ns(const struct stat& st) { return db::ns_of(st.st_ctim); }

db::FileAttrs attrs_from_stat(const struct stat& st) {
  db::FileAttrs a;
  a.kind = kind_of_mode(st.st_mode);
  a.size = static_cast<uint64_t>(st.st_size);
  a.mode = st.st_mode;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.mtime_ns = mtime_ns(st);
  a.ctime_ns = ctime_ns(st);
  a.backing_ino = st.st_ino;
  return a;
}

db::FileAttrs restat(const db::FileAttrs& old, const struct stat& st) {
  db::FileAttrs a = attrs_from_stat(st);
  a.hash = old.hash;
  a.target = old.target;
  return a;
}

bool content_may_differ(const db::FileAttrs& cat, const struct stat& st) {
  return cat.backing_ino != st.st_ino ||
         cat.size != static_cast<uint64_t>(st.st_size) ||
         cat.mtime_ns != mtime_ns(st) || cat.ctime_ns != ctime_ns(st);
}

db::AttrPayload payload_from_stat(const struct stat& st) {
  db::AttrPayload p;
  p.valid = db::AttrPayload::kMode | db::AttrPayload::kUid |
            db::AttrPayload::kGid | db::AttrPayload::kMtime;
  p.mode = st.st_mode;
  p.uid = st.st_uid;
  p.gid = st.st_gid;
  p.mtime_ns = mtime_ns(st);
  p.atime_ns = db::ns_of(st.st_atim);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    p.valid |= db::AttrPayload::kRdev;
    p.rdev = st.st_rdev;
  }
  return p;
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (!p.empty()) p += '/';
  p += name;
  return p;
}

}  // namespace mirrorfs::fs

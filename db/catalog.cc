#include "db/catalog.h"

#include <cerrno>
#include <tuple>

namespace mirrorfs::db {
namespace {

using Kind = Transaction::Kind;

// Local to this file until core/status.h grows one.
// SQLite integers are signed; ids and sizes round-trip through int64_t.
int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t u64(int64_t v) { return static_cast<uint64_t>(v); }

// A deeper tree than this is a cycle in the names (a corrupt database).
constexpr size_t kMaxDepth = 4096;

Status posix_error(int err, std::string msg) {
  return Status(Code::kInvalidArgument, std::move(msg), err);
}
Status not_found(std::string msg) {
  return Status(Code::kNotFound, std::move(msg));
}
std::string quote(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

Status check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\0", 2)) != name.npos) {
    return posix_error(EINVAL, "bad file name " + quote(name));
  }
  if (name.size() > 255) return posix_error(ENAMETOOLONG, "name too long");
  return Status::ok();
}

Result<FileKind> to_kind(int64_t k, FileId id) {
  if (k < 1 || k > 7) {
    return Status::corrupt("inode " + std::to_string(id) + " has kind " +
                           std::to_string(k));
  }
  return static_cast<FileKind>(k);
}

// Binds attrs to ?1..?10 in the column order of ATTR_COLUMNS; an empty
// target or hash is NULL.
void bind_attrs(Statement& st, const FileAttrs& a) {
  st.bind(1, static_cast<int64_t>(a.kind)).bind(2, i64(a.size));
  st.bind(3, i64(a.mode)).bind(4, i64(a.uid)).bind(5, i64(a.gid));
  st.bind(6, a.mtime_ns).bind(7, a.ctime_ns).bind(8, i64(a.backing_ino));
  a.target.empty() ? st.bind_null(9) : st.bind(9, std::string_view(a.target));
  a.hash.empty() ? st.bind_null(10) : st.bind_blob(10, a.hash);
}

#define ATTR_COLUMNS \
  "kind, size, mode, uid, gid, mtime_ns, ctime_ns, backing_ino, target, hash"

}  // namespace

Result<std::unique_ptr<Catalog>> Catalog::open(Database& db) {
  std::unique_ptr<Catalog> c(new Catalog(db));
  const std::pair<Statement*, const char*> sql[] = {
      {&c->insert_inode_, "INSERT INTO inodes(" ATTR_COLUMNS
                          ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"},
      {&c->insert_name_,
       "INSERT INTO names(parent, name, inode) VALUES (?1, ?2, ?3)"},
      {&c->lookup_, "SELECT inode FROM names WHERE parent = ?1 AND name = ?2"},
      {&c->kind_, "SELECT kind FROM inodes WHERE id = ?1"},
      {&c->get_, "SELECT " ATTR_COLUMNS " FROM inodes WHERE id = ?11"},
      {&c->update_,
       "UPDATE inodes SET kind = ?1, size = ?2, mode = ?3, uid = ?4, "
       "gid = ?5, mtime_ns = ?6, ctime_ns = ?7, backing_ino = ?8, "
       "target = ?9, hash = ?10 WHERE id = ?11"},
      {&c->set_hash_, "UPDATE inodes SET hash = ?1 WHERE id = ?2"},
      {&c->repoint_,
       "UPDATE names SET inode = ?3 WHERE parent = ?1 AND name = ?2"},
      {&c->by_backing_,
       "SELECT id FROM inodes WHERE backing_ino = ?1 AND backing_ino != 0 "
       "ORDER BY id DESC LIMIT 1"},
      {&c->delete_name_, "DELETE FROM names WHERE parent = ?1 AND name = ?2"},
      {&c->name_count_, "SELECT count(*) FROM names WHERE inode = ?1"},
      {&c->first_child_, "SELECT 1 FROM names WHERE parent = ?1 LIMIT 1"},
      {&c->delete_inode_, "DELETE FROM inodes WHERE id = ?1"},
      // The whole of a rename, however large the subtree: one row.
      {&c->move_,
       "UPDATE names SET parent = ?1, name = ?2 WHERE parent = ?3 AND "
       "name = ?4"},
      {&c->name_of_,
       "SELECT parent, name FROM names WHERE inode = ?1 "
       "ORDER BY parent, name LIMIT 1"},
      // Is ?2 among ?1 and its ancestors? UNION stops on a cycle.
      {&c->ancestors_,
       "WITH RECURSIVE up(id) AS (VALUES (?1) UNION SELECT n.parent FROM "
       "names n JOIN up ON n.inode = up.id) "
       "SELECT EXISTS (SELECT 1 FROM up WHERE id = ?2)"},
      {&c->list_,
       "SELECT name, inode FROM names WHERE parent = ?1 ORDER BY name"},
      {&c->count_, "SELECT count(*) FROM inodes"},
      {&c->names_of_,
       "SELECT parent, name FROM names WHERE inode = ?1 ORDER BY parent, name"},
  };
  for (const auto& [st, text] : sql) {
    MIRRORFS_ASSIGN_OR_RETURN(p, db.prepare(text));
    *st = std::move(p);
  }
  return c;
}

Result<FileKind> Catalog::kind_of(FileId id) {
  Use st(kind_);
  st->bind(1, i64(id));
  MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
  if (!row) return not_found("no inode " + std::to_string(id));
  return to_kind(st->column_int(0), id);
}

Status Catalog::require_dir(FileId id) {
  MIRRORFS_ASSIGN_OR_RETURN(kind, kind_of(id));
  if (kind == FileKind::kDir) return Status::ok();
  return posix_error(ENOTDIR, "inode " + std::to_string(id) + " not a dir");
}

Status Catalog::require_free(FileId parent, std::string_view name) {
  Result<FileId> old = lookup(parent, name);
  if (old.is_ok()) {
    return Status(Code::kAlreadyExists, quote(name) + " exists", EEXIST);
  }
  return old.status().code() == Code::kNotFound ? Status::ok() : old.status();
}

Status Catalog::require_empty(FileId dir, std::string_view name) {
  Use st(first_child_);
  st->bind(1, i64(dir));
  MIRRORFS_ASSIGN_OR_RETURN(busy, st->step());
  if (!busy) return Status::ok();
  return posix_error(ENOTEMPTY, "directory " + quote(name) + " not empty");
}

Result<bool> Catalog::is_in_subtree(FileId id, FileId dir) {
  Use st(ancestors_);
  st->bind(1, i64(id)).bind(2, i64(dir));
  MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
  return row && st->column_int(0) != 0;
}

Status Catalog::drop_name(FileId parent, std::string_view name, FileId inode) {
  {
    Use st(delete_name_);
    st->bind(1, i64(parent)).bind(2, name);
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  Use count(name_count_);
  count->bind(1, i64(inode));
  MIRRORFS_ASSIGN_OR_RETURN(row, count->step());
  if (row && count->column_int(0) > 0) return Status::ok();  // other links
  Use del(delete_inode_);
  del->bind(1, i64(inode));
  return del->run();
}

Result<FileId> Catalog::create(FileId parent, std::string_view name,
                               const FileAttrs& attrs) {
  MIRRORFS_RETURN_IF_ERROR(check_name(name));
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kWrite));
  MIRRORFS_RETURN_IF_ERROR(require_dir(parent));
  MIRRORFS_RETURN_IF_ERROR(require_free(parent, name));
  {
    Use st(insert_inode_);
    bind_attrs(*st, attrs);
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  const FileId id = u64(db_.last_insert_rowid());
  {
    Use st(insert_name_);
    st->bind(1, i64(parent)).bind(2, name).bind(3, i64(id));
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  MIRRORFS_RETURN_IF_ERROR(txn.commit());
  return id;
}

Status Catalog::link(FileId inode, FileId parent, std::string_view name) {
  MIRRORFS_RETURN_IF_ERROR(check_name(name));
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kWrite));
  MIRRORFS_ASSIGN_OR_RETURN(kind, kind_of(inode));
  if (kind == FileKind::kDir) {
    return posix_error(EPERM, "cannot hard-link a directory");
  }
  MIRRORFS_RETURN_IF_ERROR(require_dir(parent));
  MIRRORFS_RETURN_IF_ERROR(require_free(parent, name));
  {
    Use st(insert_name_);
    st->bind(1, i64(parent)).bind(2, name).bind(3, i64(inode));
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return txn.commit();
}

Result<FileId> Catalog::lookup(FileId parent, std::string_view name) {
  Use st(lookup_);
  st->bind(1, i64(parent)).bind(2, name);
  MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
  if (!row) return not_found("no " + quote(name));
  return u64(st->column_int(0));
}

Result<FileId> Catalog::lookup_backing(uint64_t ino) {
  Use st(by_backing_);
  st->bind(1, i64(ino));
  MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
  if (!row) return not_found("no inode backed by " + std::to_string(ino));
  return u64(st->column_int(0));
}

Result<FileId> Catalog::lookup_path(std::string_view path) {
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kRead));
  FileId id = kRootId;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == path.npos ? "" : path.substr(slash + 1);
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      return posix_error(EINVAL, "non-canonical path component");
    }
    MIRRORFS_ASSIGN_OR_RETURN(next, lookup(id, part));
    id = next;
  }
  return id;  // read-only: the transaction's rollback ends it
}

Result<std::string> Catalog::path_of(FileId id) {
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kRead));
  std::vector<std::string> parts;  // leaf first
  for (FileId at = id; at != kRootId;) {
    if (parts.size() > kMaxDepth) {
      return Status::corrupt("names form a cycle above inode " +
                             std::to_string(id));
    }
    Use st(name_of_);
    st->bind(1, i64(at));
    MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
    if (!row) {
      MIRRORFS_ASSIGN_OR_RETURN(kind, kind_of(at));  // kNotFound: no such inode
      return Status::corrupt("inode " + std::to_string(at) + " has no name");
    }
    parts.push_back(st->column_text(1));
    at = u64(st->column_int(0));
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += *it;
  }
  return path;
}

Result<std::vector<std::string>> Catalog::paths_of(FileId id) {
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kRead));
  std::vector<std::pair<FileId, std::string>> names;
  {
    Use st(names_of_);
    st->bind(1, i64(id));
    for (;;) {
      MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
      if (!row) break;
      names.emplace_back(u64(st->column_int(0)), st->column_text(1));
    }
  }
  std::vector<std::string> out;
  for (const auto& [parent, name] : names) {
    if (parent == kRootId) {
      out.push_back(name);
      continue;
    }
    MIRRORFS_ASSIGN_OR_RETURN(dir, path_of(parent));
    out.push_back(dir + "/" + name);
  }
  return out;
}

Status Catalog::unlink(FileId parent, std::string_view name) {
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kWrite));
  MIRRORFS_ASSIGN_OR_RETURN(id, lookup(parent, name));
  MIRRORFS_ASSIGN_OR_RETURN(kind, kind_of(id));
  if (kind == FileKind::kDir) {
    MIRRORFS_RETURN_IF_ERROR(require_empty(id, name));
  }
  MIRRORFS_RETURN_IF_ERROR(drop_name(parent, name, id));
  return txn.commit();
}

Status Catalog::rename(FileId from_parent, std::string_view from,
                       FileId to_parent, std::string_view to) {
  MIRRORFS_RETURN_IF_ERROR(check_name(to));
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kWrite));
  MIRRORFS_ASSIGN_OR_RETURN(src, lookup(from_parent, from));
  MIRRORFS_RETURN_IF_ERROR(require_dir(to_parent));
  if (from_parent == to_parent && from == to) return Status::ok();
  MIRRORFS_ASSIGN_OR_RETURN(src_kind, kind_of(src));
  const bool src_dir = src_kind == FileKind::kDir;
  if (src_dir) {
    MIRRORFS_ASSIGN_OR_RETURN(inside, is_in_subtree(to_parent, src));
    if (inside) {
      return posix_error(EINVAL, "cannot move " + quote(from) + " into itself");
    }
  }
  Result<FileId> dst = lookup(to_parent, to);
  if (dst.is_ok()) {
    if (*dst == src) return Status::ok();  // two names of one inode
    MIRRORFS_ASSIGN_OR_RETURN(dst_kind, kind_of(*dst));
    const bool dst_dir = dst_kind == FileKind::kDir;
    if (src_dir && !dst_dir) return posix_error(ENOTDIR, "target not a dir");
    if (!src_dir && dst_dir) return posix_error(EISDIR, "target is a dir");
    if (dst_dir) MIRRORFS_RETURN_IF_ERROR(require_empty(*dst, to));
    MIRRORFS_RETURN_IF_ERROR(drop_name(to_parent, to, *dst));
  } else if (dst.status().code() != Code::kNotFound) {
    return dst.status();
  }
  {
    Use st(move_);
    st->bind(1, i64(to_parent)).bind(2, to);
    st->bind(3, i64(from_parent)).bind(4, from);
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return txn.commit();
}

Status Catalog::exchange(FileId parent_a, std::string_view a,
                         FileId parent_b, std::string_view b) {
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kWrite));
  MIRRORFS_ASSIGN_OR_RETURN(ia, lookup(parent_a, a));
  MIRRORFS_ASSIGN_OR_RETURN(ib, lookup(parent_b, b));
  if (ia == ib) return Status::ok();
  for (const auto& [inode, parent] : {std::pair{ia, parent_b},
                                      std::pair{ib, parent_a}}) {
    MIRRORFS_ASSIGN_OR_RETURN(k, kind_of(inode));
    if (k != FileKind::kDir) continue;
    MIRRORFS_ASSIGN_OR_RETURN(inside, is_in_subtree(parent, inode));
    if (inside) return posix_error(EINVAL, "cannot move a dir into itself");
  }
  for (const auto& [parent, name, inode] :
       {std::tuple{parent_a, a, ib}, std::tuple{parent_b, b, ia}}) {
    Use st(repoint_);
    st->bind(1, i64(parent)).bind(2, name).bind(3, i64(inode));
    MIRRORFS_RETURN_IF_ERROR(st->run());
  }
  return txn.commit();
}

Result<FileAttrs> Catalog::get(FileId id) {
  Use st(get_);
  st->bind(11, i64(id));
  MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
  if (!row) return not_found("no inode " + std::to_string(id));
  FileAttrs a;
  MIRRORFS_ASSIGN_OR_RETURN(kind, to_kind(st->column_int(0), id));
  a.kind = kind;
  a.size = u64(st->column_int(1));
  a.mode = u64(st->column_int(2));
  a.uid = u64(st->column_int(3));
  a.gid = u64(st->column_int(4));
  a.mtime_ns = st->column_int(5);
  a.ctime_ns = st->column_int(6);
  a.backing_ino = u64(st->column_int(7));
  a.target = st->column_text(8);
  const std::span<const uint8_t> h = st->column_blob(9);
  a.hash.assign(h.begin(), h.end());
  return a;
}

Status Catalog::set(FileId id, const FileAttrs& attrs) {
  Use st(update_);
  bind_attrs(*st, attrs);
  st->bind(11, i64(id));
  MIRRORFS_RETURN_IF_ERROR(st->run());
  if (db_.changes() == 0) return not_found("no inode " + std::to_string(id));
  return Status::ok();
}

Status Catalog::set_hash(FileId id, std::span<const uint8_t> hash) {
  Use st(set_hash_);
  hash.empty() ? st->bind_null(1) : st->bind_blob(1, hash);
  st->bind(2, i64(id));
  MIRRORFS_RETURN_IF_ERROR(st->run());
  if (db_.changes() == 0) return not_found("no inode " + std::to_string(id));
  return Status::ok();
}

Result<std::vector<std::pair<std::string, FileId>>> Catalog::list(FileId dir) {
  MIRRORFS_ASSIGN_OR_RETURN(txn, Transaction::begin(db_, Kind::kRead));
  MIRRORFS_RETURN_IF_ERROR(require_dir(dir));
  std::vector<std::pair<std::string, FileId>> out;
  Use st(list_);
  st->bind(1, i64(dir));
  for (;;) {
    MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
    if (!row) break;
    out.emplace_back(st->column_text(0), u64(st->column_int(1)));
  }
  return out;
}

Result<uint64_t> Catalog::count() {
  Use st(count_);
  MIRRORFS_ASSIGN_OR_RETURN(row, st->step());
  return row ? u64(st->column_int(0)) : 0;
}

#undef ATTR_COLUMNS

}  // namespace mirrorfs::db

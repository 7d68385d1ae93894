#include "replicator/plan.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>

#include "db/attr_payload.h"

namespace mirrorfs::replicator {
namespace {

using db::JournalKind;
using db::JournalRecord;
using wire::Type;

wire::Attrs attrs_of(const db::AttrPayload& p) {
  wire::Attrs a;
  // Size is content, sent as content; everything else passes as is.
  a.valid = p.valid & ~db::AttrPayload::kSize;
  a.mode = p.mode;
  a.uid = p.uid;
  a.gid = p.gid;
  a.atime_ns = p.atime_ns;
  a.mtime_ns = p.mtime_ns;
  a.rdev = p.rdev;
  return a;
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

size_t depth_of(const std::string& path) {
  return path.empty() ? 0 : std::count(path.begin(), path.end(), '/') + 1;
}

// Non-directories first, then directories deepest first: fixing an
// entry's attributes never moves its parent's mtime, but a later change
// inside a directory would.
void order_attrs(std::vector<AttrFix>& attrs) {
  std::stable_sort(attrs.begin(), attrs.end(),
                   [](const AttrFix& x, const AttrFix& y) {
                     if (x.is_dir != y.is_dir) return !x.is_dir;
                     return x.is_dir && depth_of(x.path) > depth_of(y.path);
                   });
}

class Planner {
 public:
  explicit Planner(db::Catalog& catalog) : catalog_(catalog) {}

  Status add(const JournalRecord& r) {
    if (plan_.first_seq == 0) plan_.first_seq = r.seq;
    plan_.last_seq = r.seq;
    wire::EntryOp op;
    op.seq = r.seq;
    op.path = r.path;
    wire::Attrs attrs;
    if (!r.data.empty() &&
        (r.kind == JournalKind::kCreate || r.kind == JournalKind::kMkdir ||
         r.kind == JournalKind::kMknod || r.kind == JournalKind::kSymlink ||
         r.kind == JournalKind::kSetattr)) {
      Result<db::AttrPayload> p = db::AttrPayload::decode(r.data);
      if (!p.is_ok()) return bad(r, p.status().message());
      attrs = attrs_of(*p);
    }
    switch (r.kind) {
      case JournalKind::kCreate:
        // An empty file now, so later links, renames and xattrs of it
        // replay; its content follows in part 2.
        op.type = Type::kMknod;
        op.attrs = attrs;
        op.attrs.mode = (attrs.mode & 07777) | S_IFREG;
        op.attrs.valid |= db::AttrPayload::kMode;
        content(r).job.created = true;
        if (auto u = unlinked_.find(r.path); u != unlinked_.end()) {
          replaced_[r.file_id] = u->second;  // unlink + create: a rewrite
        }
        break;
      case JournalKind::kMkdir:
        op.type = Type::kMkdir;
        op.attrs = attrs;
        break;
      case JournalKind::kMknod:
        op.type = Type::kMknod;
        op.attrs = attrs;
        break;
      case JournalKind::kSymlink:
        op.type = Type::kSymlink;
        op.path2 = r.path2;
        op.attrs = attrs;
        break;
      case JournalKind::kLink:
        op.type = Type::kLink;
        op.path2 = r.path2;
        break;
      case JournalKind::kUnlink:
        op.type = Type::kUnlink;
        if (r.file_id != 0) unlinked_[r.path] = r.file_id;
        break;
      case JournalKind::kRmdir:
        op.type = Type::kRmdir;
        break;
      case JournalKind::kRename:
        op.type = Type::kRename;
        op.path2 = r.path2;
        op.flags = static_cast<uint32_t>(r.off);
        if (r.len != 0 && r.file_id != 0) replaced_[r.file_id] = r.len;
        break;
      case JournalKind::kSetattr:
        if ((attrs.valid & ~db::AttrPayload::kRdev) == 0) {
          touch(r);  // a size-only setattr: the truncate record carries it
          return Status::ok();
        }
        op.type = Type::kSetattr;
        op.attrs = attrs;
        break;
      case JournalKind::kTruncate: {
        ContentJob& job = content(r).job;
        job.min_truncate = std::min(job.min_truncate, r.off);
        return Status::ok();
      }
      case JournalKind::kSetxattr:
        op.type = Type::kSetxattr;
        op.path2 = r.path2;
        op.value = r.data;
        break;
      case JournalKind::kRemovexattr:
        op.type = Type::kRemovexattr;
        op.path2 = r.path2;
        break;
      case JournalKind::kDirty:
        content(r).dirty_mark = true;
        return Status::ok();
      case JournalKind::kExtent:
        content(r).job.extents.emplace_back(r.off, r.len);
        return Status::ok();
      default:
        return bad(r, "unknown record kind");
    }
    if (op.path.empty()) {
      // The root has no name: "." on the wire, for what may name it.
      if (op.type != Type::kSetattr && op.type != Type::kSetxattr &&
          op.type != Type::kRemovexattr) {
        return bad(r, "record without a path");
      }
      op.path = ".";
    }
    touch(r);
    plan_.ops.push_back(std::move(op));
    return Status::ok();
  }

  Result<Plan> finish() {
    // Part 2: content of files that still exist, at their final path.
    for (auto& [file, pending] : contents_) {
      ContentJob& job = pending.job;
      Result<std::vector<std::string>> paths = catalog_.paths_of(file);
      if (!paths.is_ok()) {
        if (paths.status().code() == Code::kNotFound) continue;
        return paths.status();
      }
      if (paths->empty()) continue;  // deleted in the batch
      Result<db::FileAttrs> a = catalog_.get(file);
      if (!a.is_ok()) return a.status();
      if (a->kind != db::FileKind::kFile) continue;
      job.file = file;
      job.catalog = *a;
      if (auto rep = replaced_.find(file); job.created && rep != replaced_.end()) {
        job.replaced = rep->second;
      }
      job.path = paths->front();
      job.links.assign(paths->begin() + 1, paths->end());
      // A dirty mark with no extents after it: the journal does not know
      // what was written.
      job.whole = job.created || (pending.dirty_mark && job.extents.empty());
      merge_extents(job.extents);
      plan_.contents.push_back(std::move(job));
      touched_.erase(file);  // its attributes come with the content
      for (const std::string& p : *paths) touched_dir(parent_of(p), job.first_seq);
    }
    for (const auto& [dir, seq] : dir_paths_) touched_dir(dir, seq);
    // Part 3: attributes of what was touched and still exists.
    for (const auto& [id, seq] : touched_) {
      Result<std::string> path = catalog_.path_of(id);
      if (!path.is_ok()) {
        if (path.status().code() == Code::kNotFound) continue;
        return path.status();
      }
      Result<db::FileAttrs> a = catalog_.get(id);
      if (!a.is_ok()) return a.status();
      plan_.attrs.push_back(AttrFix{id, *path, a->kind == db::FileKind::kDir, seq, a->backing_ino});
    }
    order_attrs(plan_.attrs);
    return std::move(plan_);
  }

 private:
  struct Pending {
    ContentJob job;
    bool dirty_mark = false;
  };

  Status bad(const JournalRecord& r, const std::string& why) {
    return Status::corrupt("journal record " + std::to_string(r.seq) + ": " +
                           why);
  }

  // The content record's file: by id, or by path for a record that has
  // none (then as of the batch's end; a file gone since is left out).
  Pending& content(const JournalRecord& r) {
    db::FileId id = r.file_id;
    if (id == 0) {
      Result<db::FileId> found = catalog_.lookup_path(r.path);
      id = found.is_ok() ? *found : 0;
    }
    Pending& p = id == 0 ? discarded_ : contents_[id];
    if (p.job.first_seq == 0) p.job.first_seq = r.seq;
    p.job.last_seq = r.seq;
    return p;
  }

  // The entry itself and the directories whose entries it changed. The
  // directories are kept by path as of this record and carried through
  // the batch's later renames, since the catalog knows only final paths.
  void touch(const JournalRecord& r) {
    if (r.file_id != 0) note(touched_, r.file_id, r.seq);
    if (!r.path.empty()) note(dir_paths_, parent_of(r.path), r.seq);
    if (r.kind == JournalKind::kRename || r.kind == JournalKind::kLink) {
      if (!r.path2.empty()) note(dir_paths_, parent_of(r.path2), r.seq);
    }
    if (r.kind == JournalKind::kRename) {
      const bool exchange = (r.off & 2) != 0;  // RENAME_EXCHANGE
      std::map<std::string, uint64_t> moved;
      for (const auto& [p, seq] : dir_paths_) {
        note(moved,
             exchange ? swap_prefix(p, r.path, r.path2) : move_prefix(p, r.path, r.path2),
             seq);
      }
      dir_paths_ = std::move(moved);
    }
  }

  // p with a leading `from` (the whole of it or a directory prefix)
  // replaced by `to`.
  static std::string move_prefix(const std::string& p, const std::string& from,
                                 const std::string& to) {
    if (p == from) return to;
    if (p.size() > from.size() && p.compare(0, from.size(), from) == 0 &&
        p[from.size()] == '/') {
      return to + p.substr(from.size());
    }
    return p;
  }
  static std::string swap_prefix(const std::string& p, const std::string& a,
                                 const std::string& b) {
    const std::string to_b = move_prefix(p, a, b);
    return to_b != p ? to_b : move_prefix(p, b, a);
  }

  // Records that `key` needs a fix since `seq` (the earliest one wins).
  template <typename Key>
  static void note(std::map<Key, uint64_t>& m, const Key& key, uint64_t seq) {
    auto [it, added] = m.emplace(key, seq);
    if (!added) it->second = std::min(it->second, seq);
  }

  void touched_dir(const std::string& dir, uint64_t seq) {
    if (dir.empty()) {
      note(touched_, db::kRootId, seq);
      return;
    }
    Result<db::FileId> id = catalog_.lookup_path(dir);
    if (id.is_ok()) note(touched_, *id, seq);  // gone since: nothing to fix
  }

  static void merge_extents(std::vector<std::pair<uint64_t, uint64_t>>& e) {
    std::sort(e.begin(), e.end());
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto& [off, len] : e) {
      if (len == 0) continue;
      if (!out.empty() && off <= out.back().first + out.back().second) {
        const uint64_t end = std::max(out.back().first + out.back().second,
                                      off + len);
        out.back().second = end - out.back().first;
      } else {
        out.emplace_back(off, len);
      }
    }
    e = std::move(out);
  }

  db::Catalog& catalog_;
  Plan plan_;
  std::map<db::FileId, Pending> contents_;
  std::map<db::FileId, db::FileId> replaced_;     // file -> the one it replaced
  std::map<std::string, db::FileId> unlinked_;    // path -> file unlinked there
  Pending discarded_;  // content of files the catalog no longer has
  // What needs an attribute fix, each with the first record of the batch
  // that needed it.
  std::map<db::FileId, uint64_t> touched_;
  std::map<std::string, uint64_t> dir_paths_;  // parents changed, as of now in the batch
};

}  // namespace

Result<Plan> plan_batch(const std::vector<JournalRecord>& records,
                        db::Catalog& catalog) {
  Planner planner(catalog);
  for (const JournalRecord& r : records) {
    MIRRORFS_RETURN_IF_ERROR(planner.add(r));
  }
  return planner.finish();
}

Result<Plan> plan_full(db::Catalog& catalog, uint64_t seq) {
  Plan plan;
  plan.first_seq = 1;
  plan.last_seq = seq;
  std::set<db::FileId> seen_files;
  // Breadth-first, so parents come before children.
  std::vector<std::pair<db::FileId, std::string>> queue = {{db::kRootId, ""}};
  plan.attrs.push_back(AttrFix{db::kRootId, "", true, seq, 0});
  for (size_t i = 0; i < queue.size(); ++i) {
    const auto [dir, dir_path] = queue[i];
    MIRRORFS_ASSIGN_OR_RETURN(children, catalog.list(dir));
    for (const auto& [name, id] : children) {
      const std::string path = dir_path.empty() ? name : dir_path + "/" + name;
      MIRRORFS_ASSIGN_OR_RETURN(a, catalog.get(id));
      wire::EntryOp op;
      op.seq = seq;
      op.path = path;
      op.attrs.valid = db::AttrPayload::kMode;
      op.attrs.mode = static_cast<uint32_t>(a.mode);
      switch (a.kind) {
        case db::FileKind::kDir:
          op.type = Type::kMkdir;
          queue.emplace_back(id, path);
          plan.attrs.push_back(AttrFix{id, path, true, seq, a.backing_ino});
          break;
        case db::FileKind::kSymlink:
          op.type = Type::kSymlink;
          op.path2 = a.target;
          plan.attrs.push_back(AttrFix{id, path, false, seq, a.backing_ino});
          break;
        case db::FileKind::kFile: {
          if (!seen_files.insert(id).second) continue;  // a later link name
          MIRRORFS_ASSIGN_OR_RETURN(paths, catalog.paths_of(id));
          ContentJob job;
          job.file = id;
          job.path = path;
          for (const std::string& p : paths) {
            if (p != path) job.links.push_back(p);
          }
          job.first_seq = job.last_seq = seq;
          job.whole = true;
          plan.contents.push_back(std::move(job));
          continue;
        }
        default:
          op.type = Type::kMknod;
          plan.attrs.push_back(AttrFix{id, path, false, seq, a.backing_ino});
          break;
      }
      plan.ops.push_back(std::move(op));
    }
  }
  order_attrs(plan.attrs);
  return plan;
}

}  // namespace mirrorfs::replicator

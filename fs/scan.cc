#include "fs/scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/fd_io.h"
#include "db/catalog.h"
#include "db/journal.h"
#include "fs/catalog_attrs.h"
#include "fs/log.h"

namespace mirrorfs::fs {
namespace {

using db::FileAttrs;
using db::FileId;
using db::FileKind;
using db::JournalKind;

struct Entry {
  std::string name;
  struct stat st;
};

using Fd = core::UniqueFd;

// The entries of a directory, sorted by name (bytewise, as the catalog
// lists them).
Result<std::vector<Entry>> read_entries(int dirfd, const std::string& path) {
  const int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "open " + path);
  DIR* dp = ::fdopendir(fd);
  if (dp == nullptr) {
    const int err = errno;
    ::close(fd);
    return Status::from_errno(err, "opendir " + path);
  }
  std::vector<Entry> out;
  for (;;) {
    errno = 0;
    dirent* d = ::readdir(dp);
    if (d == nullptr) break;
    const std::string_view n(d->d_name);
    if (n == "." || n == "..") continue;
    Entry e{std::string(n), {}};
    if (::fstatat(dirfd, d->d_name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;  // gone meanwhile
      const int err = errno;
      ::closedir(dp);
      return Status::from_errno(err, "stat " + join_path(path, n));
    }
    out.push_back(std::move(e));
  }
  const int err = errno;
  ::closedir(dp);
  if (err != 0) return Status::from_errno(err, "readdir " + path);
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

class Scanner {
 public:
  Scanner(db::Database& db, db::Catalog& catalog, db::Journal& journal,
          const ScanOptions& opt, dev_t dev)
      : db_(db), catalog_(catalog), journal_(journal), opt_(opt), dev_(dev) {}

  Status begin() {
    MIRRORFS_ASSIGN_OR_RETURN(
        t, db::Transaction::begin(db_, db::Transaction::Kind::kWrite));
    txn_.emplace(std::move(t));
    return Status::ok();
  }
  // Commits what is pending; reopens a transaction if `more`.
  Status flush(bool more) {
    MIRRORFS_ASSIGN_OR_RETURN(seq, journal_.commit(batch_));
    (void)seq;
    MIRRORFS_RETURN_IF_ERROR(txn_->commit());
    txn_.reset();
    return more ? begin() : Status::ok();
  }

  Status scan_root(int fd, const struct stat& st) {
    MIRRORFS_ASSIGN_OR_RETURN(root, catalog_.get(db::kRootId));
    MIRRORFS_RETURN_IF_ERROR(refresh(db::kRootId, root, st, ""));  // "": the root
    return scan_dir(fd, db::kRootId, "");
  }

  ScanStats stats;

 private:
  void add(JournalKind kind, FileId id, std::string path,
           std::string path2 = {}, std::vector<uint8_t> data = {}) {
    batch_.add(kind, id, std::move(path), std::move(path2), 0, 0,
               std::move(data));
    ++stats.records;
  }

  Status maybe_flush() {
    return batch_.size() >= opt_.batch ? flush(true) : Status::ok();
  }

  Status scan_dir(int dirfd, FileId dir, const std::string& path) {
    MIRRORFS_ASSIGN_OR_RETURN(have, read_entries(dirfd, path));
    MIRRORFS_ASSIGN_OR_RETURN(known, catalog_.list(dir));
    size_t i = 0, j = 0;
    std::vector<std::pair<const Entry*, FileId>> subdirs;
    while (i < have.size() || j < known.size()) {
      const int cmp = i == have.size()    ? 1
                      : j == known.size() ? -1
                                          : have[i].name.compare(known[j].first);
      if (cmp < 0) {  // new
        MIRRORFS_ASSIGN_OR_RETURN(id, add_new(dirfd, dir, path, have[i]));
        if (S_ISDIR(have[i].st.st_mode)) subdirs.emplace_back(&have[i], id);
        ++i;
      } else if (cmp > 0) {  // gone
        MIRRORFS_RETURN_IF_ERROR(
            remove_old(dir, join_path(path, known[j].first), known[j].first,
                       known[j].second));
        ++j;
      } else {
        MIRRORFS_ASSIGN_OR_RETURN(
            id, compare(dirfd, dir, path, have[i], known[j].second));
        if (S_ISDIR(have[i].st.st_mode)) subdirs.emplace_back(&have[i], id);
        ++i;
        ++j;
      }
      MIRRORFS_RETURN_IF_ERROR(maybe_flush());
    }
    stats.entries += have.size();
    for (const auto& [e, id] : subdirs) {
      const std::string sub = join_path(path, e->name);
      if (e->st.st_dev != dev_) {
        log_info("not descending into " + sub + ": another file system");
        continue;
      }
      Fd fd(::openat(dirfd, e->name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0) return Status::from_errno(errno, "open " + sub);
      MIRRORFS_RETURN_IF_ERROR(scan_dir(fd.get(), id, sub));
    }
    return Status::ok();
  }

  Result<FileId> add_new(int dirfd, FileId dir, const std::string& path,
                         const Entry& e) {
    const std::string p = join_path(path, e.name);
    ++stats.created;
    // Another name of an inode the catalog knows: a hard link (or, with
    // one link, a rename: its old names are gone or hold other files, and
    // the scan removes them when it gets there).
    if (!S_ISDIR(e.st.st_mode)) {
      Result<FileId> other = catalog_.lookup_backing(e.st.st_ino);
      if (other.is_ok()) {
        MIRRORFS_ASSIGN_OR_RETURN(attrs, catalog_.get(*other));
        if (attrs.kind == kind_of_mode(e.st.st_mode)) {
          MIRRORFS_ASSIGN_OR_RETURN(old_path, catalog_.path_of(*other));
          MIRRORFS_RETURN_IF_ERROR(catalog_.link(*other, dir, e.name));
          add(JournalKind::kLink, *other, old_path, p);
          MIRRORFS_RETURN_IF_ERROR(refresh(*other, attrs, e.st, p));
          return *other;
        }
      }
    }
    FileAttrs a = attrs_from_stat(e.st);
    if (S_ISLNK(e.st.st_mode)) {
      MIRRORFS_ASSIGN_OR_RETURN(target, read_link(dirfd, e.name, p));
      a.target = target;
    }
    MIRRORFS_ASSIGN_OR_RETURN(id, catalog_.create(dir, e.name, a));
    const JournalKind kind = S_ISDIR(e.st.st_mode)   ? JournalKind::kMkdir
                             : S_ISLNK(e.st.st_mode) ? JournalKind::kSymlink
                             : S_ISREG(e.st.st_mode) ? JournalKind::kCreate
                                                     : JournalKind::kMknod;
    add(kind, id, p, a.target, payload_from_stat(e.st).encode());
    if (S_ISREG(e.st.st_mode)) add(JournalKind::kDirty, id, p);
    return id;
  }

  Result<std::string> read_link(int dirfd, const std::string& name,
                                const std::string& p) {
    char buf[PATH_MAX + 1];
    const ssize_t n = ::readlinkat(dirfd, name.c_str(), buf, sizeof buf);
    if (n < 0) return Status::from_errno(errno, "readlink " + p);
    return std::string(buf, static_cast<size_t>(n));
  }

  // Removes a name, and first, for a directory, everything beneath it.
  Status remove_old(FileId dir, const std::string& p, const std::string& name,
                    FileId id) {
    MIRRORFS_ASSIGN_OR_RETURN(attrs, catalog_.get(id));
    const bool is_dir = attrs.kind == FileKind::kDir;
    if (is_dir) {
      MIRRORFS_ASSIGN_OR_RETURN(children, catalog_.list(id));
      for (const auto& [child, cid] : children) {
        MIRRORFS_RETURN_IF_ERROR(
            remove_old(id, join_path(p, child), child, cid));
      }
    }
    add(is_dir ? JournalKind::kRmdir : JournalKind::kUnlink, id, p);
    ++stats.removed;
    return catalog_.unlink(dir, name);
  }

  // A name both have. Returns the id the name has afterwards.
  Result<FileId> compare(int dirfd, FileId dir, const std::string& path,
                         const Entry& e, FileId id) {
    const std::string p = join_path(path, e.name);
    MIRRORFS_ASSIGN_OR_RETURN(cat, catalog_.get(id));
    bool replace = cat.kind != kind_of_mode(e.st.st_mode);
    if (!replace && cat.kind == FileKind::kSymlink) {
      MIRRORFS_ASSIGN_OR_RETURN(target, read_link(dirfd, e.name, p));
      replace = target != cat.target;
    }
    if (!replace && cat.kind != FileKind::kDir) {
      MIRRORFS_ASSIGN_OR_RETURN(other, holds_another(id, cat, e.st));
      replace = other;
    }
    if (replace) {
      MIRRORFS_RETURN_IF_ERROR(remove_old(dir, p, e.name, id));
      return add_new(dirfd, dir, path, e);
    }
    MIRRORFS_RETURN_IF_ERROR(refresh(id, cat, e.st, p));
    return id;
  }

  // Whether the name of catalog inode `id` now holds another file than
  // the one the catalog knows, in a way marking `id` dirty would get
  // wrong: an inode the catalog knows under another id (renamed or linked
  // here), or, when `id` has other names, any other inode (those names
  // still hold the old file, or are gone). A new inode at the only name
  // of `id` is the same file rewritten (save by rename): dirty, resent by
  // delta against what the mirror holds there.
  Result<bool> holds_another(FileId id, const FileAttrs& cat,
                             const struct stat& st) {
    if (cat.backing_ino == 0 || cat.backing_ino == st.st_ino) return false;
    Result<FileId> known = catalog_.lookup_backing(st.st_ino);
    if (known.is_ok() && *known != id) return true;
    if (!known.is_ok() && known.status().code() != Code::kNotFound) {
      return known.status();
    }
    MIRRORFS_ASSIGN_OR_RETURN(names, catalog_.paths_of(id));
    return names.size() > 1;
  }

  // Journals and stores what differs between the catalog row `cat` and
  // the backing file `st`. A directory's mtime counts too: the mount
  // journals a directory's utimens but not the mtime its entry operations
  // move (the replicator fixes those from BACKING), so the catalog's copy
  // lags, and a utimens the mount replied to but never committed (a
  // SIGKILL) is found only here. A directory's size does not count.
  Status refresh(FileId id, const FileAttrs& cat, const struct stat& st,
                 const std::string& p) {
    const bool owner_or_mode = cat.mode != st.st_mode ||
                               cat.uid != st.st_uid || cat.gid != st.st_gid;
    bool differs;
    if (S_ISDIR(st.st_mode)) {
      const bool mtime = cat.mtime_ns != mtime_ns(st);
      differs = owner_or_mode || mtime || cat.backing_ino != st.st_ino;
      if (owner_or_mode || mtime) {
        add(JournalKind::kSetattr, id, p, {}, payload_from_stat(st).encode());
      }
    } else if (S_ISREG(st.st_mode)) {
      differs = content_may_differ(cat, st) || owner_or_mode;
      if (differs) add(JournalKind::kDirty, id, p);
    } else {
      differs = content_may_differ(cat, st) || owner_or_mode;
      if (differs) {
        add(JournalKind::kSetattr, id, p, {}, payload_from_stat(st).encode());
      }
    }
    if (!differs) return Status::ok();
    ++stats.changed;
    return catalog_.set(id, restat(cat, st));
  }

  db::Database& db_;
  db::Catalog& catalog_;
  db::Journal& journal_;
  const ScanOptions opt_;
  const dev_t dev_;
  db::JournalBatch batch_;
  std::optional<db::Transaction> txn_;
};

}  // namespace

Result<ScanStats> scan_backing(db::Database& db, int root_fd,
                               const ScanOptions& opt) {
  struct stat st;
  if (::fstat(root_fd, &st) < 0) return Status::from_errno(errno, "stat BACKING");
  MIRRORFS_ASSIGN_OR_RETURN(catalog, db::Catalog::open(db));
  MIRRORFS_ASSIGN_OR_RETURN(journal, db::Journal::open(db));
  Scanner s(db, *catalog, *journal, opt, st.st_dev);
  MIRRORFS_RETURN_IF_ERROR(s.begin());
  MIRRORFS_RETURN_IF_ERROR(s.scan_root(root_fd, st));
  MIRRORFS_RETURN_IF_ERROR(s.flush(false));
  return s.stats;
}

}  // namespace mirrorfs::fs

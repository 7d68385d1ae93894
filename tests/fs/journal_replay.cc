#include "tests/fs/journal_replay.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "db/attr_payload.h"
#include "db/catalog.h"
#include "db/schema.h"

namespace mirrorfs::fs::testing {
namespace {

using db::JournalKind;

std::string err(const db::JournalRecord& r, const std::string& what) {
  return "seq " + std::to_string(r.seq) + " kind " +
         std::to_string(static_cast<int>(r.kind)) + " '" + r.path + "' '" +
         r.path2 + "': " + what + ": " + std::strerror(errno);
}

// Copies [off, off + len) of from (clipped to its size) into to.
bool copy_range(const std::string& from, const std::string& to, uint64_t off,
                uint64_t len) {
  const int in = ::open(from.c_str(), O_RDONLY);
  const int out = ::open(to.c_str(), O_WRONLY);
  bool ok = in >= 0 && out >= 0;
  std::vector<char> buf(1 << 16);
  while (ok && len > 0) {
    const ssize_t n = ::pread(in, buf.data(), std::min<uint64_t>(len, buf.size()),
                              static_cast<off_t>(off));
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    ok = ::pwrite(out, buf.data(), n, static_cast<off_t>(off)) == n;
    off += n;
    len -= n;
  }
  if (in >= 0) ::close(in);
  if (out >= 0) ::close(out);
  return ok;
}

// The user.* extended attributes of a path, name -> value.
std::map<std::string, std::string> xattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  char names[4096];
  const ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  for (ssize_t i = 0; i < n; i += std::strlen(names + i) + 1) {
    const std::string name(names + i);
    if (name.rfind("user.", 0) != 0) continue;
    char value[4096];
    const ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    out[name] = v < 0 ? "<error>" : std::string(value, v);
  }
  return out;
}

}  // namespace

std::string replay_journal(const std::vector<db::JournalRecord>& rows,
                           const std::string& replica,
                           const std::string& backing,
                           const std::string& state_db) {
  auto R = [&](const std::string& p) { return replica + "/" + p; };
  std::map<uint64_t, std::vector<std::pair<uint64_t, uint64_t>>> extents;
  std::set<uint64_t> dirty_only;
  for (const db::JournalRecord& r : rows) {
    const std::string p = R(r.path), q = R(r.path2);
    int rc = 0;
    mode_t mode = 0644;
    if (!r.data.empty() && (r.kind == JournalKind::kCreate ||
                            r.kind == JournalKind::kMkdir ||
                            r.kind == JournalKind::kMknod ||
                            r.kind == JournalKind::kSetattr)) {
      auto a = db::AttrPayload::decode(r.data);
      if (!a.is_ok()) return "seq " + std::to_string(r.seq) + ": bad payload";
      mode = a->mode & 07777;
      if (r.kind == JournalKind::kSetattr) {
        if (a->valid & db::AttrPayload::kMode) rc = ::chmod(p.c_str(), mode);
        if (rc == 0 && (a->valid & db::AttrPayload::kUid)) {
          rc = ::lchown(p.c_str(), a->uid, a->gid);
        }
        if (rc != 0) return err(r, "setattr");
        continue;
      }
    }
    switch (r.kind) {
      case JournalKind::kCreate: {
        const int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, mode);
        rc = fd < 0 ? -1 : ::close(fd);
        break;
      }
      case JournalKind::kMkdir:
        rc = ::mkdir(p.c_str(), mode);
        break;
      case JournalKind::kMknod:
        rc = ::mkfifo(p.c_str(), mode);
        break;
      case JournalKind::kSymlink:
        rc = ::symlink(r.path2.c_str(), p.c_str());
        break;
      case JournalKind::kLink:
        rc = ::link(p.c_str(), q.c_str());
        break;
      case JournalKind::kUnlink:
        rc = ::unlink(p.c_str());
        break;
      case JournalKind::kRmdir:
        rc = ::rmdir(p.c_str());
        break;
      case JournalKind::kRename:
        rc = ::renameat2(AT_FDCWD, p.c_str(), AT_FDCWD, q.c_str(),
                         static_cast<unsigned>(r.off));
        break;
      case JournalKind::kTruncate:
        rc = ::truncate(p.c_str(), static_cast<off_t>(r.off));
        break;
      case JournalKind::kSetxattr:
        rc = ::lsetxattr(p.c_str(), r.path2.c_str(), r.data.data(),
                         r.data.size(), 0);
        break;
      case JournalKind::kRemovexattr:
        rc = ::lremovexattr(p.c_str(), r.path2.c_str());
        break;
      case JournalKind::kDirty:
        if (!extents.count(r.file_id)) dirty_only.insert(r.file_id);
        break;
      case JournalKind::kExtent:
        extents[r.file_id].emplace_back(r.off, r.len);
        dirty_only.erase(r.file_id);
        break;
      default:
        return "seq " + std::to_string(r.seq) + ": unknown kind";
    }
    if (rc != 0) return err(r, "apply");
  }
  // Content, from the final backing files, for files that still exist.
  auto database = db::open_state_db(state_db);
  if (!database.is_ok()) return database.status().to_string();
  auto catalog = db::Catalog::open(**database);
  auto copy = [&](uint64_t id, uint64_t off, uint64_t len) -> std::string {
    auto path = (*catalog)->path_of(id);
    if (!path.is_ok()) return "";  // gone since: nothing to copy
    if (!copy_range(backing + "/" + *path, R(*path), off, len)) {
      return "copying file " + std::to_string(id) + " (" + *path + ")";
    }
    return "";
  };
  for (const auto& [id, list] : extents) {
    for (const auto& [off, len] : list) {
      if (std::string e = copy(id, off, len); !e.empty()) return e;
    }
  }
  // A whole-file re-sync (a crash, or a change the start-up scan found)
  // brings the file's mode and owner with it, as the replicator's
  // FileEnd attributes do.
  for (uint64_t id : dirty_only) {
    if (std::string e = copy(id, 0, UINT64_MAX / 2); !e.empty()) return e;
    auto path = (*catalog)->path_of(id);
    struct stat st;
    if (!path.is_ok() || ::stat((backing + "/" + *path).c_str(), &st) != 0) {
      continue;
    }
    // The whole file: its size too (a shorter file has no truncate row).
    if (::truncate(R(*path).c_str(), st.st_size) != 0 ||
        ::chmod(R(*path).c_str(), st.st_mode & 07777) != 0 ||
        ::chown(R(*path).c_str(), st.st_uid, st.st_gid) != 0) {
      return "attributes of file " + std::to_string(id) + " (" + *path + ")";
    }
  }
  return "";
}

std::string compare_trees(const std::string& a, const std::string& b,
                          bool mtimes) {
  namespace stdfs = std::filesystem;
  auto list = [](const std::string& root) {
    std::set<std::string> out;
    for (auto it = stdfs::recursive_directory_iterator(root);
         it != stdfs::recursive_directory_iterator(); ++it) {
      // Not stdfs::relative: it resolves symlinks, which may loop.
      out.insert(it->path().string().substr(root.size() + 1));
    }
    return out;
  };
  const auto na = list(a), nb = list(b);
  if (na != nb) {
    std::vector<std::string> diff;
    std::set_symmetric_difference(na.begin(), na.end(), nb.begin(), nb.end(),
                                  std::back_inserter(diff));
    return "names differ, e.g. " + diff.front();
  }
  if (mtimes) {
    struct stat ra, rb;
    ::stat(a.c_str(), &ra);
    ::stat(b.c_str(), &rb);
    if (ra.st_mtim.tv_sec != rb.st_mtim.tv_sec ||
        ra.st_mtim.tv_nsec != rb.st_mtim.tv_nsec) {
      return "the roots' mtimes differ";
    }
  }
  // Hard links: names grouped by inode must group alike.
  std::map<ino_t, std::string> first_a, first_b;
  for (const std::string& rel : na) {
    struct stat sa, sb;
    ::lstat((a + "/" + rel).c_str(), &sa);
    ::lstat((b + "/" + rel).c_str(), &sb);
    if (sa.st_mode != sb.st_mode) return rel + ": mode differs";
    if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid) {
      return rel + ": owner differs";
    }
    if (mtimes && (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
                   sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec)) {
      return rel + ": mtime " + std::to_string(sa.st_mtim.tv_sec) + "." +
             std::to_string(sa.st_mtim.tv_nsec) + " vs " +
             std::to_string(sb.st_mtim.tv_sec) + "." +
             std::to_string(sb.st_mtim.tv_nsec);
    }
    if (S_ISLNK(sa.st_mode)) {
      if (stdfs::read_symlink(a + "/" + rel) != stdfs::read_symlink(b + "/" + rel)) {
        return rel + ": symlink target differs";
      }
      continue;
    }
    if (!S_ISDIR(sa.st_mode)) {
      const std::string la = first_a.emplace(sa.st_ino, rel).first->second;
      const std::string lb = first_b.emplace(sb.st_ino, rel).first->second;
      if (la != lb) return rel + ": hard links differ";
    }
    if (S_ISREG(sa.st_mode)) {
      if (sa.st_size != sb.st_size) {
        return rel + ": size " + std::to_string(sa.st_size) + " vs " +
               std::to_string(sb.st_size);
      }
      std::string ca(sa.st_size, '\0'), cb(sb.st_size, '\0');
      FILE* fa = std::fopen((a + "/" + rel).c_str(), "rb");
      FILE* fb = std::fopen((b + "/" + rel).c_str(), "rb");
      const bool read = fa && fb &&
                        std::fread(ca.data(), 1, ca.size(), fa) == ca.size() &&
                        std::fread(cb.data(), 1, cb.size(), fb) == cb.size();
      if (fa) std::fclose(fa);
      if (fb) std::fclose(fb);
      if (!read) return rel + ": unreadable";
      if (ca != cb) {
        size_t i = 0;
        while (ca[i] == cb[i]) ++i;
        return rel + ": content differs at byte " + std::to_string(i);
      }
    }
    if (xattrs(a + "/" + rel) != xattrs(b + "/" + rel)) {
      return rel + ": user xattrs differ";
    }
  }
  return "";
}

}  // namespace mirrorfs::fs::testing

#include "replicator/restore.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>

#include "core/content_hash.h"
#include "core/fd_io.h"
#include "replicator/channel.h"
#include "replicator/client_session.h"
#include "replicator/read_only_session.h"
#include "replicator/restore_fetch.h"
#include "replicator/seeding.h"

namespace mirrorfs::replicator {
namespace {

constexpr auto kTimeout = std::chrono::minutes(5);

// A path from the mirror or the command line: relative, no empty, "." or
// ".." component ("." alone is the root).
bool safe_rel_path(const std::string& p) {
  if (p == ".") return true;
  if (p.empty() || p.front() == '/') return false;
  size_t at = 0;
  while (at <= p.size()) {
    const size_t slash = std::min(p.find('/', at), p.size());
    const std::string_view c(p.data() + at, slash - at);
    if (c.empty() || c == "." || c == "..") return false;
    at = slash + 1;
  }
  return true;
}

// Opens the directory `rel` beneath `dest_fd` following no symlink.
Result<core::UniqueFd> open_beneath(int dest_fd, const std::string& rel) {
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long fd = ::syscall(SYS_openat2, dest_fd, rel.empty() ? "." : rel.c_str(), &how,
                            sizeof how);
  if (fd < 0) return Status::from_errno(errno, "open DEST/" + rel);
  return core::UniqueFd(static_cast<int>(fd));
}

struct Session {
  std::unique_ptr<Channel> ch;
  uint64_t last_id = 0;
};

Result<Session> connect(const RestoreOptions& opt) {
  MIRRORFS_ASSIGN_OR_RETURN(ro, open_read_only(opt.state_dir, opt.mirror, ReadOnlyHello{}));
  Session s;
  s.ch = std::move(ro.channel);
  return s;
}

Result<std::vector<wire::ListEntry>> list(Session& s, const std::string& path) {
  const uint64_t id = ++s.last_id;
  MIRRORFS_RETURN_IF_ERROR(s.ch->send(wire::Message{id, wire::ListRequest{path}}));
  std::vector<wire::Message> answers;
  for (;;) {
    MIRRORFS_ASSIGN_OR_RETURN(m, s.ch->receive(kTimeout));
    if (m.request_id != id) {
      MIRRORFS_RETURN_IF_ERROR(ended_by_mirror(*s.ch, m));
      return Status::corrupt("mirror answered another request");
    }
    const bool final = !std::holds_alternative<wire::ListData>(m.body);
    answers.push_back(std::move(m));
    if (final) return listing_of(answers, path);
  }
}

struct DirFix {
  std::string rel;
  wire::Attrs attrs;
};

wire::Attrs attrs_of(const wire::ListEntry& e) {
  wire::Attrs a;
  a.valid = 1 | 2 | 4 | 32;
  a.mode = e.mode;
  a.uid = e.uid;
  a.gid = e.gid;
  a.mtime_ns = e.mtime_ns;
  return a;
}

timespec ts_of(int64_t ns) { return {ns / 1'000'000'000, ns % 1'000'000'000}; }

class Restorer {
 public:
  Restorer(const RestoreOptions& opt, Session& s, int dest_fd)
      : opt_(opt), s_(s), dest_fd_(dest_fd) {}

  // Restores `entries` (a listing, in pre-order) beneath DEST.
  Status run(const std::vector<wire::ListEntry>& entries, ProgressMeter& meter,
             const std::atomic<bool>& stop) {
    for (const wire::ListEntry& e : entries) {
      if (stop.load()) return Status(Code::kIoError, "interrupted", EINTR);
      if (!safe_rel_path(e.path) || e.path == ".") {
        return Status::corrupt("mirror listed an unsafe path: " + e.path);
      }
      Status st = restore_one(e, meter);
      if (!st.is_ok()) {
        MIRRORFS_RETURN_IF_ERROR(connection_alive());
        ++stats_.failed;
        if (stats_.first_error.empty()) stats_.first_error = e.path + ": " + st.message();
      }
    }
    return Status::ok();
  }

  // Directory attributes, deepest first, so their mtimes stay.
  void fix_dirs() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      Result<core::UniqueFd> fd = open_beneath(dest_fd_, it->rel);
      if (!fd.is_ok()) continue;
      (void)set_fd_attrs(fd->get(), it->attrs);
    }
  }

  RestoreStats& stats() { return stats_; }

 private:
  Status connection_alive() {
    // A failed send on a closed channel names why it closed.
    return s_.ch->drain(std::chrono::seconds(30));
  }

  Status set_fd_attrs(int fd, const wire::Attrs& a) {
    if (opt_.set_owner && ::fchown(fd, a.uid, a.gid) != 0) return Status::from_errno(errno, "chown");
    if (::fchmod(fd, a.mode & 07777) != 0) return Status::from_errno(errno, "chmod");
    const timespec ts[2] = {{0, UTIME_OMIT}, ts_of(a.mtime_ns)};
    if (::futimens(fd, ts) != 0) return Status::from_errno(errno, "set times");
    return Status::ok();
  }

  // Clears `name` in `dir` (DEST/`rel`) unless it holds file type `type`:
  // a directory there is removed with what it holds; anything else is
  // replaced by the rename that puts the new entry there.
  Status clear_other_type(int dir, const std::string& name, const std::string& rel, uint32_t type,
                          bool* same) {
    struct stat st;
    *same = false;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno == ENOENT ? Status::ok() : Status::from_errno(errno, "stat " + name);
    }
    if ((st.st_mode & S_IFMT) == type) {
      *same = true;
      return Status::ok();
    }
    if (!S_ISDIR(st.st_mode)) return Status::ok();  // replaced by rename
    std::error_code ec;
    std::filesystem::remove_all(opt_.dest + "/" + rel, ec);
    if (ec) return Status(Code::kIoError, "remove the directory " + name + ": " + ec.message());
    return Status::ok();
  }

  // Puts a new entry made by `make(tmp_name)` under `name`, atomically.
  template <typename Make>
  static Status replace_with(int dir, const std::string& name, Make make) {
    const std::string tmp = "." + name.substr(0, 200) + ".mirrorfs-new";
    ::unlinkat(dir, tmp.c_str(), 0);
    if (make(tmp.c_str()) != 0) return Status::from_errno(errno, "create " + name);
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
      const int err = errno;
      ::unlinkat(dir, tmp.c_str(), 0);
      return Status::from_errno(err, "rename into " + name);
    }
    return Status::ok();
  }

  Status restore_one(const wire::ListEntry& e, ProgressMeter& meter) {
    const size_t slash = e.path.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : e.path.substr(0, slash);
    const std::string name = slash == std::string::npos ? e.path : e.path.substr(slash + 1);
    if (!dir_fd_.has_value() || dir_rel_ != parent) {
      dir_fd_.reset();
      MIRRORFS_ASSIGN_OR_RETURN(fd, open_beneath(dest_fd_, parent));
      dir_fd_ = std::move(fd);
      dir_rel_ = parent;
    }
    const int dir = dir_fd_->get();
    const uint32_t type = e.mode & S_IFMT;
    bool same = false;
    MIRRORFS_RETURN_IF_ERROR(clear_other_type(dir, name, e.path, type, &same));
    const wire::Attrs a = attrs_of(e);
    switch (type) {
      case S_IFDIR:
        if (!same && ::mkdirat(dir, name.c_str(), 0700) != 0) {
          return Status::from_errno(errno, "mkdir " + e.path);
        }
        ++stats_.dirs;
        dirs_.push_back(DirFix{e.path, a});
        return Status::ok();
      case S_IFREG:
        return restore_file(e, dir, name, same, meter);
      case S_IFLNK: {
        char buf[wire::kMaxPath + 1];
        const ssize_t n = same ? ::readlinkat(dir, name.c_str(), buf, sizeof buf) : -1;
        if (n < 0 || std::string_view(buf, static_cast<size_t>(n)) != e.target) {
          MIRRORFS_RETURN_IF_ERROR(replace_with(
              dir, name, [&](const char* t) { return ::symlinkat(e.target.c_str(), dir, t); }));
        }
        if (opt_.set_owner) ::fchownat(dir, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW);
        const timespec ts[2] = {{0, UTIME_OMIT}, ts_of(e.mtime_ns)};
        ::utimensat(dir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
        ++stats_.symlinks;
        return Status::ok();
      }
      default: {
        if ((type == S_IFCHR || type == S_IFBLK) && ::geteuid() != 0) {
          ++stats_.skipped_nodes;
          return Status::ok();
        }
        if (!same) {
          MIRRORFS_RETURN_IF_ERROR(replace_with(dir, name, [&](const char* t) {
            return ::mknodat(dir, t, e.mode & (S_IFMT | 07777), 0);
          }));
        }
        ++stats_.nodes;
        return set_path_attrs(dir, name, a);
      }
    }
  }

  Status set_path_attrs(int dir, const std::string& name, const wire::Attrs& a) {
    if (opt_.set_owner) ::fchownat(dir, name.c_str(), a.uid, a.gid, AT_SYMLINK_NOFOLLOW);
    ::fchmodat(dir, name.c_str(), a.mode & 07777, 0);
    const timespec ts[2] = {{0, UTIME_OMIT}, ts_of(a.mtime_ns)};
    ::utimensat(dir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    return Status::ok();
  }

  Status restore_file(const wire::ListEntry& e, int dir, const std::string& name, bool same,
                      ProgressMeter& meter) {
    if (e.nlink > 1) {
      auto [it, first] = inodes_.emplace(e.ino, e.path);
      if (!first) {  // another name of a file restored already
        const std::string& target = it->second;
        MIRRORFS_RETURN_IF_ERROR(replace_with(dir, name, [&](const char* t) {
          return ::linkat(dest_fd_, target.c_str(), dir, t, 0);
        }));
        ++stats_.links;
        meter.advance(1, e.size);
        return Status::ok();
      }
    }
    if (same && e.has_hash) {
      core::UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      struct stat st;
      if (fd.get() >= 0 && ::fstat(fd.get(), &st) == 0 &&
          static_cast<uint64_t>(st.st_size) == e.size) {
        Result<core::ContentHash> h = core::content_hash_fd(fd.get());
        if (h.is_ok() && std::equal(h->begin(), h->end(), e.hash.begin())) {
          MIRRORFS_RETURN_IF_ERROR(set_fd_attrs(fd.get(), attrs_of(e)));
          ++stats_.files;
          stats_.bytes += e.size;
          stats_.saved_bytes += e.size;
          meter.advance(1, e.size);
          return Status::ok();
        }
      }
    }
    FetchFileArgs args;
    args.request_id = ++s_.last_id;
    args.mirror_path = e.path;
    args.dir_fd = dir;
    args.name = name;
    args.set_owner = opt_.set_owner;
    Result<FetchFileResult> r = fetch_file(*s_.ch, args);
    meter.advance(1, e.size);
    if (!r.is_ok()) {
      inodes_.erase(e.ino);  // no first name to link the others to
      return r.status();
    }
    ++stats_.files;
    ++stats_.files_fetched;
    stats_.bytes += r->size;
    stats_.saved_bytes += r->copied_bytes;
    return Status::ok();
  }

  const RestoreOptions& opt_;
  Session& s_;
  int dest_fd_;
  std::optional<core::UniqueFd> dir_fd_;  // the parent last used
  std::string dir_rel_;
  std::map<uint64_t, std::string> inodes_;  // mirror ino -> first name restored
  std::vector<DirFix> dirs_;
  RestoreStats stats_;
};

}  // namespace

Result<RestoreStats> run_restore(const RestoreOptions& opt, const std::atomic<bool>& stop) {
  std::vector<std::string> paths = opt.paths.empty() ? std::vector<std::string>{"."} : opt.paths;
  for (std::string& p : paths) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (!safe_rel_path(p)) {
      return Status::invalid_argument("PATH " + p +
                                      ": must be relative to the mirror's root, without . or ..");
    }
  }
  MIRRORFS_ASSIGN_OR_RETURN(session, connect(opt));
  // Every listing first: a PATH that is not there fails before DEST is
  // touched, and the meter knows its totals.
  std::vector<std::vector<wire::ListEntry>> listings;
  uint64_t files = 0, bytes = 0;
  for (const std::string& p : paths) {
    Result<std::vector<wire::ListEntry>> l = list(session, p);
    if (!l.is_ok()) {
      const int err = l.status().errno_value();
      if (err == ENOENT) return Status(Code::kNotFound, "PATH " + p + " is not on the mirror");
      if (err == ENOTDIR) {
        return Status::invalid_argument("PATH " + p +
                                        " is not a directory on the mirror; name its directory");
      }
      return l.status();
    }
    for (const wire::ListEntry& e : *l) {
      if (S_ISREG(e.mode)) {
        ++files;
        bytes += e.size;
      }
    }
    listings.push_back(std::move(*l));
  }
  std::error_code ec;
  std::filesystem::create_directories(opt.dest, ec);
  if (ec) return Status(Code::kIoError, "create DEST " + opt.dest + ": " + ec.message());
  core::UniqueFd dest(::open(opt.dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dest.get() < 0) return Status::from_errno(errno, "open DEST " + opt.dest);

  ProgressOptions popt = opt.progress;
  ProgressMeter meter(popt, files, bytes);
  Restorer r(opt, session, dest.get());
  for (size_t i = 0; i < paths.size(); ++i) {
    if (paths[i] != ".") {
      std::filesystem::create_directories(opt.dest + "/" + paths[i], ec);
      if (ec) return Status(Code::kIoError, "create DEST/" + paths[i] + ": " + ec.message());
    }
    MIRRORFS_RETURN_IF_ERROR(r.run(listings[i], meter, stop));
  }
  r.fix_dirs();
  meter.finish();
  if (::syncfs(dest.get()) != 0) return Status::from_errno(errno, "sync DEST " + opt.dest);
  const WireBytes w = session.ch->wire_bytes();
  RestoreStats stats = r.stats();
  stats.wire_bytes = w.sent + w.received;
  return stats;
}

}  // namespace mirrorfs::replicator

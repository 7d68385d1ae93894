#include "fs/mount.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include "db/schema.h"
#include "db/settings.h"
#include "fs/commit_server.h"
#include "fs/log.h"
#include "fs/passthrough.h"
#include "fs/recorder.h"
#include "fs/scan.h"

namespace mirrorfs::fs {
namespace {

Result<std::string> real_dir(const std::string& path, const char* what) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    return Status::from_errno(errno, std::string(what) + " " + path);
  }
  struct stat st;
  if (::stat(buf, &st) < 0) return Status::from_errno(errno, path);
  if (!S_ISDIR(st.st_mode)) {
    return Status::invalid_argument(std::string(what) + " " + path +
                                    " is not a directory");
  }
  return std::string(buf);
}

// True if `p` is `dir` or beneath it (both canonical).
bool is_within(const std::string& p, const std::string& dir) {
  if (dir == "/") return true;
  return p == dir || (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 &&
                      p[dir.size()] == '/');
}

// The handlers; `timed`: each inside the op_stats wrapper.
const fuse_lowlevel_ops& operations(bool timed) {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = [](void*, fuse_conn_info* conn) {
      // Big writes (the kernel sends up to 1 MiB per WRITE); read replies
      // spliced from the backing file. Spliced requests measured slower
      // for writes (PERF-NOTES), and the writeback cache made file
      // creation slower with no gain for big writes: both stay off.
      conn->max_write = 1 << 20;
      if (conn->capable & FUSE_CAP_SPLICE_WRITE) {
        conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
      }
      conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_WRITEBACK_CACHE);
      conn->time_gran = 1;
    };
    add_entry_ops(o);
    add_file_ops(o);
    add_dir_ops(o);
    add_xattr_ops(o);
    return o;
  }();
  static const fuse_lowlevel_ops timed_ops = [] {
    fuse_lowlevel_ops o = ops;
    instrument_ops(o, [](fuse_req_t req) { return context(req).op_stats; });
    return o;
  }();
  return timed ? timed_ops : ops;
}

class Args {
 public:
  void add(const std::string& a) {
    store_.push_back(a);
  }
  fuse_args get() {
    ptrs_.clear();
    for (auto& s : store_) ptrs_.push_back(s.data());
    return FUSE_ARGS_INIT(static_cast<int>(ptrs_.size()), ptrs_.data());
  }

 private:
  std::vector<std::string> store_;
  std::vector<char*> ptrs_;
};

// Open files and directories each hold descriptors, and without file
// handles so does every inode the kernel knows (docs/fs.md): take the
// hard limit. Returns the soft limit now in force.
rlim_t raise_fd_limit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur >= rl.rlim_max) return rl.rlim_cur;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    log_error("cannot raise the open file limit: " +
              Status::from_errno(errno, "setrlimit").to_string());
    return before;
  }
  return rl.rlim_cur;
}

// The descriptor cache's size: as asked, but at most half the open-file
// limit, the rest for open files, directories and the database.
size_t fd_cache_size(size_t wanted, rlim_t limit) {
  const rlim_t half = limit / 2 > 16 ? limit / 2 : 16;
  return wanted < half ? wanted : static_cast<size_t>(half);
}

}  // namespace

Status check_mount_paths(MountOptions& opt) {
  MIRRORFS_ASSIGN_OR_RETURN(backing, real_dir(opt.backing, "BACKING"));
  MIRRORFS_ASSIGN_OR_RETURN(mnt, real_dir(opt.mountpoint, "MOUNTPOINT"));
  if (is_within(mnt, backing)) {
    return Status::invalid_argument("MOUNTPOINT " + mnt +
                                    " is inside BACKING " + backing);
  }
  if (opt.state_dir.empty()) {
    return Status::invalid_argument("--state DIR is required");
  }
  if (::mkdir(opt.state_dir.c_str(), 0700) < 0 && errno != EEXIST) {
    return Status::from_errno(errno, "create state directory " + opt.state_dir);
  }
  MIRRORFS_ASSIGN_OR_RETURN(state, real_dir(opt.state_dir, "state directory"));
  if (is_within(state, mnt)) {
    return Status::invalid_argument("state directory " + state +
                                    " is inside MOUNTPOINT " + mnt);
  }
  if (is_within(state, backing)) {
    return Status::invalid_argument("state directory " + state +
                                    " is inside BACKING " + backing);
  }
  opt.backing = backing;
  opt.mountpoint = mnt;
  opt.state_dir = state;
  return Status::ok();
}

namespace {

// Ties the state directory to this BACKING (the replicator reads files
// from the path stored here), refusing one that journals another tree: its
// catalog would describe the wrong files.
Status claim_state(db::Database& db, const MountOptions& opt) {
  MIRRORFS_ASSIGN_OR_RETURN(settings, db::Settings::open(db));
  MIRRORFS_ASSIGN_OR_RETURN(id, db::random_hex_id());
  MIRRORFS_RETURN_IF_ERROR(
      settings->get_or_set(db::kSettingJournalId, id).status());
  MIRRORFS_ASSIGN_OR_RETURN(backing,
                            settings->get_or_set(db::kSettingBacking, opt.backing));
  if (backing != opt.backing) {
    return Status::invalid_argument("state directory " + opt.state_dir +
                                    " belongs to BACKING " + backing +
                                    ", not " + opt.backing);
  }
  return Status::ok();
}

// Two mounts must not share a journal: one that answers on the state
// directory's commit socket is running.
Status refuse_running_mount(const std::string& state_dir) {
  db::CommitRequestOptions probe;
  probe.timeout = std::chrono::milliseconds(2000);
  Result<db::CommitOutcome> other = db::request_commit(state_dir, probe);
  if (other.is_ok() && other->attached) {
    return Status(Code::kAlreadyExists,
                  "state directory " + state_dir + " is in use by a running mount");
  }
  return Status::ok();
}

// Lets `mirrorfs replicate` ask for a commit before it reads the journal
// (fs/commit_server.h).
Result<std::unique_ptr<CommitServer>> start_commit_server(
    const MountOptions& opt, Recorder& recorder) {
  return CommitServer::start(opt.state_dir, [&recorder, journal = opt.journal] {
    db::CommitReply r;
    r.status = journal ? db::CommitStatus::kCommitted
                       : db::CommitStatus::kNotJournaling;
    r.seq = recorder.commit_all();
    return r;
  });
}

}  // namespace

Status run_mount(MountOptions opt) {
  MIRRORFS_RETURN_IF_ERROR(check_mount_paths(opt));
  const rlim_t fd_limit = raise_fd_limit();
  const std::string db_path = opt.state_dir + "/state.db";
  {
    // Before anything is set up or logged: a refusal is one line.
    MIRRORFS_ASSIGN_OR_RETURN(db, db::open_state_db(db_path));
    MIRRORFS_RETURN_IF_ERROR(claim_state(*db, opt));
  }
  MIRRORFS_RETURN_IF_ERROR(refuse_running_mount(opt.state_dir));

  const int root_fd = ::open(opt.backing.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return Status::from_errno(errno, "open " + opt.backing);
  struct stat root_st;
  if (::fstat(root_fd, &root_st) < 0) {
    const int err = errno;
    ::close(root_fd);
    return Status::from_errno(err, "stat " + opt.backing);
  }
  InodeTable::Options table_opt;
  table_opt.fd_cache_size = fd_cache_size(opt.fd_cache, fd_limit);
  auto fs = std::make_unique<FsContext>(root_fd, root_st, table_opt);
  fs->entry_timeout = opt.entry_timeout;
  fs->attr_timeout = opt.attr_timeout;
  fs->as_caller = ::geteuid() == 0;
  fs->op_stats = opt.op_stats;

  {
    // The scan's connection is closed before any fork (daemonize).
    MIRRORFS_ASSIGN_OR_RETURN(db, db::open_state_db(db_path));
    const int dir_fd = ::open(opt.backing.c_str(),
                              O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return Status::from_errno(errno, "open " + opt.backing);
    Result<ScanStats> scan = scan_backing(*db, dir_fd);
    ::close(dir_fd);
    if (!scan.is_ok()) return scan.status();
    log_info("start-up scan: " + std::to_string(scan->entries) +
             " entries, " + std::to_string(scan->created) + " new, " +
             std::to_string(scan->removed) + " gone, " +
             std::to_string(scan->changed) + " changed");
  }

  Args args;
  args.add("mirrorfs");
  // The kernel checks permissions from the mode bits, as a local disk
  // does: without this, a root mount with allow_other would let anyone
  // do anything.
  args.add("-o");
  args.add("default_permissions,fsname=mirrorfs:" + opt.backing +
           ",subtype=mirrorfs");
  for (const std::string& o : opt.fuse_options) {
    args.add("-o");
    args.add(o);
  }
  fuse_args fargs = args.get();
  fuse_session* se = fuse_session_new(&fargs, &operations(opt.op_stats != nullptr),
                                      sizeof(fuse_lowlevel_ops), fs.get());
  if (se == nullptr) {
    fuse_opt_free_args(&fargs);
    return Status::invalid_argument("cannot start a FUSE session (bad -o?)");
  }
  // fuse_session_new parsed fargs into an allocated copy: freed with the
  // session.
  auto destroy = [&] {
    fuse_session_destroy(se);
    fuse_opt_free_args(&fargs);
  };
  if (fuse_set_signal_handlers(se) != 0) {
    destroy();
    return Status::internal("cannot install signal handlers");
  }
  if (fuse_session_mount(se, opt.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    destroy();
    return Status(Code::kIoError, "cannot mount on " + opt.mountpoint);
  }
  if (!opt.foreground) {
    if (fuse_daemonize(0) != 0) {
      fuse_session_unmount(se);
      fuse_remove_signal_handlers(se);
      destroy();
      return Status::internal("cannot daemonize");
    }
    const std::string log = opt.state_dir + "/mount.log";
    const int lfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (lfd >= 0) {
      ::dup2(lfd, STDERR_FILENO);
      ::close(lfd);
    }
  }
  // Modes arrive from the kernel with the caller's umask applied.
  ::umask(0);

  Status result;
  Result<std::unique_ptr<db::Database>> db = db::open_state_db(db_path);
  Recorder::Options rec_opt;
  rec_opt.commit_interval = opt.commit_interval;
  rec_opt.batch_delay = opt.commit_delay;
  rec_opt.journal = opt.journal;
  rec_opt.backing_fd = root_fd;  // owned by fs->inodes, which outlives the recorder
  Result<std::unique_ptr<Recorder>> recorder =
      db.is_ok() ? Recorder::start(std::move(*db), rec_opt)
                 : Result<std::unique_ptr<Recorder>>(db.status());
  Result<std::unique_ptr<CommitServer>> server =
      recorder.is_ok() ? start_commit_server(opt, **recorder)
                       : Result<std::unique_ptr<CommitServer>>(recorder.status());
  if (server.is_ok() && opt.on_mounted) {
    if (Status s = opt.on_mounted(opt); !s.is_ok()) server = s;
  }
  if (!server.is_ok()) {
    result = server.status();
  } else {
    fs->recorder = recorder->get();
    log_info("mounted " + opt.backing + " on " + opt.mountpoint);
    if (!opt.journal) {
      log_info("--no-journal: changes are NOT recorded (benchmarks only)");
    }
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_idle_threads(cfg, 10);
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    const int r = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    server->reset();  // readers find no mount from here on
    (*recorder)->stop();
    // libfuse returns the number of the signal that stopped it (> 0), 0
    // for an unmount, -errno for a failure.
    if (r < 0 && r != -EINTR) {
      result = Status(Code::kIoError, "FUSE loop ended with error " +
                                          std::to_string(r));
    }
    if (fs->inodes.file_handles()) {
      const FdCache::Stats s = fs->inodes.fd_stats();
      log_info("descriptor cache: " + std::to_string(s.hits) + " hits, " +
               std::to_string(s.misses) + " reopened by handle, " +
               std::to_string(s.evictions) + " closed to stay within " +
               std::to_string(s.capacity));
    }
    const uint64_t errors = (*recorder)->errors();
    if (errors) {
      log_error(std::to_string(errors) +
                " changes could not be journaled; the next start-up scan "
                "will find them");
    }
  }
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  destroy();
  log_info("unmounted " + opt.mountpoint);
  return result;
}

}  // namespace mirrorfs::fs

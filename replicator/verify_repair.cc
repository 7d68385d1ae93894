// repair_mirror: journals what makes the replicator converge each
// difference (verify.h), then gets it shipped and acknowledged.
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <thread>

#include "db/attr_payload.h"
#include "replicator/log.h"
#include "replicator/verify.h"
#include "replicator/verify_internal.h"

namespace mirrorfs::replicator {
namespace {

size_t depth_of(const std::string& p) { return std::count(p.begin(), p.end(), '/'); }

db::AttrPayload attrs_of(const struct stat& st, bool owner) {
  db::AttrPayload a;
  a.valid = db::AttrPayload::kMode | db::AttrPayload::kMtime;
  if (owner) a.valid |= db::AttrPayload::kUid | db::AttrPayload::kGid;
  a.mode = st.st_mode;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.mtime_ns = db::ns_of(st.st_mtim);
  a.rdev = st.st_rdev;
  return a;
}

// The journal rows (and the file versions to forget) for `diffs`.
class RepairBuilder {
 public:
  explicit RepairBuilder(VerifyState& st) : st_(st) {}

  Status add_all(const std::vector<Difference>& diffs) {
    // Removals first, deepest first, so each directory is empty when its
    // turn comes; then creations in listing order (parents first); then
    // content and attributes.
    std::vector<const Difference*> removals;
    for (const Difference& d : diffs) {
      if (d.mirror_mode != 0 && (d.kind == "extra" || d.kind == "type" || d.kind == "target")) {
        removals.push_back(&d);
      }
    }
    std::stable_sort(removals.begin(), removals.end(), [](const Difference* a, const Difference* b) {
      return depth_of(a->path) > depth_of(b->path);
    });
    for (const Difference* d : removals) {
      batch_.add(S_ISDIR(d->mirror_mode) ? db::JournalKind::kRmdir : db::JournalKind::kUnlink, 0,
                 d->path);
    }
    for (const Difference& d : diffs) {
      if (d.kind == "missing" || d.kind == "type" || d.kind == "target") {
        MIRRORFS_RETURN_IF_ERROR(create(d.path));
      }
    }
    std::set<std::string> attrs_done;
    for (const Difference& d : diffs) {
      if (d.kind == "content" || d.kind == "link") {
        MIRRORFS_ASSIGN_OR_RETURN(id, file_id(d.path));
        batch_.add(db::JournalKind::kDirty, id, d.path);
        forget_.push_back(id);
      } else if ((d.kind == "mode" || d.kind == "mtime" || d.kind == "owner") &&
                 attrs_done.insert(d.path).second) {
        MIRRORFS_ASSIGN_OR_RETURN(id, file_id(d.path));
        MIRRORFS_ASSIGN_OR_RETURN(s, lstat(d.path));
        batch_.add(db::JournalKind::kSetattr, id, d.path, {}, 0, 0,
                   attrs_of(s, owner_fix(diffs, d.path)).encode());
      }
    }
    return Status::ok();
  }

  // In one transaction: the rows journaled, the versions forgotten.
  // Returns the last seq of the repair.
  Result<uint64_t> commit(db::MirrorId mirror) {
    MIRRORFS_ASSIGN_OR_RETURN(txn, db::Transaction::begin(*st_.db, db::Transaction::Kind::kWrite));
    MIRRORFS_ASSIGN_OR_RETURN(last, st_.journal->commit(batch_));
    for (db::FileId id : forget_) {
      MIRRORFS_RETURN_IF_ERROR(st_.state->set_file_version(mirror, id, {}));
    }
    MIRRORFS_RETURN_IF_ERROR(txn.commit());
    return last;
  }

 private:
  static bool owner_fix(const std::vector<Difference>& diffs, const std::string& path) {
    return std::any_of(diffs.begin(), diffs.end(), [&](const Difference& d) {
      return d.path == path && d.kind == "owner";
    });
  }

  Result<struct stat> lstat(const std::string& path) {
    struct stat s;
    const std::string full = st_.backing + "/" + path;
    if (::lstat(full.c_str(), &s) != 0) return Status::from_errno(errno, "repair: lstat " + full);
    return s;
  }

  // The catalog's id of the entry at `path`: the replicator plans from the
  // catalog, so what it does not know (created in BACKING behind a running
  // mount) cannot be journaled until the mount's start-up scan adopts it.
  Result<db::FileId> file_id(const std::string& path) {
    Result<db::FileId> id = st_.catalog->lookup_path(path);
    if (id.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound,
                    "repair: " + path +
                        " is not in the mount's catalog (made in BACKING behind the mount): "
                        "restart the mount, its start-up scan records it, then repair again");
    }
    return id;
  }

  Status create(const std::string& path) {
    MIRRORFS_ASSIGN_OR_RETURN(id, file_id(path));
    MIRRORFS_ASSIGN_OR_RETURN(s, lstat(path));
    std::vector<uint8_t> attrs = attrs_of(s, true).encode();
    if (S_ISDIR(s.st_mode)) {
      batch_.add(db::JournalKind::kMkdir, id, path, {}, 0, 0, std::move(attrs));
    } else if (S_ISLNK(s.st_mode)) {
      char buf[4097];
      const ssize_t n = ::readlink((st_.backing + "/" + path).c_str(), buf, sizeof buf);
      if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) {
        return Status::from_errno(errno, "repair: readlink BACKING/" + path);
      }
      batch_.add(db::JournalKind::kSymlink, id, path, std::string(buf, static_cast<size_t>(n)), 0,
                 0, std::move(attrs));
    } else if (S_ISREG(s.st_mode)) {
      batch_.add(db::JournalKind::kCreate, id, path, {}, 0, 0, std::move(attrs));
      forget_.push_back(id);
    } else {
      db::AttrPayload node = attrs_of(s, true);
      node.valid |= db::AttrPayload::kRdev;  // a device's numbers
      batch_.add(db::JournalKind::kMknod, id, path, {}, 0, 0, node.encode());
    }
    return Status::ok();
  }

  VerifyState& st_;
  db::JournalBatch batch_;
  std::vector<db::FileId> forget_;
};

bool wait_acked(VerifyState& st, db::MirrorId mirror, uint64_t seq,
                std::chrono::milliseconds limit, const std::atomic<bool>& stop) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    Result<uint64_t> acked = st.state->acked_seq(mirror);
    if (acked.is_ok() && *acked >= seq) return true;
    if (stop.load() || std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Status repair_mirror(const VerifyOptions& opt, const VerifyReport& report,
                     const std::atomic<bool>& stop) {
  if (report.differences.empty()) return Status::ok();
  MIRRORFS_ASSIGN_OR_RETURN(st, VerifyState::open(opt.state_dir));
  MIRRORFS_ASSIGN_OR_RETURN(mirror, st.state->add_mirror(opt.mirror.name));
  RepairBuilder builder(st);
  MIRRORFS_RETURN_IF_ERROR(builder.add_all(report.differences));
  MIRRORFS_ASSIGN_OR_RETURN(seq, builder.commit(mirror));
  log_info("repair journaled up to seq " + std::to_string(seq) + " for mirror " +
           opt.mirror.name);
  // A running replicator polls the journal: give it a moment.
  if (wait_acked(st, mirror, seq, std::chrono::seconds(1), stop)) return Status::ok();
  ReplicateOptions ropt;
  ropt.state_dir = opt.state_dir;
  ropt.mirrors = {opt.mirror};
  ropt.once = true;
  ropt.once_attempts = 1;
  const Status shipped = run_replicate(ropt, stop);
  if (shipped.is_ok() && wait_acked(st, mirror, seq, std::chrono::seconds(0), stop)) {
    return Status::ok();
  }
  log_info("mirror " + opt.mirror.name + " did not take the repair here (" +
           shipped.to_string() + "); waiting up to " + std::to_string(opt.repair_wait.count()) +
           " s for the running replicator to ship it (seq " + std::to_string(seq) + ")");
  if (wait_acked(st, mirror, seq, opt.repair_wait, stop)) return Status::ok();
  return Status(Code::kIoError, "the repair (journal seq " + std::to_string(seq) +
                                    ") was not acknowledged by mirror " + opt.mirror.name +
                                    "; it stays journaled: 'mirrorfs replicate' ships it");
}

}  // namespace mirrorfs::replicator

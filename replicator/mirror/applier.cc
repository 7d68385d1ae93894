#include <fcntl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "db/attr_payload.h"
#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/node_ops.h"

namespace mirrorfs::replicator::mirror {
namespace {

Result<std::string> random_id() {
  uint8_t r[16];
  size_t have = 0;
  while (have < sizeof r) {
    const ssize_t n = ::getrandom(r + have, sizeof r - have, 0);
    if (n < 0 && errno != EINTR) return sys_error(errno, "getrandom", "");
    if (n > 0) have += static_cast<size_t>(n);
  }
  std::string hex;
  for (uint8_t b : r) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", b);
    hex += two;
  }
  return hex;
}

Result<std::string> real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return sys_error(errno, "resolve", p);
  return std::string(buf);
}

// The state directory must not lie in ROOT: clients write there.
Status check_state_dir(const std::string& root, const std::string& state_dir) {
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return sys_error(errno, "create state directory", state_dir);
  }
  Result<std::string> r = real_path(root);
  if (!r.is_ok()) return r.status();
  Result<std::string> s = real_path(state_dir);
  if (!s.is_ok()) return s.status();
  const std::string prefix = *r == "/" ? "/" : *r + "/";
  if (*s == *r || s->compare(0, prefix.size(), prefix) == 0) {
    return Status::invalid_argument("state directory " + state_dir +
                                    " lies inside the mirror root " + root +
                                    ", where clients write");
  }
  return Status::ok();
}

}  // namespace

int64_t mtime_ns(const struct stat& st) { return db::ns_of(st.st_mtim); }
int64_t ctime_ns(const struct stat& st) { return db::ns_of(st.st_ctim); }

Status check_client(std::string_view client) {
  if (client.empty() || client.size() > wire::kMaxText) {
    return Status::invalid_argument("client name empty or over " +
                                    std::to_string(wire::kMaxText) + " bytes");
  }
  return Status::ok();
}

Result<std::unique_ptr<Applier>> Applier::open(const std::string& root,
                                               const std::string& state_dir,
                                               const ApplierOptions& opt) {
  Result<std::unique_ptr<MirrorRoot>> r = MirrorRoot::open(root);
  if (!r.is_ok()) return r.status();
  MIRRORFS_RETURN_IF_ERROR(check_state_dir(root, state_dir));
  Result<std::string> id = random_id();
  if (!id.is_ok()) return id.status();
  UniqueFd dir(
      ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return sys_error(errno, "open state directory", state_dir);
  Result<std::unique_ptr<db::MirrorCatalog>> cat =
      db::MirrorCatalog::open(state_dir + "/mirror.db", *id);
  if (!cat.is_ok()) return cat.status();
  auto impl = std::make_unique<ApplierImpl>(std::move(*r), std::move(*cat),
                                            std::move(dir), opt);
  MIRRORFS_RETURN_IF_ERROR(impl->recover_undo_logs());
  return std::unique_ptr<Applier>(std::move(impl));
}

Result<uint64_t> ApplierImpl::applied_seq(std::string_view client) {
  MIRRORFS_RETURN_IF_ERROR(check_client(client));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = applied_.find(client); it != applied_.end()) return it->second;
  Result<uint64_t> seq = catalog_->applied_seq(client);
  if (!seq.is_ok()) return seq.status();
  applied_.emplace(std::string(client), *seq);
  return *seq;
}

std::string machine_boot_id() {
  char buf[64] = {};
  UniqueFd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  std::string id(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

size_t barrier_fd_bound(const ApplierOptions& opt) {
  size_t bound = opt.barrier_max_fds;
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    bound = std::min<size_t>(bound, static_cast<size_t>(rl.rlim_cur / 2));
  }
  return std::max<size_t>(bound, 1);
}

uint64_t ApplierImpl::progress(std::string_view client) {
  // Without a boot id a record could outlive a reboot: none is used.
  if (boot_id_.empty()) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = progress_.find(client); it != progress_.end()) return it->second;
  Result<uint64_t> seq = catalog_->progress(client, boot_id_);
  const uint64_t v = seq.is_ok() ? *seq : 0;  // unreadable: replay, the safe side
  progress_.emplace(std::string(client), v);
  return v;
}

void ApplierImpl::note_progress(std::string_view client, uint64_t seq) {
  if (boot_id_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  progress_[std::string(client)] = seq;
  // Best effort: a lost record only means this operation is replayed.
  (void)catalog_->set_progress(client, seq, boot_id_);
}

void ApplierImpl::forget_progress(std::string_view client) {
  if (boot_id_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  progress_[std::string(client)] = 0;
  (void)catalog_->set_progress(client, 0, boot_id_);
}

Status ApplierImpl::barrier(std::string_view client, uint64_t seq) {
  MIRRORFS_RETURN_IF_ERROR(check_client(client));
  drop_kept();  // the batch that replaced them is over
  // Data first, then the record that it is there.
  MIRRORFS_RETURN_IF_ERROR(pending_.sync(root_->fd(), root_->path()));
  std::lock_guard<std::mutex> lock(mu_);
  MIRRORFS_RETURN_IF_ERROR(catalog_->set_applied(client, seq));
  // Forward only, so the stored value may be above seq.
  Result<uint64_t> now = catalog_->applied_seq(client);
  if (!now.is_ok()) return now.status();
  applied_[std::string(client)] = *now;
  return Status::ok();
}

std::optional<db::MirrorFileRow> ApplierImpl::valid_row(
    const struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<db::MirrorFileRow>> row = catalog_->file(st.st_ino);
  if (!row.is_ok() || !row->has_value()) return std::nullopt;
  db::MirrorFileRow& r = **row;
  if (r.size != static_cast<uint64_t>(st.st_size) ||
      r.mtime_ns != mtime_ns(st) || r.ctime_ns != ctime_ns(st)) {
    return std::nullopt;
  }
  return std::move(r);
}

Result<core::ContentHash> ApplierImpl::hash_of(int fd, const struct stat& st,
                                               std::string_view path) {
  if (std::optional<db::MirrorFileRow> r = valid_row(st)) return r->hash;
  std::vector<core::ContentHash> leaves;
  Result<core::ContentHash> h = core::content_hash_fd(fd, &leaves);
  if (!h.is_ok()) {
    return Status(h.status().code(),
                  "hash " + std::string(path) + ": " + h.status().message(),
                  h.status().errno_value());
  }
  struct stat after;
  if (::fstat(fd, &after) == 0 && after.st_size == st.st_size &&
      mtime_ns(after) == mtime_ns(st) && ctime_ns(after) == ctime_ns(st)) {
    remember(st, *h, std::move(leaves));
  }
  return *h;
}

void ApplierImpl::remember(const struct stat& st, const core::ContentHash& h,
                           std::vector<core::ContentHash> leaves) {
  db::MirrorFileRow row{static_cast<uint64_t>(st.st_ino),
                        static_cast<uint64_t>(st.st_size),
                        mtime_ns(st),
                        ctime_ns(st),
                        h,
                        std::move(leaves)};
  std::lock_guard<std::mutex> lock(mu_);
  (void)catalog_->put_file(row);  // a cache: a lost row costs a re-hash
}

void ApplierImpl::note_gone(const struct stat& st) {
  if (!S_ISREG(st.st_mode) || st.st_nlink > 1) return;
  std::lock_guard<std::mutex> lock(mu_);
  (void)catalog_->forget_file(st.st_ino);  // a stale row is never trusted
}

std::optional<db::MirrorFileRow> ApplierImpl::in_place_row(
    const wire::FileBegin& fb, const struct stat& st) {
  if (!(fb.flags & wire::kFileInPlace) || fb.basis_path != fb.path ||
      !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    return std::nullopt;
  }
  const uint64_t old_size = static_cast<uint64_t>(st.st_size);
  if (old_size < opt_.in_place_min_size || fb.new_size < opt_.in_place_min_size) {
    return std::nullopt;
  }
  // The bytes the undo log must save: those overwritten and those cut off.
  const uint64_t cut = old_size > fb.new_size ? old_size - fb.new_size : 0;
  const double changed =
      static_cast<double>(fb.literal_bytes) + static_cast<double>(cut);
  if (changed > opt_.in_place_max_share * static_cast<double>(fb.new_size)) {
    return std::nullopt;
  }
  std::optional<db::MirrorFileRow> row = valid_row(st);
  const uint64_t leaves =
      (old_size + core::kContentLeafLen - 1) / core::kContentLeafLen;
  if (!row || row->hash != fb.basis_hash || row->leaves.size() != leaves) {
    return std::nullopt;
  }
  return row;
}

Result<BeginResult> ApplierImpl::begin_file(std::string_view client,
                                            const wire::FileBegin& fb) {
  MIRRORFS_RETURN_IF_ERROR(check_client(client));
  Result<Entry> target = root_->entry(fb.path);
  if (!target.is_ok()) return target.status();
  Result<std::optional<struct stat>> st = stat_entry(*target);
  if (!st.is_ok()) return st.status();
  if (st->has_value() && S_ISDIR((*st)->st_mode)) {
    return Status(Code::kAlreadyExists,
                  "content update of " + fb.path + ": it is a directory",
                  EISDIR);
  }
  auto writer_over = [&](UniqueFd basis) -> Result<BeginResult> {
    Result<std::unique_ptr<ContentWriter>> w =
        start_content_writer(this, std::move(*target), std::move(basis), fb.new_size);
    if (!w.is_ok()) return w.status();
    BeginResult out;
    out.writer = std::move(*w);
    return out;
  };
  // Not at basis_path: a file an earlier operation of the batch removed
  // may still be at hand (keep_replaced).
  auto kept_or = [&](BeginResult mismatch) -> Result<BeginResult> {
    UniqueFd kept = take_kept(fb.basis_hash);
    if (!kept.valid()) return mismatch;
    return writer_over(std::move(kept));
  };
  UniqueFd basis;
  if (fb.has_basis) {
    BeginResult mismatch;
    mismatch.mismatch = wire::BasisMismatch{};
    Result<Entry> be = root_->entry(fb.basis_path);
    if (!be.is_ok()) {
      if (be.status().code() == Code::kNotFound) return kept_or(std::move(mismatch));
      return be.status();
    }
    struct stat bst;
    Result<std::optional<UniqueFd>> fd = open_regular(*be, &bst);
    if (!fd.is_ok()) return fd.status();
    if (!fd->has_value()) return kept_or(std::move(mismatch));
    Result<core::ContentHash> h = hash_of((*fd)->get(), bst, fb.basis_path);
    if (!h.is_ok()) return h.status();
    if (*h != fb.basis_hash) {
      mismatch.mismatch->exists = true;
      mismatch.mismatch->actual_hash = *h;
      return kept_or(std::move(mismatch));
    }
    if (std::optional<db::MirrorFileRow> row = in_place_row(fb, bst)) {
      // Read-write on the same inode, or the ordinary writer after all.
      UniqueFd rw(::openat(target->dir.get(), target->name.c_str(),
                           O_RDWR | O_NOFOLLOW | O_CLOEXEC));
      struct stat now;
      if (rw.valid() && ::fstat(rw.get(), &now) == 0 &&
          now.st_ino == bst.st_ino && now.st_dev == bst.st_dev &&
          now.st_size == bst.st_size && ctime_ns(now) == ctime_ns(bst)) {
        Result<std::unique_ptr<ContentWriter>> w = start_in_place_writer(
            this, std::move(*target), std::move(rw), std::move(*row), fb);
        if (!w.is_ok()) return w.status();
        BeginResult out;
        out.writer = std::move(*w);
        return out;
      }
    }
    basis = std::move(**fd);
  }
  return writer_over(std::move(basis));
}

void ApplierImpl::keep_replaced(const Entry& e, const struct stat& st) {
  if (!S_ISREG(st.st_mode) || st.st_nlink > 1) return;
  const std::optional<db::MirrorFileRow> row = valid_row(st);
  if (!row) return;
  UniqueFd fd(::openat(e.dir.get(), e.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat now;
  if (!fd.valid() || ::fstat(fd.get(), &now) != 0 || now.st_ino != st.st_ino ||
      ctime_ns(now) != ctime_ns(st)) {
    return;
  }
  std::lock_guard<std::mutex> lock(kept_mu_);
  if (kept_.size() >= kMaxKept) kept_.pop_front();
  kept_.push_back(Kept{row->hash, std::move(fd)});
}

UniqueFd ApplierImpl::take_kept(const wire::Hash& hash) {
  std::lock_guard<std::mutex> lock(kept_mu_);
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (it->hash == hash) {
      // Unlinked with its last name: nothing can have changed it since.
      UniqueFd fd = std::move(it->fd);
      kept_.erase(it);
      return fd;
    }
  }
  return UniqueFd();
}

void ApplierImpl::drop_kept() {
  std::lock_guard<std::mutex> lock(kept_mu_);
  kept_.clear();
}

}  // namespace mirrorfs::replicator::mirror

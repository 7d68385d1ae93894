#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

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
  Result<std::unique_ptr<db::MirrorCatalog>> cat =
      db::MirrorCatalog::open(state_dir + "/mirror.db", *id);
  if (!cat.is_ok()) return cat.status();
  return std::unique_ptr<Applier>(
      new ApplierImpl(std::move(*r), std::move(*cat), opt));
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

Status ApplierImpl::barrier(std::string_view client, uint64_t seq) {
  MIRRORFS_RETURN_IF_ERROR(check_client(client));
  // Data first, then the record that it is there.
  if (::syncfs(root_->fd()) != 0) {
    return sys_error(errno, "syncfs", root_->path());
  }
  std::lock_guard<std::mutex> lock(mu_);
  MIRRORFS_RETURN_IF_ERROR(catalog_->set_applied(client, seq));
  // Forward only, so the stored value may be above seq.
  Result<uint64_t> now = catalog_->applied_seq(client);
  if (!now.is_ok()) return now.status();
  applied_[std::string(client)] = *now;
  return Status::ok();
}

Result<core::ContentHash> ApplierImpl::hash_of(int fd, const struct stat& st,
                                               std::string_view path) {
  if (std::optional<core::ContentHash> known = known_hash(st)) return *known;
  Result<core::ContentHash> h = core::content_hash_fd(fd);
  if (!h.is_ok()) {
    return Status(h.status().code(),
                  "hash " + std::string(path) + ": " + h.status().message(),
                  h.status().errno_value());
  }
  struct stat after;
  if (::fstat(fd, &after) == 0 && after.st_size == st.st_size &&
      mtime_ns(after) == mtime_ns(st) && ctime_ns(after) == ctime_ns(st)) {
    remember(st, *h);
  }
  return *h;
}

void ApplierImpl::remember(const struct stat& st, const core::ContentHash& h) {
  db::MirrorFileRow row{static_cast<uint64_t>(st.st_ino),
                        static_cast<uint64_t>(st.st_size), mtime_ns(st),
                        ctime_ns(st), h};
  std::lock_guard<std::mutex> lock(mu_);
  (void)catalog_->put_file(row);  // a cache: a lost row costs a re-hash
}

void ApplierImpl::note_gone(const struct stat& st) {
  if (!S_ISREG(st.st_mode) || st.st_nlink > 1) return;
  std::lock_guard<std::mutex> lock(mu_);
  (void)catalog_->forget_file(st.st_ino);  // a stale row is never trusted
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
  UniqueFd basis;
  if (fb.has_basis) {
    BeginResult mismatch;
    mismatch.mismatch = wire::BasisMismatch{};
    Result<Entry> be = root_->entry(fb.basis_path);
    if (!be.is_ok()) {
      if (be.status().code() == Code::kNotFound) return mismatch;
      return be.status();
    }
    struct stat bst;
    Result<std::optional<UniqueFd>> fd = open_regular(*be, &bst);
    if (!fd.is_ok()) return fd.status();
    if (!fd->has_value()) return mismatch;
    Result<core::ContentHash> h = hash_of((*fd)->get(), bst, fb.basis_path);
    if (!h.is_ok()) return h.status();
    if (*h != fb.basis_hash) {
      mismatch.mismatch->exists = true;
      mismatch.mismatch->actual_hash = *h;
      return mismatch;
    }
    basis = std::move(**fd);
  }
  Result<std::unique_ptr<ContentWriter>> w = start_content_writer(
      this, std::move(*target), std::move(basis), fb.new_size);
  if (!w.is_ok()) return w.status();
  BeginResult out;
  out.writer = std::move(*w);
  return out;
}

}  // namespace mirrorfs::replicator::mirror

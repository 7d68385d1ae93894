// Recovery of interrupted in-place updates: each undo log in the state
// directory is resolved before the Applier serves a request
// (docs/undo-log.md, "Recovery").
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/fd_io.h"
#include "core/log.h"
#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/node_ops.h"
#include "replicator/mirror/undo_log.h"

namespace mirrorfs::replicator::mirror {
namespace {

void note(const std::string& what) { core::log_line("mirror", "warning", what); }

}  // namespace

Status ApplierImpl::recover_undo_logs() {
  UniqueFd d(::openat(state_dir_.get(), ".",
                      O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.valid()) return sys_error(errno, "open", "state directory");
  DIR* dir = ::fdopendir(d.get());
  if (!dir) return sys_error(errno, "list", "state directory");
  d.release();  // owned by dir now
  std::vector<std::string> logs;
  while (const dirent* e = ::readdir(dir)) {
    if (is_undo_log_name(e->d_name)) logs.emplace_back(e->d_name);
  }
  ::closedir(dir);
  std::sort(logs.begin(), logs.end());
  for (const std::string& name : logs) {
    MIRRORFS_RETURN_IF_ERROR(resolve_undo_log(name));
  }
  return Status::ok();
}

Status ApplierImpl::resolve_undo_log(const std::string& name) {
  auto remove_log = [&]() -> Status {
    if (::unlinkat(state_dir_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
      return sys_error(errno, "remove undo log", name);
    }
    if (::fsync(state_dir_.get()) != 0) {
      return sys_error(errno, "fsync", "state directory");
    }
    return Status::ok();
  };
  UniqueFd log(::openat(state_dir_.get(), name.c_str(),
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!log.valid()) return sys_error(errno, "open undo log", name);
  UndoLogHeader h;
  Status st = read_undo_log(log.get(), &h, nullptr);
  if (st.code() == Code::kCorrupt) {
    // Never committed, so its target was never touched.
    note("undo log " + name + " was never completed (" + st.message() +
         "): removed");
    return remove_log();
  }
  MIRRORFS_RETURN_IF_ERROR(st);

  // The target, through the same confinement as a request.
  Result<Entry> e = root_->entry(h.path);
  UniqueFd target;
  struct stat tst;
  if (e.is_ok()) {
    target.reset(::openat(e->dir.get(), e->name.c_str(),
                          O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!target.valid() || ::fstat(target.get(), &tst) != 0 ||
      !S_ISREG(tst.st_mode) || static_cast<uint64_t>(tst.st_ino) != h.ino) {
    note("undo log " + name + ": " + h.path +
         " is no longer the file it logged: removed, nothing rolled back");
    return remove_log();
  }
  std::optional<db::MirrorFileRow> row = valid_row(tst);
  if (row && row->hash == h.new_hash && row->size == h.new_size) {
    return remove_log();  // the update committed
  }
  note("rolling back the interrupted in-place update of " + h.path);
  st = read_undo_log(
      log.get(), &h, [&](uint64_t at, std::span<const uint8_t> old) {
        return core::pwrite_full(target.get(), old.data(), old.size(), at);
      });
  if (!st.is_ok()) {
    return Status(st.code(),
                  "roll back " + h.path + " from undo log " + name + ": " +
                      st.message(),
                  st.errno_value());
  }
  if (::ftruncate(target.get(), static_cast<off_t>(h.old_size)) != 0) {
    return sys_error(errno, "truncate (rolling back)", h.path);
  }
  if (::fsync(target.get()) != 0) {
    return sys_error(errno, "fsync (rolling back)", h.path);
  }
  if (::fstat(target.get(), &tst) == 0) remember(tst, h.old_hash);
  return remove_log();
}

}  // namespace mirrorfs::replicator::mirror

// The Applier behind applier.h. Private to replicator/mirror/: its
// methods are defined in applier.cc (open, seqs, barrier, basis check),
// entry_ops.cc (apply), content_writer.cc (the writer) and
// file_signature.cc (signature).
#pragma once

#include <sys/stat.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/content_hash.h"
#include "db/mirror_catalog.h"
#include "replicator/mirror/applier.h"
#include "replicator/mirror/mirror_root.h"
#include "replicator/mirror/pending_sync.h"

namespace mirrorfs::replicator::mirror {

// /proc/sys/kernel/random/boot_id, or "" if it cannot be read.
std::string machine_boot_id();

// opt.barrier_max_fds, capped at half the soft RLIMIT_NOFILE (at least 1).
size_t barrier_fd_bound(const ApplierOptions& opt);

class ApplierImpl : public Applier {
 public:
  ApplierImpl(std::unique_ptr<MirrorRoot> root,
              std::unique_ptr<db::MirrorCatalog> catalog, UniqueFd state_dir,
              const ApplierOptions& opt)
      : root_(std::move(root)),
        state_dir_(std::move(state_dir)),
        catalog_(std::move(catalog)),
        opt_(opt),
        pending_(barrier_fd_bound(opt)),
        boot_id_(!opt.remember_progress ? std::string()
                 : opt.boot_id.empty()   ? machine_boot_id()
                                         : opt.boot_id) {}

  const std::string& mirror_id() const override {
    return catalog_->mirror_id();  // immutable after open
  }
  Result<uint64_t> applied_seq(std::string_view client) override;
  Status apply(std::string_view client, const wire::EntryOp& op) override;
  Result<BeginResult> begin_file(std::string_view client,
                                 const wire::FileBegin& fb) override;
  Result<wire::SigEnd> signature(
      std::string_view path,
      const std::function<Status(std::span<const uint8_t>)>& sink) override;
  Status barrier(std::string_view client, uint64_t seq) override;
  BarrierCounts barrier_counts() const override { return pending_.counts(); }
  void forget_progress(std::string_view client) override;
  Status list(std::string_view path, bool rehash,
              const std::function<Status(const wire::ListEntry&)>& sink) override;
  Result<core::UniqueFd> open_read(std::string_view path, struct stat* st) override;

  // For the writer and the entry operations.
  const MirrorRoot& root() const { return *root_; }
  const ApplierOptions& options() const { return opt_; }
  // What the next barrier makes durable: every operation that changes a
  // directory's entries or an inode's attributes notes it here.
  PendingSync& pending() { return pending_; }
  // O_PATH fd of the state directory (undo logs, staging files).
  int state_dir() const { return state_dir_.get(); }
  // The catalog row of the file with fstat st if it matches st's (ino,
  // size, mtime, ctime); nullopt otherwise or on a catalog error.
  std::optional<db::MirrorFileRow> valid_row(const struct stat& st);
  // The content hash of the regular file open as fd with fstat *st: the
  // catalog's when its row matches (ino, size, mtime, ctime), else read
  // and hashed, and the row stored (unless the file changed meanwhile).
  Result<core::ContentHash> hash_of(int fd, const struct stat& st,
                                    std::string_view path);
  // The catalog's content hash of the file with fstat st, if its row
  // matches (ino, size, mtime, ctime); nullopt otherwise (list_tree.cc).
  std::optional<core::ContentHash> known_hash(const struct stat& st);
  // Records that the file with fstat st has content hash h with leaf
  // digests `leaves` (empty: unknown). Best effort: a row that cannot be
  // written only costs a re-hash later.
  void remember(const struct stat& st, const core::ContentHash& h,
                std::vector<core::ContentHash> leaves = {});
  // Resolves every undo log in the state directory (undo_recovery.cc):
  // rolls back what did not commit. Called by open() before any request.
  Status recover_undo_logs();
  // Resolves the undo log `name` in the state directory: removed if its
  // update committed (the target's valid catalog row holds its new hash)
  // or never began (no valid trailer), else the target is rolled back to
  // the old version first. Also the in-place writer's way out of an
  // error after its log was committed.
  Status resolve_undo_log(const std::string& name);
  // Called after a name of the inode whose lstat before was `st` went
  // away: drops its catalog row if that was its last name.
  void note_gone(const struct stat& st);
  Status apply_op(const wire::EntryOp& op);
  // How far `client`'s entry operations were applied since its last
  // barrier (mirror.db, this boot only), and recording it.
  uint64_t progress(std::string_view client);
  void note_progress(std::string_view client, uint64_t seq);
  // A regular file about to lose its last name, whose content the catalog
  // knows, stays at hand (an open descriptor, up to kMaxKept of them)
  // until the next barrier: it is the likely basis of what takes its name
  // (an editor's save-by-rename, unlink + create). take_kept hands one
  // out by content hash (an invalid fd if none).
  void keep_replaced(const Entry& e, const struct stat& st);
  UniqueFd take_kept(const wire::Hash& hash);
  void drop_kept();

 private:
  // path's entry, or ROOT itself for "." (setattr and xattrs only).
  Result<Entry> entry_or_root(std::string_view path) const {
    return path == "." ? root_->root_entry() : root_->entry(path);
  }
  Status dispatch_op(const wire::EntryOp& op);
  // Notes for the next barrier what op changes (pending_sync.h).
  void note_changed(const wire::EntryOp& op);
  Status do_mkdir(const wire::EntryOp& op);
  Status do_mknod(const wire::EntryOp& op);
  Status do_symlink(const wire::EntryOp& op);
  Status do_link(const wire::EntryOp& op);
  Status do_unlink(const wire::EntryOp& op, bool dir);
  Status do_rename(const wire::EntryOp& op);
  // Makes e name what make() creates, replacing `existing` atomically;
  // kAlreadyExists if existing is a directory.
  Status replace_node(const Entry& e, const struct stat& existing,
                      const std::function<int(int, const char*)>& make,
                      std::string_view what);

  // Whether fb (a FileBegin with a basis whose hash checked) may be
  // applied in place to the target open as fd with fstat st: returns the
  // target's catalog row (with leaves) if so.
  std::optional<db::MirrorFileRow> in_place_row(const wire::FileBegin& fb,
                                                const struct stat& st);

  const std::unique_ptr<MirrorRoot> root_;
  const UniqueFd state_dir_;
  struct Kept {
    core::ContentHash hash;
    UniqueFd fd;
  };
  static constexpr size_t kMaxKept = 64;
  std::mutex kept_mu_;
  std::deque<Kept> kept_;  // oldest first
  std::mutex mu_;  // guards catalog_ and applied_
  const std::unique_ptr<db::MirrorCatalog> catalog_;
  std::map<std::string, uint64_t, std::less<>> applied_;  // cache of seqs
  std::map<std::string, uint64_t, std::less<>> progress_;  // cache of progress
  const ApplierOptions opt_;
  PendingSync pending_;
  const std::string boot_id_;  // this boot of the machine (progress records)
};

// Checks a client name (its key fingerprint): non-empty, <= kMaxText.
Status check_client(std::string_view client);

// mtime/ctime of st in ns since the epoch.
int64_t mtime_ns(const struct stat& st);
int64_t ctime_ns(const struct stat& st);

// Starts the writer of a content update (content_writer.cc). REQUIRES:
// owner outlives the writer; basis is open (valid) iff the update has a
// basis.
Result<std::unique_ptr<ContentWriter>> start_content_writer(ApplierImpl* owner,
                                                            Entry target,
                                                            UniqueFd basis,
                                                            uint64_t new_size);

// Starts the in-place writer of a dirty-range delta (in_place_writer.cc).
// REQUIRES: owner outlives the writer; target is open read-write as
// `file`, a regular file with one link whose catalog row `row` (with
// leaves) matches its stat.
Result<std::unique_ptr<ContentWriter>> start_in_place_writer(
    ApplierImpl* owner, Entry target, UniqueFd file, db::MirrorFileRow row,
    const wire::FileBegin& fb);

}  // namespace mirrorfs::replicator::mirror

// The Applier behind applier.h. Private to replicator/mirror/: its
// methods are defined in applier.cc (open, seqs, barrier, basis check),
// entry_ops.cc (apply), content_writer.cc (the writer) and
// file_signature.cc (signature).
#pragma once

#include <sys/stat.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/content_hash.h"
#include "db/mirror_catalog.h"
#include "replicator/mirror/applier.h"
#include "replicator/mirror/mirror_root.h"

namespace mirrorfs::replicator::mirror {

class ApplierImpl : public Applier {
 public:
  ApplierImpl(std::unique_ptr<MirrorRoot> root,
              std::unique_ptr<db::MirrorCatalog> catalog,
              const ApplierOptions& opt)
      : root_(std::move(root)), catalog_(std::move(catalog)), opt_(opt) {}

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
  Status list(std::string_view path,
              const std::function<Status(const wire::ListEntry&)>& sink) override;

  // For the writer and the entry operations.
  const MirrorRoot& root() const { return *root_; }
  const ApplierOptions& options() const { return opt_; }
  // The content hash of the regular file open as fd with fstat *st: the
  // catalog's when its row matches (ino, size, mtime, ctime), else read
  // and hashed, and the row stored (unless the file changed meanwhile).
  Result<core::ContentHash> hash_of(int fd, const struct stat& st,
                                    std::string_view path);
  // The catalog's content hash of the file with fstat st, if its row
  // matches (ino, size, mtime, ctime); nullopt otherwise (list_tree.cc).
  std::optional<core::ContentHash> known_hash(const struct stat& st);
  // Records that the file with fstat st has content hash h. Best effort:
  // a row that cannot be written only costs a re-hash later.
  void remember(const struct stat& st, const core::ContentHash& h);
  // Called after a name of the inode whose lstat before was `st` went
  // away: drops its catalog row if that was its last name.
  void note_gone(const struct stat& st);

 private:
  // path's entry, or ROOT itself for "." (setattr and xattrs only).
  Result<Entry> entry_or_root(std::string_view path) const {
    return path == "." ? root_->root_entry() : root_->entry(path);
  }
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

  const std::unique_ptr<MirrorRoot> root_;
  std::mutex mu_;  // guards catalog_ and applied_
  const std::unique_ptr<db::MirrorCatalog> catalog_;
  std::map<std::string, uint64_t, std::less<>> applied_;  // cache of seqs
  const ApplierOptions opt_;
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

}  // namespace mirrorfs::replicator::mirror

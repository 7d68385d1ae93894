// The in-place content update: a dirty-range delta (every COPY copies
// basis bytes to the same offset) applied to the target itself. write()
// checks the delta and stages its literals; finish() checks the result's
// content hash by rehashing only the leaves the literals or a size change
// touch, then logs the old bytes (undo_log.h), writes the literals,
// truncates, applies attrs and links, and records the new version.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <vector>

#include "core/blake2b.h"
#include "core/content_hash.h"
#include "core/fd_io.h"
#include "core/patch.h"
#include "replicator/mirror/applier_impl.h"
#include "replicator/mirror/delta_writer.h"
#include "replicator/mirror/install.h"
#include "replicator/mirror/literal_stage.h"
#include "replicator/mirror/node_ops.h"
#include "replicator/mirror/undo_log.h"

namespace mirrorfs::replicator::mirror {
namespace {

using Step = ApplierOptions::InPlaceStep;
constexpr uint64_t kLeaf = core::kContentLeafLen;
constexpr size_t kWriteChunk = 64u << 10;

struct Range {           // new bytes [at, at + len) are staged from `staged`
  uint64_t at = 0, len = 0, staged = 0;
};

class InPlaceWriter : public DeltaWriter {
 public:
  bool in_place() const override { return true; }
  InPlaceWriter(ApplierImpl* owner, Entry target, UniqueFd file,
                db::MirrorFileRow row, const wire::FileBegin& fb)
      : DeltaWriter(target.path),
        owner_(owner),
        target_(std::move(target)),
        file_(std::move(file)),
        row_(std::move(row)),
        new_size_(fb.new_size),
        literal_limit_(fb.literal_bytes),
        stage_(owner->state_dir(), owner->options().in_place_memory) {}

  Status write(std::span<const uint8_t> bytes) override;
  Status finish(const wire::FileEnd& end) override;

 private:
  bool crash(Step s) const {
    return owner_->options().crash_at && owner_->options().crash_at(s);
  }
  Status take_literal(const uint8_t* data, uint64_t len);
  Result<std::vector<core::ContentHash>> new_leaves();
  Status write_log(const core::ContentHash& new_hash);
  Status apply(const wire::FileEnd& end, const core::ContentHash& hash,
               std::vector<core::ContentHash> leaves);
  Status write_ranges();

  ApplierImpl* const owner_;
  Entry target_;
  UniqueFd file_;                // the target, read-write
  const db::MirrorFileRow row_;  // its old version (with leaves)
  const uint64_t new_size_;
  const uint64_t literal_limit_;  // FileBegin.literal_bytes
  LiteralStage stage_;
  std::vector<Range> ranges_;  // in order, not touching each other
  uint64_t produced_ = 0;
  std::unique_ptr<UndoLogWriter> log_;
  bool simulated_crash_ = false;  // ApplierOptions::crash_at said so
};

Status InPlaceWriter::write(std::span<const uint8_t> bytes) {
  MIRRORFS_RETURN_IF_ERROR(check_write());
  return feed(
      bytes, []() -> Result<size_t> { return size_t{kLeaf}; },
      [&](const uint8_t* data, uint64_t len) {
        return take_literal(data, len);
      },
      [&](uint64_t pos, uint64_t len) {
        if (pos != produced_) {
          return corrupt("an in-place delta COPYs basis offset " +
                         std::to_string(pos) + " to offset " +
                         std::to_string(produced_));
        }
        Status in = core::check_copy_in_basis(pos, len, row_.size);
        if (!in.is_ok()) return corrupt(in.message());
        if (len > new_size_ - produced_) {
          return corrupt("the delta makes more than the announced " +
                         std::to_string(new_size_) + " bytes");
        }
        produced_ += len;
        return Status::ok();
      });
}

Status InPlaceWriter::take_literal(const uint8_t* data, uint64_t len) {
  if (len > new_size_ - produced_) {
    return corrupt("the delta makes more than the announced " +
                   std::to_string(new_size_) + " bytes");
  }
  if (len > literal_limit_ - stage_.size()) {
    return corrupt("the delta holds more than the announced " +
                   std::to_string(literal_limit_) + " literal bytes");
  }
  if (!ranges_.empty() &&
      ranges_.back().at + ranges_.back().len == produced_) {
    ranges_.back().len += len;
  } else {
    ranges_.push_back({produced_, len, stage_.size()});
  }
  Status st = stage_.append(data, len);
  if (!st.is_ok()) return fail(st);
  produced_ += len;
  return Status::ok();
}

// The leaf digests of the new content: the catalog's for leaves nothing
// touched, the others hashed from the target's old bytes with the staged
// ones laid over them.
Result<std::vector<core::ContentHash>> InPlaceWriter::new_leaves() {
  const uint64_t n = (new_size_ + kLeaf - 1) / kLeaf;
  std::vector<bool> touched(n, false);
  for (const Range& r : ranges_) {
    for (uint64_t i = r.at / kLeaf; i <= (r.at + r.len - 1) / kLeaf; ++i) {
      touched[i] = true;
    }
  }
  if (new_size_ != row_.size && new_size_ > 0) touched[n - 1] = true;
  std::vector<core::ContentHash> out(n);
  std::vector<uint8_t> buf;
  auto r = ranges_.begin();
  for (uint64_t i = 0; i < n; ++i) {
    if (!touched[i] && i < row_.leaves.size()) {
      out[i] = row_.leaves[i];
      continue;
    }
    const uint64_t lo = i * kLeaf, hi = std::min(lo + kLeaf, new_size_);
    buf.resize(hi - lo);
    const uint64_t old_hi = std::min(hi, row_.size);
    if (old_hi > lo) {
      Result<size_t> got =
          core::pread_full(file_.get(), buf.data(), old_hi - lo, lo);
      if (!got.is_ok()) return got.status();
      if (*got != old_hi - lo) {
        return Status(Code::kIoError,
                      target_.path + " shrank while it was patched; retry",
                      EAGAIN);
      }
    }
    // Ranges are in order: skip those ending before this leaf.
    while (r != ranges_.end() && r->at + r->len <= lo) ++r;
    for (auto q = r; q != ranges_.end() && q->at < hi; ++q) {
      const uint64_t from = std::max(q->at, lo);
      const uint64_t to = std::min(q->at + q->len, hi);
      MIRRORFS_RETURN_IF_ERROR(stage_.read(q->staged + (from - q->at),
                                           buf.data() + (from - lo), to - from));
    }
    core::Blake2b leaf(core::kContentHashLen);
    leaf.update(buf.data(), buf.size());
    leaf.final(out[i].data());
  }
  return out;
}

Status InPlaceWriter::finish(const wire::FileEnd& end) {
  MIRRORFS_RETURN_IF_ERROR(start_finish());
  if (produced_ != new_size_) {
    return corrupt("the delta makes " + std::to_string(produced_) +
                   " bytes, not the announced " + std::to_string(new_size_));
  }
  Result<std::vector<core::ContentHash>> leaves = new_leaves();
  if (!leaves.is_ok()) return fail(leaves.status());
  const core::ContentHash hash =
      core::content_hash_from_leaves(*leaves, new_size_);
  if (hash != end.new_hash) {
    return corrupt("the result's content hash " + core::content_hash_hex(hash) +
                   " is not the one sent");
  }
  Status st = apply(end, hash, std::move(*leaves));
  if (st.is_ok()) return st;
  if (!log_) return fail(st);
  // Failed after the log was committed: put the old version back now.
  const std::string name = log_->name();
  log_->abandon();
  log_.reset();
  Status back = owner_->resolve_undo_log(name);
  if (!back.is_ok()) {
    return fail(Status(st.code(),
                       st.message() + "; and rolling back: " + back.message() +
                           " (retried at the next start)",
                       st.errno_value()));
  }
  return fail(st);
}

// The undo log: the old bytes of each staged range inside the old size,
// and of what a shrink cuts off.
Status InPlaceWriter::write_log(const core::ContentHash& new_hash) {
  std::vector<std::pair<uint64_t, uint64_t>> saved;
  for (const Range& r : ranges_) {
    if (r.at >= row_.size) break;
    saved.push_back({r.at, std::min(r.len, row_.size - r.at)});
  }
  if (new_size_ < row_.size) saved.push_back({new_size_, row_.size - new_size_});
  UndoLogHeader h;
  h.path = target_.path;
  h.ino = row_.ino;
  h.old_size = row_.size;
  h.new_size = new_size_;
  h.old_hash = row_.hash;
  h.new_hash = new_hash;
  h.range_count = saved.size();
  Result<std::unique_ptr<UndoLogWriter>> log =
      UndoLogWriter::create(owner_->state_dir(), h);
  if (!log.is_ok()) return log.status();
  for (const auto& [at, len] : saved) {
    MIRRORFS_RETURN_IF_ERROR((*log)->add_range(file_.get(), at, len));
  }
  MIRRORFS_RETURN_IF_ERROR((*log)->commit());
  log_ = std::move(*log);
  return Status::ok();
}

Status InPlaceWriter::write_ranges() {
  std::vector<uint8_t> buf(kWriteChunk);
  uint64_t written = 0;
  bool halfway = false;
  for (const Range& r : ranges_) {
    for (uint64_t done = 0; done < r.len;) {
      if (!halfway && 2 * written >= stage_.size()) {
        halfway = true;
        if (written > 0 && crash(Step::kHalfWritten)) {
          simulated_crash_ = true;
          return Status::internal("simulated crash");
        }
      }
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(r.len - done, kWriteChunk));
      MIRRORFS_RETURN_IF_ERROR(stage_.read(r.staged + done, buf.data(), n));
      Status w = core::pwrite_full(file_.get(), buf.data(), n, r.at + done);
      if (!w.is_ok()) {
        return Status(w.code(), target_.path + ": " + w.message(),
                      w.errno_value());
      }
      done += n;
      written += n;
    }
  }
  return Status::ok();
}

Status InPlaceWriter::apply(const wire::FileEnd& end,
                            const core::ContentHash& hash,
                            std::vector<core::ContentHash> leaves) {
  const std::string& path = target_.path;
  Result<std::vector<Entry>> links =
      resolve_links(owner_->root(), end.links, path);
  if (!links.is_ok()) return links.status();
  struct stat old_st;
  if (::fstat(file_.get(), &old_st) != 0) return sys_error(errno, "stat", path);
  const wire::Attrs attrs = keep_unsent(end.attrs, old_st);

  MIRRORFS_RETURN_IF_ERROR(write_log(hash));
  auto crashed = [&] {
    log_->abandon();
    log_.reset();
    return Status::internal("simulated crash");
  };
  if (crash(Step::kLogDurable)) return crashed();
  Status st = write_ranges();
  if (simulated_crash_) return crashed();
  MIRRORFS_RETURN_IF_ERROR(st);
  if (new_size_ != row_.size &&
      ::ftruncate(file_.get(), static_cast<off_t>(new_size_)) != 0) {
    return sys_error(errno, "truncate", path);
  }
  MIRRORFS_RETURN_IF_ERROR(
      set_attrs_fd(file_.get(), attrs, owner_->options().set_owner, path));
  if (::fsync(file_.get()) != 0) return sys_error(errno, "fsync", path);
  if (crash(Step::kDataDurable)) return crashed();

  Status linked = link_names(owner_, file_.get(), path, *links);
  note_links(owner_, file_.get(), *links);
  struct stat now;  // after the links, which move ctime
  if (::fstat(file_.get(), &now) == 0) {
    owner_->remember(now, hash, std::move(leaves));
  }
  if (crash(Step::kCommitted)) return crashed();
  // The update is complete: from here a failure must not roll it back.
  Status removed = log_->remove();
  log_.reset();
  return linked.is_ok() ? removed : linked;
}

}  // namespace

Result<std::unique_ptr<ContentWriter>> start_in_place_writer(
    ApplierImpl* owner, Entry target, UniqueFd file, db::MirrorFileRow row,
    const wire::FileBegin& fb) {
  assert(row.leaves.size() == (row.size + kLeaf - 1) / kLeaf);
  return std::unique_ptr<ContentWriter>(new InPlaceWriter(
      owner, std::move(target), std::move(file), std::move(row), fb));
}

}  // namespace mirrorfs::replicator::mirror

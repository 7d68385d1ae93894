#include "replicator/batch_sender.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstring>

#include <algorithm>
#include <deque>
#include <optional>

#include "core/signature.h"
#include "replicator/content_sender.h"
#include "replicator/dirty_range.h"
#include "replicator/wire/codec.h"

namespace mirrorfs::replicator {
namespace {

// A mirror may take long to apply a big file; the connection's own end
// (keepalive, a reset) ends a wait sooner.
constexpr std::chrono::milliseconds kAnswerTimeout = std::chrono::minutes(30);

// A window of content updates in flight: this many files, or this many
// bytes of cached signatures loaded.
constexpr size_t kWindowFiles = 256;
constexpr uint64_t kWindowBytes = 64u << 20;

std::string describe(const wire::Error& e) { return e.message; }

struct ContentSlot {
  const ContentJob* job = nullptr;
  uint64_t sig_request = 0;  // SigRequest id, 0 = none
  // The version the mirror holds, as the signature cache knows it.
  std::optional<KnownVersion> known;
  bool try_dirty_range = false;  // the journal says what changed since
  std::unique_ptr<core::Signature> basis_sig;
  uint64_t id = 0;  // content request id, 0 = not sent
  ContentResult result;
};

class BatchSender {
 public:
  BatchSender(const BatchContext& ctx, const Plan& plan) : ctx_(ctx), plan_(plan) {}

  Result<BatchResult> run() {
    for (const wire::EntryOp& op : plan_.ops) {
      MIRRORFS_ASSIGN_OR_RETURN(id, ctx_.session->request(op));
      ops_.emplace_back(id, &op);
    }
    // Content goes in windows: the signatures of one window are loaded
    // while the previous one is still being answered, so memory is
    // bounded by two windows however many files the batch changed. The
    // mirror answers in order: every answer can be read before the
    // Barrier, which comes once, after any retry, so that what it makes
    // durable (and the seq it records) covers the whole batch.
    std::vector<ContentSlot> slots(plan_.contents.size());
    std::vector<ContentSlot*> retry;
    size_t answered = 0;
    for (size_t start = 0; start < slots.size();) {
      size_t end = start;
      uint64_t held = 0;
      for (; end < slots.size() && end - start < kWindowFiles && held < kWindowBytes; ++end) {
        slots[end].job = &plan_.contents[end];
        MIRRORFS_RETURN_IF_ERROR(choose_basis(slots[end]));
        if (slots[end].known) held += slots[end].known->signature.size();
      }
      for (size_t i = start; i < end; ++i) MIRRORFS_RETURN_IF_ERROR(send(slots[i]));
      MIRRORFS_RETURN_IF_ERROR(collect(slots, answered, start, &retry));
      answered = start;
      start = end;
    }
    MIRRORFS_RETURN_IF_ERROR(send_attrs());
    MIRRORFS_RETURN_IF_ERROR(collect(slots, answered, slots.size(), &retry));
    if (!retry.empty()) {
      // The mirror holds something else than we believed: delta against
      // what it has (its own signature), once.
      for (ContentSlot* slot : retry) {
        slot->known.reset();
        slot->try_dirty_range = false;
        MIRRORFS_ASSIGN_OR_RETURN(
            id, ctx_.session->request(wire::SigRequest{slot->job->path}));
        slot->sig_request = id;
      }
      std::vector<ContentSlot> again;
      for (ContentSlot* slot : retry) {
        MIRRORFS_RETURN_IF_ERROR(send(*slot));
        again.push_back(std::move(*slot));
      }
      // Putting the retried files in place moved their directories'
      // mtimes after those were fixed: fix them again, in the same order.
      for (const wire::EntryOp& op : attr_ops_) {
        MIRRORFS_ASSIGN_OR_RETURN(id, ctx_.session->request(op));
        ops_.emplace_back(id, &op);
      }
      std::vector<ContentSlot*> twice;
      MIRRORFS_RETURN_IF_ERROR(collect(again, 0, again.size(), &twice));
      for (ContentSlot* slot : twice) {
        stop_before(slot->job->first_seq,
                    slot->job->path + ": the mirror's copy keeps changing");
      }
    }
    MIRRORFS_RETURN_IF_ERROR(barrier());
    out_.acked = std::min(acked_, bound_);
    return std::move(out_);
  }

 private:
  void stop_before(uint64_t seq, const std::string& why) {
    bound_ = std::min(bound_, seq - 1);
    if (out_.first_error.empty()) out_.first_error = why;
  }

  // The cached signature (and shape) of the version the mirror holds, if
  // we know it; else ask the mirror (pipelined: the request goes now, the
  // answer is read when the file's turn comes); new files need no basis.
  Status choose_basis(ContentSlot& slot) {
    const ContentJob& job = *slot.job;
    // A file created in the batch is new to the mirror, unless it took
    // the name of one the mirror holds: then that version is the basis
    // (the mirror keeps what a rename replaced at hand for this).
    if (job.created && job.replaced == 0) return Status::ok();
    const db::FileId basis_file = job.created ? job.replaced : job.file;
    MIRRORFS_ASSIGN_OR_RETURN(version, ctx_.state->file_version(ctx_.mirror, basis_file));
    if (version && version->size() == wire::Hash().size()) {
      Result<std::vector<uint8_t>> sig = ctx_.signatures->get(*version);
      if (sig.is_ok()) {
        KnownVersion known;
        std::copy(version->begin(), version->end(), known.hash.begin());
        known.signature = std::move(*sig);
        Result<std::optional<db::SignatureCache::Shape>> shape = ctx_.signatures->shape(*version);
        if (shape.is_ok() && *shape && (*shape)->leaves.size() % core::kContentHashLen == 0) {
          known.size = (*shape)->size;
          const std::vector<uint8_t>& l = (*shape)->leaves;
          known.leaves.resize(l.size() / core::kContentHashLen);
          for (size_t i = 0; i < known.leaves.size(); ++i) {
            std::memcpy(known.leaves[i].data(), l.data() + i * core::kContentHashLen,
                        core::kContentHashLen);
          }
          slot.try_dirty_range = !job.whole && !job.created;
        }
        slot.known = std::move(known);
        if (slot.try_dirty_range || load_basis(slot)) return Status::ok();
        slot.known.reset();
        slot.try_dirty_range = false;
      }
    }
    if (job.created) return Status::ok();  // literal
    MIRRORFS_ASSIGN_OR_RETURN(id, ctx_.session->request(wire::SigRequest{job.path}));
    slot.sig_request = id;
    return Status::ok();
  }

  // Loads the cached signature of slot.known for a rolling delta; false
  // if it does not parse (the cache is then not used).
  static bool load_basis(ContentSlot& slot) {
    if (slot.basis_sig) return true;
    Result<std::unique_ptr<core::Signature>> loaded = core::load_signature(slot.known->signature);
    if (!loaded.is_ok()) return false;
    slot.basis_sig = std::move(*loaded);
    return true;
  }

  Status send(ContentSlot& slot) {
    const ContentJob& job = *slot.job;
    SendContentArgs args;
    args.seq = job.last_seq;
    args.mirror_path = job.path;
    args.links = job.links;
    args.backing_dir_fd = ctx_.backing_dir_fd;
    args.backing_path = job.path;
    args.backing_ino = job.catalog.backing_ino;
    if (slot.try_dirty_range) {
      DirtyRange dirty;
      dirty.extents = job.extents;
      dirty.min_truncate = job.min_truncate;
      dirty.expected = job.catalog;
      args.request_id = ctx_.session->next_id();
      Channel& ch = ctx_.session->channel();
      const MessageSink sink = [&ch](const wire::Message& m) { return ch.send(m); };
      MIRRORFS_ASSIGN_OR_RETURN(r, send_dirty_range(sink, args, *slot.known, dirty));
      if (r.outcome != ContentResult::Outcome::kNotApplicable) return sent(slot, args, std::move(r));
      if (!load_basis(slot)) {
        slot.known.reset();
        MIRRORFS_ASSIGN_OR_RETURN(id, ctx_.session->request(wire::SigRequest{job.path}));
        slot.sig_request = id;
      }
    }
    ContentBasis basis;
    if (slot.known) {
      basis.has_basis = true;
      basis.path = job.path;
      basis.hash = slot.known->hash;
      basis.sig = slot.basis_sig.get();
    } else if (slot.sig_request != 0) {
      MIRRORFS_ASSIGN_OR_RETURN(answers, ctx_.session->wait(slot.sig_request, kAnswerTimeout));
      slot.sig_request = 0;
      std::vector<uint8_t> sig;
      const wire::Message& last = answers.back();
      if (const auto* err = std::get_if<wire::Error>(&last.body)) {
        stop_before(job.first_seq, job.path + ": " + describe(*err));
        return Status::ok();
      }
      const auto& end = std::get<wire::SigEnd>(last.body);
      if (end.exists) {
        for (const wire::Message& m : answers) {
          if (const auto* d = std::get_if<wire::SigData>(&m.body)) {
            sig.insert(sig.end(), d->bytes.begin(), d->bytes.end());
          }
        }
        Result<std::unique_ptr<core::Signature>> loaded = core::load_signature(sig);
        if (!loaded.is_ok()) {
          return Status::corrupt("mirror sent a bad signature for " + job.path +
                                 ": " + loaded.status().message());
        }
        slot.basis_sig = std::move(*loaded);
        basis.has_basis = true;
        basis.path = job.path;
        basis.hash = end.hash;
        basis.sig = slot.basis_sig.get();
      }
    }
    args.request_id = ctx_.session->next_id();
    MIRRORFS_ASSIGN_OR_RETURN(r, send_content(ctx_.session->channel(), args, basis));
    return sent(slot, args, std::move(r));
  }

  Status sent(ContentSlot& slot, const SendContentArgs& args, ContentResult r) {
    slot.result = std::move(r);
    using Outcome = ContentResult::Outcome;
    if (slot.result.outcome == Outcome::kVanished) {
      // Renamed or removed after the snapshot: the next batch has the
      // records that say where it went.
      stop_before(slot.job->first_seq, "");
      return Status::ok();
    }
    slot.id = args.request_id;
    if (slot.result.outcome == Outcome::kUnstable) {
      stop_before(slot.job->first_seq, "");  // written while read: next time
    }
    return Status::ok();
  }

  // Setxattr for every user.* (and, as root, trusted.*) attribute the
  // entry has in BACKING now: the mirror converges even when attributes
  // were set behind the mount (the start-up scan does not journal them).
  // Removals travel as journaled Removexattr operations.
  void add_xattrs(const std::string& path) {
    const std::string full = backing_path(path);
    std::vector<char> names(64 * 1024);
    const ssize_t n = ::llistxattr(full.c_str(), names.data(), names.size());
    if (n <= 0) return;
    std::vector<uint8_t> value(wire::kMaxXattrValue);
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names.data() + i)) + 1) {
      const std::string name(names.data() + i);
      if (name.rfind("user.", 0) != 0 && name.rfind("trusted.", 0) != 0) continue;
      const ssize_t v = ::lgetxattr(full.c_str(), name.c_str(), value.data(), value.size());
      if (v < 0) continue;
      wire::EntryOp op;
      op.type = wire::Type::kSetxattr;
      op.seq = plan_.last_seq;
      op.flags = wire::kOpStateFix;
      op.path = path.empty() ? "." : path;
      op.path2 = name;
      op.value.assign(value.begin(), value.begin() + v);
      attr_ops_.push_back(std::move(op));
    }
  }

  std::string backing_path(const std::string& rel) const {
    return "/proc/self/fd/" + std::to_string(ctx_.backing_dir_fd) +
           (rel.empty() ? "" : "/" + rel);
  }

  Status send_attrs() {
    for (const ContentJob& job : plan_.contents) add_xattrs(job.path);
    for (const AttrFix& fix : plan_.attrs) {
      struct stat st;
      const int rc = fix.path.empty()
                         ? ::fstat(ctx_.backing_dir_fd, &st)
                         : ::fstatat(ctx_.backing_dir_fd, fix.path.c_str(), &st,
                                     AT_SYMLINK_NOFOLLOW);
      if (rc != 0 || (fix.backing_ino != 0 && st.st_ino != fix.backing_ino)) {
        // Renamed or removed since the snapshot: the mirror still has the
        // entry at fix.path, and a later batch moves it, but fixes only
        // what that batch touches (not, say, what a renamed directory
        // holds): replay from the record that needed this fix.
        stop_before(fix.seq, "");
        continue;
      }
      wire::EntryOp op;
      op.type = wire::Type::kSetattr;
      op.seq = plan_.last_seq;
      op.flags = wire::kOpStateFix;
      op.path = fix.path.empty() ? "." : fix.path;  // "." is the root
      op.attrs = attrs_of_stat(st);
      attr_ops_.push_back(std::move(op));
      if (!S_ISLNK(st.st_mode)) add_xattrs(fix.path);
    }
    for (const wire::EntryOp& op : attr_ops_) {
      MIRRORFS_ASSIGN_OR_RETURN(id, ctx_.session->request(op));
      ops_.emplace_back(id, &op);
    }
    return Status::ok();
  }

  Status barrier() {
    MIRRORFS_ASSIGN_OR_RETURN(id, ctx_.session->request(wire::Barrier{plan_.last_seq}));
    MIRRORFS_ASSIGN_OR_RETURN(answers, ctx_.session->wait(id, kAnswerTimeout));
    const wire::Message& last = answers.back();
    if (const auto* ack = std::get_if<wire::Ack>(&last.body)) {
      acked_ = std::min(acked_, ack->seq);
      return Status::ok();
    }
    if (const auto* err = std::get_if<wire::Error>(&last.body)) {
      return Status(Code::kIoError, "mirror could not make changes durable: " +
                                        describe(*err));
    }
    return Status::corrupt("mirror answered Barrier with something else");
  }

  // Reads the answers to the entry operations sent so far and to the
  // content of slots [from, to); records what went through (the new
  // version's signature straight into the cache) and frees the rest.
  Status collect(std::vector<ContentSlot>& slots, size_t from, size_t to,
                 std::vector<ContentSlot*>* retry) {
    for (const auto& [id, op] : ops_) {
      MIRRORFS_ASSIGN_OR_RETURN(answers, ctx_.session->wait(id, kAnswerTimeout));
      if (const auto* err = std::get_if<wire::Error>(&answers.back().body)) {
        if (out_.first_error.empty()) {
          out_.first_error = std::string(wire::type_name(op->type)) + " " +
                             op->path + ": " + describe(*err);
        }
      }
    }
    ops_.clear();
    for (size_t i = from; i < to; ++i) {
      ContentSlot& slot = slots[i];
      slot.basis_sig.reset();
      slot.known.reset();
      if (slot.id == 0) continue;
      MIRRORFS_ASSIGN_OR_RETURN(answers, ctx_.session->wait(slot.id, kAnswerTimeout));
      slot.id = 0;
      ContentResult result = std::move(slot.result);
      slot.result = {};
      if (result.outcome != ContentResult::Outcome::kSent) continue;
      const wire::Message& last = answers.back();
      if (std::holds_alternative<wire::Ok>(last.body)) {
        std::vector<uint8_t> hash(result.hash.begin(), result.hash.end());
        db::SignatureCache::Shape shape;
        shape.size = result.size;
        for (const core::ContentHash& leaf : result.leaves) {
          shape.leaves.insert(shape.leaves.end(), leaf.begin(), leaf.end());
        }
        // Cached before the ack commits: an unreferenced row is harmless
        // (SignatureCache::gc drops it).
        MIRRORFS_RETURN_IF_ERROR(ctx_.signatures->put(hash, result.signature, &shape));
        out_.versions.emplace_back(slot.job->file, std::move(hash));
        out_.files_sent += 1;
        out_.bytes_saved += result.delta.copy_bytes;
        if (ctx_.progress) ctx_.progress->advance(1, result.size);
      } else if (std::holds_alternative<wire::BasisMismatch>(last.body)) {
        retry->push_back(&slot);
      } else if (const auto* err = std::get_if<wire::Error>(&last.body)) {
        stop_before(slot.job->first_seq, slot.job->path + ": " + describe(*err));
      }
    }
    return Status::ok();
  }

  const BatchContext& ctx_;
  const Plan& plan_;
  std::vector<std::pair<uint64_t, const wire::EntryOp*>> ops_;
  std::deque<wire::EntryOp> attr_ops_;  // stable addresses for ops_
  uint64_t acked_ = UINT64_MAX;
  uint64_t bound_ = UINT64_MAX;
  BatchResult out_;
};

}  // namespace

Result<BatchResult> send_batch(const BatchContext& ctx, const Plan& plan) {
  BatchSender sender(ctx, plan);
  return sender.run();
}

}  // namespace mirrorfs::replicator

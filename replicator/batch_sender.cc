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
#include "replicator/wire/codec.h"

namespace mirrorfs::replicator {
namespace {

// A mirror may take long to apply a big file; the connection's own end
// (keepalive, a reset) ends a wait sooner.
constexpr std::chrono::milliseconds kAnswerTimeout = std::chrono::minutes(30);

std::string describe(const wire::Error& e) { return e.message; }

struct ContentSlot {
  const ContentJob* job = nullptr;
  uint64_t sig_request = 0;  // SigRequest id, 0 = none
  std::optional<ContentBasis> cached;
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
    std::vector<ContentSlot> slots(plan_.contents.size());
    for (size_t i = 0; i < slots.size(); ++i) {
      slots[i].job = &plan_.contents[i];
      MIRRORFS_RETURN_IF_ERROR(choose_basis(slots[i]));
    }
    for (ContentSlot& slot : slots) MIRRORFS_RETURN_IF_ERROR(send(slot));
    // Every entry op and content update is answered as it is applied, so
    // the answers (and basis mismatches) are known before the attribute
    // fixes go: those must come after every content update, retried ones
    // included — a file replaced on the mirror moves its directory's
    // mtime — and before the one Barrier, after which the mirror drops
    // anything at or below this batch's seq as a replay.
    std::vector<ContentSlot*> retry;
    MIRRORFS_RETURN_IF_ERROR(collect(slots, &retry));
    if (!retry.empty()) {
      // The mirror holds something else than we believed: delta against
      // what it has (its own signature), once.
      for (ContentSlot* slot : retry) {
        slot->cached.reset();
        MIRRORFS_ASSIGN_OR_RETURN(
            id, ctx_.session->request(wire::SigRequest{slot->job->path}));
        slot->sig_request = id;
      }
      std::vector<ContentSlot> again;
      for (ContentSlot* slot : retry) {
        MIRRORFS_RETURN_IF_ERROR(send(*slot));
        again.push_back(std::move(*slot));
      }
      std::vector<ContentSlot*> twice;
      MIRRORFS_RETURN_IF_ERROR(collect(again, &twice));
      for (ContentSlot* slot : twice) {
        stop_before(slot->job->first_seq,
                    slot->job->path + ": the mirror's copy keeps changing");
      }
    }
    MIRRORFS_RETURN_IF_ERROR(send_attrs());
    MIRRORFS_RETURN_IF_ERROR(barrier());
    std::vector<ContentSlot> none;
    MIRRORFS_RETURN_IF_ERROR(collect(none, nullptr));
    out_.acked = std::min(acked_, bound_);
    return std::move(out_);
  }

 private:
  void stop_before(uint64_t seq, const std::string& why) {
    bound_ = std::min(bound_, seq - 1);
    if (out_.first_error.empty()) out_.first_error = why;
  }

  // The cached signature of the version the mirror holds, if we know it;
  // else ask the mirror (pipelined: the request goes now, the answer is
  // read when the file's turn comes); new files need no basis.
  Status choose_basis(ContentSlot& slot) {
    const ContentJob& job = *slot.job;
    if (job.created) return Status::ok();
    MIRRORFS_ASSIGN_OR_RETURN(version, ctx_.state->file_version(ctx_.mirror, job.file));
    if (version && version->size() == wire::Hash().size()) {
      Result<std::vector<uint8_t>> sig = ctx_.signatures->get(*version);
      if (sig.is_ok()) {
        Result<std::unique_ptr<core::Signature>> loaded = load(*sig);
        if (loaded.is_ok()) {
          slot.basis_sig = std::move(*loaded);
          ContentBasis b;
          b.has_basis = true;
          b.path = job.path;
          std::copy(version->begin(), version->end(), b.hash.begin());
          slot.cached = b;
          return Status::ok();
        }
      }
    }
    MIRRORFS_ASSIGN_OR_RETURN(id, ctx_.session->request(wire::SigRequest{job.path}));
    slot.sig_request = id;
    return Status::ok();
  }

  static Result<std::unique_ptr<core::Signature>> load(std::span<const uint8_t> bytes) {
    core::SignatureLoader loader;
    core::JobBuffers b;
    b.next_in = bytes.data();
    b.avail_in = bytes.size();
    b.eof_in = true;
    for (;;) {
      MIRRORFS_ASSIGN_OR_RETURN(step, loader.iterate(b));
      if (step == core::JobStep::kDone) return loader.take();
      if (b.avail_in == 0 && step == core::JobStep::kBlocked) {
        return Status::corrupt("signature ends early");
      }
    }
  }

  Status send(ContentSlot& slot) {
    const ContentJob& job = *slot.job;
    ContentBasis basis;
    if (slot.cached) {
      basis = *slot.cached;
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
        Result<std::unique_ptr<core::Signature>> loaded = load(sig);
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
    SendContentArgs args;
    args.request_id = ctx_.session->next_id();
    args.seq = job.last_seq;
    args.mirror_path = job.path;
    args.links = job.links;
    args.backing_dir_fd = ctx_.backing_dir_fd;
    args.backing_path = job.path;
    MIRRORFS_ASSIGN_OR_RETURN(r, send_content(ctx_.session->channel(), args, basis));
    slot.result = std::move(r);
    using Outcome = ContentResult::Outcome;
    if (slot.result.outcome == Outcome::kVanished) {
      // Renamed or removed after the snapshot: the next batch has the
      // records that say where it went.
      stop_before(job.first_seq, "");
      return Status::ok();
    }
    slot.id = args.request_id;
    if (slot.result.outcome == Outcome::kUnstable) {
      stop_before(job.first_seq, "");  // written while read: next time
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
      if (rc != 0) continue;  // gone since the snapshot: a later batch says so
      wire::EntryOp op;
      op.type = wire::Type::kSetattr;
      op.seq = plan_.last_seq;
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

  Status collect(std::vector<ContentSlot>& slots, std::vector<ContentSlot*>* retry) {
    // REQUIRES: retry non-null unless slots is empty.
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
    for (ContentSlot& slot : slots) {
      if (slot.id == 0) continue;
      MIRRORFS_ASSIGN_OR_RETURN(answers, ctx_.session->wait(slot.id, kAnswerTimeout));
      slot.id = 0;
      if (slot.result.outcome != ContentResult::Outcome::kSent) continue;
      const wire::Message& last = answers.back();
      if (std::holds_alternative<wire::Ok>(last.body)) {
        std::vector<uint8_t> hash(slot.result.hash.begin(), slot.result.hash.end());
        out_.versions.emplace_back(slot.job->file, hash);
        out_.signatures.emplace_back(std::move(hash), std::move(slot.result.signature));
        out_.files_sent += 1;
        out_.bytes_saved += slot.result.delta.copy_bytes;
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

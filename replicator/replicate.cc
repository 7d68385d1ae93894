#include "replicator/replicate.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "db/commit_request.h"
#include "replicator/backoff.h"
#include "replicator/batch_sender.h"
#include "replicator/log.h"
#include "replicator/seeding.h"
#include "replicator/state_store.h"
#include "replicator/tls/identity.h"
#include "replicator/tls/tls_context.h"

namespace mirrorfs::replicator {
namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class MirrorWorker {
 public:
  MirrorWorker(const ReplicateOptions& opt, const MirrorTarget& target,
               std::shared_ptr<boost::asio::ssl::context> tls,
               const std::atomic<bool>& stop, MirrorStats& stats)
      : opt_(opt), target_(target), tls_(std::move(tls)), stop_(stop), stats_(stats) {}

  // With once: OK when the mirror acknowledged `goal`.
  Status run() {
    MIRRORFS_ASSIGN_OR_RETURN(store, StateStore::open(opt_.state_dir));
    store_ = std::move(store);
    MIRRORFS_ASSIGN_OR_RETURN(id, store_.state->add_mirror(target_.name));
    mirror_ = id;
    commit_mount();
    MIRRORFS_ASSIGN_OR_RETURN(goal, store_.journal->last_seq());
    goal_ = goal;
    backing_fd_ = ::open(store_.backing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (backing_fd_ < 0) return Status::from_errno(errno, "open BACKING " + store_.backing);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{backing_fd_};

    int failures = 0;
    const std::chrono::milliseconds max_backoff =
        std::max(opt_.max_backoff, std::chrono::milliseconds(1));
    Backoff backoff(std::min(std::chrono::milliseconds(500), max_backoff), max_backoff);
    Status last;
    while (!stop_.load()) {
      progressed_ = false;
      last = connect_and_sync();
      // A session that got a batch acknowledged was a success, however it
      // ended: the mirror is back, so a new failure starts the delays over.
      if (progressed_) {
        backoff.reset();
        failures = 0;  // --once gives up after failures in a row
      }
      if (last.is_ok() && opt_.once) return Status::ok();
      if (stop_.load()) break;
      if (!last.is_ok()) {
        stats_.errors.fetch_add(1, std::memory_order_relaxed);
        if (Result<uint64_t> seq = store_.journal->last_seq(); seq.is_ok()) {
          stats_.lag.observe(*seq, Clock::now());  // the lag grows while away
        }
        log_error("mirror " + target_.name + ": " + last.to_string());
        (void)store_.state->record_contact(mirror_, now_ns(), last.to_string());
        if (opt_.once && ++failures >= opt_.once_attempts) break;
      }
      sleep_for(backoff.next());
    }
    if (opt_.once) {
      return Status(last.code() == Code::kOk ? Code::kIoError : last.code(),
                    "mirror " + target_.name + " did not get to seq " +
                        std::to_string(goal_) + ": " +
                        (last.is_ok() ? "stopped" : last.message()),
                    last.errno_value());
    }
    return Status::ok();
  }

 private:
  void sleep_for(std::chrono::milliseconds d) {
    const auto until = Clock::now() + d;
    while (!stop_.load() && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // A running mount replies to entry operations before it commits them:
  // ask it to commit what it completed, so the journal we read holds it
  // (db/commit_request.h). No mount running: nothing to wait for.
  void commit_mount() {
    Result<db::CommitOutcome> r = db::request_commit(opt_.state_dir);
    if (!r.is_ok()) {
      log_error("mirror " + target_.name + ": " + r.status().to_string() +
                "; reading what the mount committed so far");
    }
  }

  // One connection: sync until done (once) or stopped; an error return
  // means try again later.
  Status connect_and_sync() {
    ChannelOptions copt;
    copt.bwlimit = opt_.bwlimit;
    MIRRORFS_ASSIGN_OR_RETURN(
        channel, Channel::connect(target_.host, target_.port, tls_, copt));
    wire::Hello hello;
    hello.client_name = host_name();
    hello.journal_id = store_.journal_id;
    MIRRORFS_ASSIGN_OR_RETURN(
        session, ClientSession::start(std::move(channel), hello, std::chrono::seconds(30)));
    log_info("mirror " + target_.name + " (" + session->channel().peer_address() +
             "): connected, it has applied up to seq " +
             std::to_string(session->hello_ok().applied_seq));
    MIRRORFS_RETURN_IF_ERROR(check_identity(session->hello_ok()));
    stats_.connected.store(true);
    struct Disconnected {
      MirrorStats& s;
      ~Disconnected() { s.connected.store(false); }
    } disconnected{stats_};
    const WireBytes start_bytes = session->channel().wire_bytes();
    uint64_t counted_sent = 0;
    auto count_traffic = [&](uint64_t saved) {
      const WireBytes now = session->channel().wire_bytes();
      const uint64_t total = (now.sent - start_bytes.sent) + (now.received - start_bytes.received);
      (void)store_.state->add_traffic(mirror_, total - counted_sent, saved);
      counted_sent = total;
    };
    for (;;) {
      if (stop_.load()) return Status::ok();
      MIRRORFS_ASSIGN_OR_RETURN(acked, store_.state->acked_seq(mirror_));
      if (opt_.once && acked >= goal_) {
        (void)store_.state->record_contact(mirror_, now_ns(), "");
        count_traffic(0);
        return Status::ok();
      }
      // A mirror that has nothing of this journal yet may still hold data
      // (restored from tape, an earlier rsync): see what, to seed it.
      std::optional<std::vector<wire::ListEntry>> listing;
      if (acked == 0) {
        MIRRORFS_ASSIGN_OR_RETURN(l, list_mirror(*session, ".", std::chrono::minutes(30)));
        listing = std::move(l);
      }
      MIRRORFS_ASSIGN_OR_RETURN(plan, read_plan(acked, listing ? &*listing : nullptr));
      if (plan.last_seq == 0) {  // nothing new
        (void)store_.state->record_contact(mirror_, now_ns(), "");
        if (opt_.once) return Status::ok();
        sleep_for(opt_.poll);
        MIRRORFS_RETURN_IF_ERROR(session->closed_status());
        continue;
      }
      BatchContext ctx;
      ctx.session = session.get();
      ctx.state = store_.state.get();
      ctx.signatures = store_.signatures.get();
      ctx.mirror = mirror_;
      ctx.backing_dir_fd = backing_fd_;
      // A whole tree (the first sync to a mirror) takes long: its progress
      // goes to the log (a terminal gets one line redrawn).
      std::optional<ProgressMeter> meter;
      if (full_plan_) {
        uint64_t bytes = 0;
        for (const ContentJob& j : plan.contents) bytes += j.catalog.size;
        ProgressOptions popt;
        popt.what = "mirror " + target_.name + ": initial sync";
        popt.tty = stderr_is_tty();
        meter.emplace(popt, plan.contents.size(), bytes);
        ctx.progress = &*meter;
      }
      MIRRORFS_ASSIGN_OR_RETURN(result, send_batch(ctx, plan));
      if (meter) meter->finish();
      MIRRORFS_RETURN_IF_ERROR(record(result, acked));
      if (result.acked > acked) progressed_ = true;
      count_traffic(result.bytes_saved);
      if (!result.first_error.empty()) {
        stats_.errors.fetch_add(1, std::memory_order_relaxed);
        (void)store_.state->record_contact(mirror_, now_ns(), result.first_error);
        log_error("mirror " + target_.name + ": " + result.first_error);
      }
      if (result.acked <= acked) {
        // No progress: something keeps failing (or a file keeps changing).
        // Back off inside the connection rather than spin.
        if (!result.first_error.empty()) {
          return Status(Code::kIoError, result.first_error);
        }
        sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  // A mirror answering under this name with another mirror_id than the
  // one it was synced with is another mirror (a new host, a wiped mirror
  // state): what the old one acknowledged says nothing of what this one
  // holds. Start it over: the next sync lists it and seeds it against
  // whatever it holds. The first contact records the id.
  Status check_identity(const wire::HelloOk& ok) {
    MIRRORFS_ASSIGN_OR_RETURN(known, store_.state->identity(mirror_));
    if (known == ok.mirror_id) return Status::ok();
    if (known.empty()) return store_.state->set_identity(mirror_, ok.mirror_id);
    log_error("mirror " + target_.name + ": it is another mirror than the one synced so far (id " +
              ok.mirror_id + ", was " + known +
              "): syncing it in full, by deltas against what it holds");
    return store_.state->restart(mirror_, ok.mirror_id);
  }

  // The next batch after `acked`, planned against the catalog as of the
  // batch's end (one read transaction for both). With a non-empty
  // `listing` of the mirror (first sync), the whole tree seeded against it.
  Result<Plan> read_plan(uint64_t acked, const std::vector<wire::ListEntry>* listing) {
    commit_mount();
    MIRRORFS_ASSIGN_OR_RETURN(
        txn, db::Transaction::begin(*store_.db, db::Transaction::Kind::kRead));
    // The whole rest of the journal: the catalog describes its end, so a
    // batch that stopped earlier would plan with paths from the future.
    MIRRORFS_ASSIGN_OR_RETURN(records, store_.journal->read_after(acked, SIZE_MAX / 2));
    MIRRORFS_ASSIGN_OR_RETURN(last, store_.journal->last_seq());
    full_plan_ = acked == 0;  // the first sync to this mirror
    stats_.lag.observe(last, Clock::now());
    if (records.empty() && acked >= last) return Plan{};
    if (listing != nullptr && !listing->empty()) {
      log_info("mirror " + target_.name + " already holds " + std::to_string(listing->size()) +
               " entries: seeding it by deltas against them");
      MIRRORFS_ASSIGN_OR_RETURN(full, plan_full(*store_.catalog, last));
      seed_plan(*listing, full);
      full_plan_ = true;
      return full;
    }
    if (records.empty() || records.front().seq != acked + 1) {
      // Trimmed for the other mirrors before this one ever got them (a
      // mirror added later): send the whole tree as of now instead.
      log_info("mirror " + target_.name + ": the journal no longer holds seq " +
               std::to_string(acked + 1) + "; sending the whole tree");
      full_plan_ = true;
      return plan_full(*store_.catalog, last);
    }
    return plan_batch(records, *store_.catalog);
  }

  Status record(const BatchResult& r, uint64_t acked) {
    const uint64_t seq = std::max(acked, r.acked);
    MIRRORFS_RETURN_IF_ERROR(store_.state->commit_ack(mirror_, seq, r.versions));
    MIRRORFS_ASSIGN_OR_RETURN(trim_to, store_.state->min_acked_seq());
    return store_.journal->trim(trim_to);
  }

  static std::string host_name() {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return buf;
  }

  const ReplicateOptions& opt_;
  const MirrorTarget& target_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  const std::atomic<bool>& stop_;
  MirrorStats& stats_;
  StateStore store_;  // this thread's own connection
  db::MirrorId mirror_ = 0;
  uint64_t goal_ = 0;
  int backing_fd_ = -1;
  bool full_plan_ = false;  // the last plan read is an initial sync (whole tree)
  bool progressed_ = false;  // this connection got a batch acknowledged
};

}  // namespace

Status run_replicate(const ReplicateOptions& opt, const std::atomic<bool>& stop) {
  if (opt.mirrors.empty()) return Status::invalid_argument("no mirror given");
  Result<tls::Identity> identity = tls::load_identity(opt.state_dir);
  if (identity.status().code() == Code::kNotFound) {
    return Status(Code::kNotFound, "no key in " + opt.state_dir + ": run 'mirrorfs keygen --state " +
                                       opt.state_dir + "' and allow its fingerprint on the mirrors");
  }
  if (!identity.is_ok()) return identity.status();
  // Checked once here so a missing state gives one clear error.
  MIRRORFS_RETURN_IF_ERROR(StateStore::open(opt.state_dir).status());
  std::vector<Status> results(opt.mirrors.size());
  ReplicateStats unused_stats(opt.mirrors.size());
  ReplicateStats& stats = opt.stats != nullptr ? *opt.stats : unused_stats;
  if (stats.mirrors.size() != opt.mirrors.size()) {
    return Status::internal("ReplicateStats for " + std::to_string(stats.mirrors.size()) +
                            " mirrors, not " + std::to_string(opt.mirrors.size()));
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < opt.mirrors.size(); ++i) {
    MIRRORFS_ASSIGN_OR_RETURN(ctx, tls::make_client_context(*identity, opt.mirrors[i].fingerprint));
    threads.emplace_back([&, i, ctx] {
      MirrorWorker worker(opt, opt.mirrors[i], ctx, stop, *stats.mirrors[i]);
      results[i] = worker.run();
    });
  }
  for (std::thread& t : threads) t.join();
  std::string failed;
  for (const Status& s : results) {
    if (s.is_ok()) continue;
    if (!failed.empty()) failed += "; ";
    failed += s.message();
  }
  if (!failed.empty()) return Status(Code::kIoError, failed);
  return Status::ok();
}

}  // namespace mirrorfs::replicator

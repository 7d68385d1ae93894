#include "cli/metrics_collectors.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "cli/command_args.h"
#include "cli/prometheus.h"
#include "db/journal.h"
#include "db/mirror_state.h"
#include "db/schema.h"

namespace mirrorfs::cli {

struct StateReader::Db {
  std::unique_ptr<db::Database> db;
  std::unique_ptr<db::Journal> journal;
  std::unique_ptr<db::MirrorState> mirrors;
};

StateReader::StateReader(std::string state_dir)
    : path_(std::move(state_dir) + "/state.db") {}
StateReader::~StateReader() = default;

Result<StateReader::Snapshot> StateReader::read(bool with_mirrors) {
  if (!db_) {
    db::Database::Options o;
    o.create = false;
    o.busy_timeout_ms = 2000;  // a scrape must not hang on a writer
    auto d = std::make_unique<Db>();
    MIRRORFS_ASSIGN_OR_RETURN(database, db::open_state_db(path_, o));
    d->db = std::move(database);
    MIRRORFS_ASSIGN_OR_RETURN(journal, db::Journal::open(*d->db));
    MIRRORFS_ASSIGN_OR_RETURN(mirrors, db::MirrorState::open(*d->db));
    d->journal = std::move(journal);
    d->mirrors = std::move(mirrors);
    db_ = std::move(d);
  }
  MIRRORFS_ASSIGN_OR_RETURN(
      txn, db::Transaction::begin(*db_->db, db::Transaction::Kind::kRead));
  Snapshot s;
  MIRRORFS_ASSIGN_OR_RETURN(all, db_->journal->pending(0));
  s.journal_rows = all.records;
  MIRRORFS_ASSIGN_OR_RETURN(last, db_->journal->last_seq());
  s.last_seq = last;
  if (!with_mirrors) return s;
  MIRRORFS_ASSIGN_OR_RETURN(list, db_->mirrors->list());
  for (const db::MirrorInfo& m : list) {
    MIRRORFS_ASSIGN_OR_RETURN(p, db_->journal->pending(m.acked_seq));
    s.mirrors.push_back(
        Mirror{m.name, m.acked_seq, p.records, m.bytes_sent, m.bytes_saved});
  }
  return s;
}

namespace {

// The journal's gauges, or (when the database cannot be read) one gauge
// saying so: a scrape never fails for it.
const StateReader::Snapshot* journal_metrics(
    Exposition& e, Result<StateReader::Snapshot>& snap) {
  e.family("mirrorfs_state_readable", "gauge",
           "1 if state.db could be read at this scrape, else 0 (the journal "
           "metrics are then missing)");
  e.sample("mirrorfs_state_readable", {}, uint64_t{snap.is_ok() ? 1u : 0u});
  if (!snap.is_ok()) return nullptr;
  e.family("mirrorfs_journal_rows", "gauge",
           "Rows in the change journal (not yet acknowledged by every mirror)");
  e.sample("mirrorfs_journal_rows", {}, snap->journal_rows);
  e.family("mirrorfs_journal_last_seq", "gauge",
           "The highest sequence number ever journaled");
  e.sample("mirrorfs_journal_last_seq", {}, snap->last_seq);
  return &*snap;
}

}  // namespace

std::string render_mount_metrics(const fs::OpStats& ops, StateReader& state) {
  Exposition e;
  using fs::FuseOp;
  auto each_op = [&](auto fn) {
    for (size_t i = 0; i < fs::kFuseOpCount; ++i) fn(static_cast<FuseOp>(i));
  };
  e.family("mirrorfs_fuse_operations_total", "counter",
           "FUSE requests answered, by operation");
  each_op([&](FuseOp op) {
    e.sample("mirrorfs_fuse_operations_total", {{"op", fs::fuse_op_name(op)}},
             ops.of(op).count.load(std::memory_order_relaxed));
  });
  e.family("mirrorfs_fuse_errors_total", "counter",
           "FUSE requests answered with an error, by operation");
  each_op([&](FuseOp op) {
    e.sample("mirrorfs_fuse_errors_total", {{"op", fs::fuse_op_name(op)}},
             ops.of(op).errors.load(std::memory_order_relaxed));
  });
  e.family("mirrorfs_fuse_operation_duration_seconds", "histogram",
           "Time from a FUSE request's arrival at its handler to the handler's "
           "return, by operation");
  each_op([&](FuseOp op) {
    const fs::OpCounters& c = ops.of(op);
    uint64_t buckets[fs::kLatencyBounds + 1];
    for (size_t b = 0; b <= fs::kLatencyBounds; ++b) {
      buckets[b] = c.buckets[b].load(std::memory_order_relaxed);
    }
    e.histogram(
        "mirrorfs_fuse_operation_duration_seconds",
        {{"op", fs::fuse_op_name(op)}}, fs::latency_bounds_seconds(), buckets,
        static_cast<double>(c.sum_ns.load(std::memory_order_relaxed)) / 1e9);
  });
  Result<StateReader::Snapshot> snap = state.read(false);
  journal_metrics(e, snap);
  return e.text();
}

std::string render_replicate_metrics(
    const std::vector<replicator::MirrorTarget>& mirrors,
    replicator::ReplicateStats& stats, StateReader& state) {
  Exposition e;
  Result<StateReader::Snapshot> snap = state.read(true);
  const StateReader::Snapshot* s = journal_metrics(e, snap);
  const auto now = replicator::LagTracker::Clock::now();
  // The state's row of each configured mirror (none before its first run).
  std::vector<StateReader::Mirror> rows(mirrors.size());
  for (size_t i = 0; s != nullptr && i < mirrors.size(); ++i) {
    for (const StateReader::Mirror& m : s->mirrors) {
      if (m.name == mirrors[i].name) rows[i] = m;
    }
    stats.mirrors[i]->lag.observe(s->last_seq, now);
  }
  auto per_mirror = [&](const char* name, const char* type, const char* help,
                        auto value) {
    e.family(name, type, help);
    for (size_t i = 0; i < mirrors.size(); ++i) {
      e.sample(name, {{"mirror", mirrors[i].name}}, value(i));
    }
  };
  if (s != nullptr) {
    per_mirror("mirrorfs_mirror_pending_rows", "gauge",
               "Journal rows the mirror has not acknowledged",
               [&](size_t i) { return rows[i].pending_rows; });
    per_mirror("mirrorfs_mirror_acked_seq", "gauge",
               "The journal seq the mirror acknowledged",
               [&](size_t i) { return rows[i].acked_seq; });
    per_mirror("mirrorfs_mirror_lag_seconds", "gauge",
               "Age of the oldest change the mirror has not acknowledged (0: "
               "none pending), "
               "counted from when this process first saw it",
               [&](size_t i) {
                 return stats.mirrors[i]->lag.lag_seconds(rows[i].acked_seq,
                                                          now);
               });
    per_mirror("mirrorfs_mirror_bytes_sent_total", "counter",
               "Bytes on the wire to and from the mirror, all time (state.db)",
               [&](size_t i) { return rows[i].bytes_sent; });
    per_mirror("mirrorfs_mirror_bytes_saved_total", "counter",
               "File bytes not sent thanks to deltas, all time (state.db)",
               [&](size_t i) { return rows[i].bytes_saved; });
  }
  per_mirror(
      "mirrorfs_mirror_errors_total", "counter",
      "Failed attempts and batches with an error, since this process started",
      [&](size_t i) {
        return stats.mirrors[i]->errors.load(std::memory_order_relaxed);
      });
  per_mirror("mirrorfs_mirror_connected", "gauge",
             "1 while a session with the mirror is up", [&](size_t i) {
               return uint64_t{stats.mirrors[i]->connected.load() ? 1u : 0u};
             });
  return e.text();
}

std::string render_serve_metrics(const replicator::ServeStats& st) {
  Exposition e;
  auto one = [&](const char* name, const char* type, const char* help,
                 const std::atomic<uint64_t>& v) {
    e.family(name, type, help);
    e.sample(name, {}, v.load(std::memory_order_relaxed));
  };
  one("mirrorfs_serve_sessions_open", "gauge",
      "Authenticated replicator sessions now", st.sessions_open);
  one("mirrorfs_serve_sessions_total", "counter",
      "Authenticated replicator sessions since start", st.sessions_total);
  one("mirrorfs_serve_operations_applied_total", "counter",
      "Entry operations applied", st.operations_applied);
  one("mirrorfs_serve_content_updates_total", "counter",
      "File contents updated", st.content_updates);
  one("mirrorfs_serve_in_place_updates_total", "counter",
      "File contents updated in place (through the undo log)",
      st.in_place_updates);
  one("mirrorfs_serve_bytes_received_total", "counter",
      "TCP payload bytes received from replicators (counted at each barrier "
      "and session end)",
      st.bytes_received);
  e.family("mirrorfs_serve_errors_total", "counter",
           "Errors: entry operations and content updates that failed, sessions "
           "ended by an error");
  e.sample("mirrorfs_serve_errors_total", {{"kind", "entry"}},
           st.entry_errors.load());
  e.sample("mirrorfs_serve_errors_total", {{"kind", "content"}},
           st.content_errors.load());
  e.sample("mirrorfs_serve_errors_total", {{"kind", "session"}},
           st.session_errors.load());
  return e.text();
}

Status bind_metrics(const char* cmd, std::string_view host_port,
                    std::unique_ptr<MetricsServer>* out) {
  Result<std::pair<std::string, uint16_t>> hp =
      parse_host_port(host_port, true);
  if (!hp.is_ok())
    return Status::invalid_argument("--metrics: " + hp.status().message());
  MetricsServerOptions opt;
  opt.host = hp->first;
  opt.port = hp->second;
  MIRRORFS_ASSIGN_OR_RETURN(server, MetricsServer::bind(opt));
  std::fprintf(stderr, "mirrorfs: %s: metrics on http://%s:%u/metrics\n", cmd,
               opt.host.find(':') != std::string::npos
                   ? ("[" + opt.host + "]").c_str()
                   : opt.host.c_str(),
               static_cast<unsigned>(server->port()));
  *out = std::move(server);
  return Status::ok();
}

}  // namespace mirrorfs::cli

// What `--metrics` shows for mount, replicate and serve: each command's
// stats objects (fs/op_stats.h, replicator/replicate_stats.h,
// replicator/serve_stats.h) and the state database, rendered at scrape
// time on the metrics thread. docs/metrics.md lists every metric.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/metrics_server.h"
#include "core/status.h"
#include "fs/op_stats.h"
#include "replicator/replicate.h"
#include "replicator/serve_stats.h"

namespace mirrorfs::cli {

// The journal and mirror rows of DIR/state.db, read through a connection
// of its own (opened at the first read, only ever read through).
// Thread-compatible: the metrics thread alone uses it.
class StateReader {
 public:
  explicit StateReader(std::string state_dir);
  ~StateReader();

  struct Mirror {
    std::string name;
    uint64_t acked_seq = 0, pending_rows = 0, bytes_sent = 0, bytes_saved = 0;
  };
  struct Snapshot {
    uint64_t journal_rows = 0;  // rows in the journal (all mirrors)
    uint64_t last_seq = 0;      // highest seq ever journaled
    std::vector<Mirror> mirrors;
  };
  // One read transaction; mirrors only if `with_mirrors`.
  Result<Snapshot> read(bool with_mirrors);

 private:
  struct Db;
  std::string path_;
  std::unique_ptr<Db> db_;
};

std::string render_mount_metrics(const fs::OpStats& ops, StateReader& state);
std::string render_replicate_metrics(
    const std::vector<replicator::MirrorTarget>& mirrors,
    replicator::ReplicateStats& stats, StateReader& state);
std::string render_serve_metrics(const replicator::ServeStats& stats);

// Parses --metrics HOST:PORT and binds it (MetricsServer::bind) into
// *server; on success says where on stderr. `cmd` names the command.
Status bind_metrics(const char* cmd, std::string_view host_port,
                    std::unique_ptr<MetricsServer>* server);

}  // namespace mirrorfs::cli

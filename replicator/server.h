// `mirrorfs serve`: the mirror daemon. Listens for replicators, lets in
// only those whose key fingerprint is allowed (during the TLS handshake,
// before any request), and applies what they send beneath ROOT through
// mirror::Applier, one session thread per connection. Logs to stderr.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/mirror/applier.h"
#include "replicator/serve_stats.h"

namespace mirrorfs::replicator {

struct ServeOptions {
  std::string root;
  std::string state_dir;  // identity and mirror.db
  std::string host = "127.0.0.1";
  uint16_t port = 0;      // 0: any free port (tests read it back)
  std::vector<std::string> allowed;  // client fingerprints
  mirror::ApplierOptions applier;
  // Called once listening, with the port bound (tests use it).
  std::function<void(uint16_t)> on_listening;
  // --metrics: counters the sessions update (not owned; outlives
  // run_server). Null: none kept.
  ServeStats* stats = nullptr;
};

// Runs until `stop` is set. Errors before listening (no ROOT, bad key,
// address in use) are returned at once; per-connection errors are logged.
Status run_server(const ServeOptions& opt, const std::atomic<bool>& stop);

}  // namespace mirrorfs::replicator

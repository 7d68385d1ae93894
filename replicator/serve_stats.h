// What a running `mirrorfs serve` tells, for its metrics
// (cli/metrics_collectors.h): plain atomics its sessions update and any
// thread reads.
#pragma once

#include <atomic>
#include <cstdint>

namespace mirrorfs::replicator {

struct ServeStats {
  std::atomic<uint64_t> sessions_open{0};       // authenticated sessions now
  std::atomic<uint64_t> sessions_total{0};      // ... since start
  std::atomic<uint64_t> operations_applied{0};  // entry operations applied
  std::atomic<uint64_t> content_updates{0};     // files updated (finish OK)
  std::atomic<uint64_t> in_place_updates{0};    // ... of which in place
  std::atomic<uint64_t> bytes_received{0};      // TCP payload from replicators
  // Errors by kind: an entry operation or a content update that failed
  // (answered with an error), a session ended by an error (protocol
  // violation, lost connection, failed handshake).
  std::atomic<uint64_t> entry_errors{0};
  std::atomic<uint64_t> content_errors{0};
  std::atomic<uint64_t> session_errors{0};
};

}  // namespace mirrorfs::replicator

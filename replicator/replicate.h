// `mirrorfs replicate`: reads the journal a mount writes in DIR/state.db
// and brings every configured mirror up to date, one thread per mirror.
//
// Per mirror, a loop of batches: read the journal past the mirror's
// acknowledged seq together with the catalog (one snapshot), plan it
// (plan.h), send entry operations, content updates (the cheapest correct
// delta: against the signature cached for the version the mirror holds,
// else against the mirror's own signature, else literal) and attribute
// fixes, then a Barrier; record the mirror's new versions, their
// signatures and its ack in one transaction, and trim the journal up to
// what every mirror acknowledged. A mirror that is away is retried with
// backoff (0.5 s doubling up to max_backoff, and 0.5 s again once a
// connection got a batch acknowledged: backoff.h); the journal keeps
// everything until it is back.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/replicate_stats.h"

namespace mirrorfs::replicator {

struct MirrorTarget {
  std::string name;         // the mirror's name in the state (status shows it)
  std::string host;
  uint16_t port = 0;
  std::string fingerprint;  // pinned key, "sha256:<hex>"
};

struct ReplicateOptions {
  std::string state_dir;
  std::vector<MirrorTarget> mirrors;
  bool once = false;  // stop once everything journaled at start is acked
  uint64_t bwlimit = 0;  // bytes/s per mirror connection; 0 = unlimited
  std::chrono::milliseconds poll{100};  // journal polling when idle
  // --once gives up after this many failed attempts in a row (with
  // backoff between them; a connection that got a batch acknowledged ends
  // the row); the daemon retries forever.
  int once_attempts = 4;
  std::chrono::milliseconds max_backoff{30000};
  // --metrics: one entry per mirror, updated by its worker (not owned;
  // outlives run_replicate). Null: none kept.
  ReplicateStats* stats = nullptr;
};

// Runs until `stop` is set (or, with once, until done). With once, OK only
// if every mirror acknowledged everything journaled when it started;
// otherwise an error naming the mirrors that did not get there and why.
Status run_replicate(const ReplicateOptions& opt, const std::atomic<bool>& stop);

}  // namespace mirrorfs::replicator

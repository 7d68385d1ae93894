// The delay between a replicator's attempts to reach a mirror: doubling
// from `initial` up to `max` while attempts fail, back to `initial` once a
// session got somewhere (replicate.cc: a batch acknowledged), so a mirror
// that was away for long and came back is retried promptly the next time
// it goes. Pure: the caller sleeps.
//
// Thread-safety: none; one per mirror worker.
#pragma once

#include <algorithm>
#include <cassert>
#include <chrono>

namespace mirrorfs::replicator {

class Backoff {
 public:
  // REQUIRES: 0 < initial <= max.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {
    assert(initial.count() > 0 && initial <= max);
  }

  // The delay before the next attempt; the one after it doubles (at most
  // max).
  std::chrono::milliseconds next() {
    const std::chrono::milliseconds d = next_;
    next_ = std::min(next_ * 2, max_);
    return d;
  }

  // After a session that made progress: the next delay is `initial`.
  void reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, next_;
};

}  // namespace mirrorfs::replicator

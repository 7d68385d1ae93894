// What a running `mirrorfs replicate` tells about each mirror, for its
// metrics (cli/metrics_collectors.h): plain atomics the mirror's worker
// updates and any thread reads, and the replication lag.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace mirrorfs::replicator {

// The replication lag of one mirror: the age of the oldest journal change
// the mirror has not acknowledged, 0 when none is pending. The journal
// holds no times, so the age counts from when this process first saw the
// change (observe()): changes already journaled when it started count
// from its start. Thread-safe (a small mutex; never on a FUSE thread).
class LagTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // The journal held every seq up to `last_seq` at `now`.
  void observe(uint64_t last_seq, Clock::time_point now);
  // Seconds since the first seq after `acked` was first observed; 0 if
  // every observed seq is acknowledged.
  double lag_seconds(uint64_t acked, Clock::time_point now);

  // Observations kept: beyond, the newest one's seq is raised instead
  // (the lag of the newest changes then counts from a little earlier).
  static constexpr size_t kMaxObservations = 1024;

 private:
  std::mutex mu_;
  // (last seq, when first seen); seqs strictly increasing. Guarded by mu_.
  std::deque<std::pair<uint64_t, Clock::time_point>> seen_;
};

struct MirrorStats {
  std::atomic<bool> connected{false};  // a session with the mirror is up
  std::atomic<uint64_t> errors{0};     // failed attempts and failed batches
  LagTracker lag;
};

// One MirrorStats per ReplicateOptions::mirrors entry, in that order.
struct ReplicateStats {
  explicit ReplicateStats(size_t mirrors) {
    for (size_t i = 0; i < mirrors; ++i)
      this->mirrors.push_back(std::make_unique<MirrorStats>());
  }
  std::vector<std::unique_ptr<MirrorStats>> mirrors;
};

}  // namespace mirrorfs::replicator

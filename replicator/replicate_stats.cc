#include "replicator/replicate_stats.h"

namespace mirrorfs::replicator {

void LagTracker::observe(uint64_t last_seq, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (!seen_.empty() && last_seq <= seen_.back().first) return;
  if (seen_.size() >= kMaxObservations) {
    seen_.back().first = last_seq;
    return;
  }
  seen_.emplace_back(last_seq, now);
}

double LagTracker::lag_seconds(uint64_t acked, Clock::time_point now) {
  std::lock_guard lock(mu_);
  while (!seen_.empty() && seen_.front().first <= acked) seen_.pop_front();
  if (seen_.empty()) return 0;
  return std::chrono::duration<double>(now - seen_.front().second).count();
}

}  // namespace mirrorfs::replicator

// Per-operation statistics of the FUSE mount: for every low-level
// operation the mount implements, a count, an error count and a latency
// histogram with fixed buckets. Plain relaxed atomics: no lock and no
// allocation on the FUSE threads; a reader (the metrics thread) sees each
// counter exact, and the counters of one operation nearly in step.
//
// The mount counts and times only when MountOptions::op_stats is set
// (`mirrorfs mount --metrics`): then each handler of the table runs
// inside a wrapper (instrument_ops) that reads steady_clock (vDSO) before
// and after and notes whether the handler replied an error (reply_err).
// Without it the table is the plain one: no cost at all.
#pragma once

#include <fuse_lowlevel.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mirrorfs::fs {

enum class FuseOp : uint8_t {
  kLookup,
  kForget,
  kForgetMulti,
  kGetattr,
  kSetattr,
  kReadlink,
  kMknod,
  kMkdir,
  kUnlink,
  kRmdir,
  kSymlink,
  kRename,
  kLink,
  kOpen,
  kRead,
  kWrite,
  kFlush,
  kRelease,
  kFsync,
  kOpendir,
  kReaddir,
  kReaddirplus,
  kReleasedir,
  kFsyncdir,
  kStatfs,
  kSetxattr,
  kGetxattr,
  kListxattr,
  kRemovexattr,
  kAccess,
  kCreate,
  kFallocate,
  kCopyFileRange,
  kLseek,
  kCount  // not an operation: how many there are
};
constexpr size_t kFuseOpCount = static_cast<size_t>(FuseOp::kCount);

// "lookup", "write", ... (the label value the metrics use).
const char* fuse_op_name(FuseOp op);

// Upper bounds of the latency buckets, in seconds: 10 µs, 25 µs, 50 µs,
// 100 µs ... 5 s, 10 s (1-2.5-5 steps); one more bucket above holds the
// rest (+Inf).
std::span<const double> latency_bounds_seconds();
constexpr size_t kLatencyBounds = 19;

// Cache-line aligned: threads serving different operations do not share
// a line.
struct alignas(64) OpCounters {
  std::atomic<uint64_t> count{0};   // replies sent (or handlers run)
  std::atomic<uint64_t> errors{0};  // ... of which with an errno
  std::atomic<uint64_t> sum_ns{0};  // total latency
  // Non-cumulative: buckets[i] counts latencies in (bound[i-1], bound[i]];
  // buckets[kLatencyBounds] those above the last bound.
  std::array<std::atomic<uint64_t>, kLatencyBounds + 1> buckets{};
};

class OpStats {
 public:
  OpStats() = default;
  OpStats(const OpStats&) = delete;
  OpStats& operator=(const OpStats&) = delete;

  // Thread-safe, lock-free, allocation-free.
  void record(FuseOp op, uint64_t latency_ns, bool error);

  const OpCounters& of(FuseOp op) const {
    return ops_[static_cast<size_t>(op)];
  }

 private:
  std::array<OpCounters, kFuseOpCount> ops_{};
};

// Replaces every handler set in `ops` by a wrapper that records its
// operation in the OpStats that `stats_of(req)` returns (read before the
// handler runs: the reply frees the request). REQUIRES: called once per
// table, before the session starts; the wrappers are process-wide.
using StatsOf = OpStats* (*)(fuse_req_t req);
void instrument_ops(fuse_lowlevel_ops& ops, StatsOf stats_of);

// Every handler replies an errno through this (fuse_reply_err's one
// caller in fs/): it marks the running operation as failed when err != 0.
int reply_err(fuse_req_t req, int err);

}  // namespace mirrorfs::fs

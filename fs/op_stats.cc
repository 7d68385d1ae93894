#include "fs/op_stats.h"

#include <cassert>
#include <chrono>

namespace mirrorfs::fs {
namespace {

constexpr const char* kNames[kFuseOpCount] = {
    "lookup",      "forget",      "forget_multi",
    "getattr",     "setattr",     "readlink",
    "mknod",       "mkdir",       "unlink",
    "rmdir",       "symlink",     "rename",
    "link",        "open",        "read",
    "write",       "flush",       "release",
    "fsync",       "opendir",     "readdir",
    "readdirplus", "releasedir",  "fsyncdir",
    "statfs",      "setxattr",    "getxattr",
    "listxattr",   "removexattr", "access",
    "create",      "fallocate",   "copy_file_range",
    "lseek",
};

constexpr double kBoundsSeconds[kLatencyBounds] = {
    10e-6, 25e-6, 50e-6,  100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3,
    25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,    2.5,  5.0,    10.0};
constexpr uint64_t kBoundsNs[kLatencyBounds] = {
    10'000,        25'000,        50'000,        100'000,       250'000,
    500'000,       1'000'000,     2'500'000,     5'000'000,     10'000'000,
    25'000'000,    50'000'000,    100'000'000,   250'000'000,   500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

// Set by the running handler's reply_err; each wrapper clears it first.
thread_local bool t_failed = false;
StatsOf g_stats_of = nullptr;  // written before the session starts

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
}
static_assert(std::chrono::steady_clock::period::den == 1'000'000'000 &&
              std::chrono::steady_clock::period::num == 1);

template <FuseOp Op, typename... A>
struct Wrapped {
  static inline void (*inner)(fuse_req_t, A...) = nullptr;
  static void call(fuse_req_t req, A... a) {
    OpStats* stats = g_stats_of(req);  // before the reply frees req
    t_failed = false;
    const uint64_t t0 = now_ns();
    inner(req, a...);
    if (stats != nullptr) stats->record(Op, now_ns() - t0, t_failed);
  }
};

template <FuseOp Op, typename... A>
void wrap(void (*&slot)(fuse_req_t, A...)) {
  if (slot == nullptr) return;
  Wrapped<Op, A...>::inner = slot;
  slot = &Wrapped<Op, A...>::call;
}

}  // namespace

const char* fuse_op_name(FuseOp op) {
  const size_t i = static_cast<size_t>(op);
  return i < kFuseOpCount ? kNames[i] : "unknown";
}

std::span<const double> latency_bounds_seconds() { return kBoundsSeconds; }

void OpStats::record(FuseOp op, uint64_t latency_ns, bool error) {
  OpCounters& c = ops_[static_cast<size_t>(op)];
  size_t b = 0;
  while (b < kLatencyBounds && latency_ns > kBoundsNs[b]) ++b;
  c.buckets[b].fetch_add(1, std::memory_order_relaxed);
  c.sum_ns.fetch_add(latency_ns, std::memory_order_relaxed);
  if (error) c.errors.fetch_add(1, std::memory_order_relaxed);
  c.count.fetch_add(1, std::memory_order_relaxed);
}

int reply_err(fuse_req_t req, int err) {
  if (err != 0) t_failed = true;
  return fuse_reply_err(req, err);
}

void instrument_ops(fuse_lowlevel_ops& o, StatsOf stats_of) {
  assert(stats_of != nullptr);
  g_stats_of = stats_of;
  wrap<FuseOp::kLookup>(o.lookup);
  wrap<FuseOp::kForget>(o.forget);
  wrap<FuseOp::kForgetMulti>(o.forget_multi);
  wrap<FuseOp::kGetattr>(o.getattr);
  wrap<FuseOp::kSetattr>(o.setattr);
  wrap<FuseOp::kReadlink>(o.readlink);
  wrap<FuseOp::kMknod>(o.mknod);
  wrap<FuseOp::kMkdir>(o.mkdir);
  wrap<FuseOp::kUnlink>(o.unlink);
  wrap<FuseOp::kRmdir>(o.rmdir);
  wrap<FuseOp::kSymlink>(o.symlink);
  wrap<FuseOp::kRename>(o.rename);
  wrap<FuseOp::kLink>(o.link);
  wrap<FuseOp::kOpen>(o.open);
  wrap<FuseOp::kRead>(o.read);
  wrap<FuseOp::kWrite>(o.write_buf);
  wrap<FuseOp::kFlush>(o.flush);
  wrap<FuseOp::kRelease>(o.release);
  wrap<FuseOp::kFsync>(o.fsync);
  wrap<FuseOp::kOpendir>(o.opendir);
  wrap<FuseOp::kReaddir>(o.readdir);
  wrap<FuseOp::kReaddirplus>(o.readdirplus);
  wrap<FuseOp::kReleasedir>(o.releasedir);
  wrap<FuseOp::kFsyncdir>(o.fsyncdir);
  wrap<FuseOp::kStatfs>(o.statfs);
  wrap<FuseOp::kSetxattr>(o.setxattr);
  wrap<FuseOp::kGetxattr>(o.getxattr);
  wrap<FuseOp::kListxattr>(o.listxattr);
  wrap<FuseOp::kRemovexattr>(o.removexattr);
  wrap<FuseOp::kAccess>(o.access);
  wrap<FuseOp::kCreate>(o.create);
  wrap<FuseOp::kFallocate>(o.fallocate);
  wrap<FuseOp::kCopyFileRange>(o.copy_file_range);
  wrap<FuseOp::kLseek>(o.lseek);
}

}  // namespace mirrorfs::fs

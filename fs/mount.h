// `mirrorfs mount BACKING MOUNTPOINT --state DIR`: the public face of fs/.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace mirrorfs::fs {

class OpStats;  // fs/op_stats.h

struct MountOptions {
  std::string backing;     // the directory whose contents the mount shows
  std::string mountpoint;  // where it is shown
  std::string state_dir;   // holds state.db (created if missing)
  bool foreground = false;  // -f: stay in the foreground, log to stderr
                            // (else: daemonize once mounted, log to
                            // STATE/mount.log)
  std::vector<std::string> fuse_options;  // -o values, as given
  double entry_timeout = 1.0;  // seconds the kernel caches names
  double attr_timeout = 1.0;   // ... and attributes
  std::chrono::milliseconds commit_interval{5000};  // files held open
  // --commit-delay MS: entry operations and closes are committed at most
  // this long after they completed (the group commit's bound).
  std::chrono::milliseconds commit_delay{5};
  bool journal = true;  // --no-journal (benchmarks only): record nothing
  // --fd-cache N: descriptors of inodes kept open beyond those in use
  // (the inodes are reopened by file handle; docs/fs.md). Lowered to half
  // the open-file limit if that is smaller.
  size_t fd_cache = 4096;
  // --metrics: when set (not owned; outlives run_mount), every FUSE
  // operation is counted and timed into it (fs/op_stats.h).
  OpStats* op_stats = nullptr;
  // Called once mounted, in the process that serves (after daemonizing),
  // before the first request: e.g. to start the metrics thread (threads
  // do not survive the fork), with the options as checked (paths made
  // absolute: the daemon's working directory is /). An error unmounts
  // and is returned.
  std::function<Status(const MountOptions&)> on_mounted;
};

// Refuses what cannot work, each with a one-line reason: a BACKING that is
// missing or not a directory, a MOUNTPOINT inside BACKING (or equal: the
// mount would see itself), a state directory inside the MOUNTPOINT (the
// daemon would do I/O on its own mount and deadlock) or inside BACKING
// (its changes would be journaled). Creates the state directory.
// Canonicalises the paths in `opt`.
Status check_mount_paths(MountOptions& opt);

// Checks, scans BACKING against the catalog, mounts and serves until
// unmounted (fusermount3 -u, umount) or told to stop (SIGTERM, SIGINT,
// SIGHUP); then commits the journal and returns. In the background mode
// the calling process returns once the mount is up and the daemon goes on.
Status run_mount(MountOptions opt);

}  // namespace mirrorfs::fs

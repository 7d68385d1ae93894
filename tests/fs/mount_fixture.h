// A real mirrorfs mount for black-box tests: temp BACKING, MOUNTPOINT,
// state directory and a NATIVE directory on the same file system (to run
// the same operation natively and compare). The daemon runs in the
// foreground as a child process (its log in STATE/test.log, printed when
// a test fails).
//
// Every test is guarded: a watchdog forces a lazy unmount and kills the
// daemon after `timeout()` seconds, so a stuck daemon fails the test
// (ENOTCONN) instead of hanging CI. Tests skip, loudly, when /dev/fuse is
// absent.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/journal.h"

namespace mirrorfs::fs::testing {

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Seconds before the watchdog unmounts and kills; override per suite.
  virtual int timeout() const { return 120; }

  // Starts the daemon on backing_/mnt_/state_ and waits for the mount.
  // Extra `mirrorfs mount` arguments may be given (e.g. {"-o", "..."}).
  void mount(const std::vector<std::string>& extra = {});
  // The next mount() runs the daemon as this user (an ordinary user's
  // mount, through fusermount3), after handing the directories to it.
  void run_daemon_as(uid_t uid, gid_t gid);
  // The next mount() runs the daemon without the capability `cap` (from
  // linux/capability.h; dropped from its bounding set before exec).
  void drop_daemon_capability(int cap) { drop_caps_.push_back(cap); }
  // Unmounts (umount2) and waits for the daemon to exit; returns its exit
  // status (as from waitpid), or -1 if it had to be killed.
  int unmount();
  // Kills the daemon with SIGKILL and detaches the dead mount.
  void kill_daemon();
  pid_t daemon_pid() const { return pid_; }
  // The daemon's log so far (STATE/test.log).
  std::string daemon_log() const;

  // Paths: m("a/b") in the mount, n("a/b") in the native twin,
  // b("a/b") in BACKING.
  std::string m(const std::string& rel = "") const { return join(mnt_, rel); }
  std::string n(const std::string& rel = "") const { return join(native_, rel); }
  std::string b(const std::string& rel = "") const { return join(backing_, rel); }

  // Asks a running mount to commit what it completed (the commit
  // rendezvous, as `mirrorfs replicate` does); no mount: nothing to do.
  void commit_mount();
  // Journal rows with seq > after (read through db/, as the replicator
  // does: after asking the mount to commit), and the newest seq.
  std::vector<db::JournalRecord> journal_after(uint64_t after);
  uint64_t last_seq();
  // The same as committed on disk, without asking the mount.
  std::vector<db::JournalRecord> committed_rows(uint64_t after);
  uint64_t committed_seq();

  std::string root_, backing_, mnt_, state_, native_;

 private:
  static std::string join(const std::string& dir, const std::string& rel) {
    return rel.empty() ? dir : dir + "/" + rel;
  }
  void start_watchdog();
  void stop_watchdog();

  pid_t pid_ = -1;
  bool mounted_ = false;
  int daemon_uid_ = -1;
  int daemon_gid_ = -1;
  std::vector<int> drop_caps_;
  std::thread watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> fired_{false};
};

// Runs the mirrorfs executable under test; returns (exit status, its
// standard output and error, or the output alone).
std::pair<int, std::string> run_mirrorfs(const std::vector<std::string>& args,
                                         bool stdout_only = false);

// "errno N (name)" or "ok": for comparing outcomes in messages.
std::string outcome(int ret, int err);

// Runs `op` on a path prefix and returns its result and errno.
struct Outcome {
  long ret;
  int err;  // 0 when ret >= 0
  bool operator==(const Outcome&) const = default;
};
template <typename Op>
Outcome run_op(Op op) {
  errno = 0;
  const long r = static_cast<long>(op());
  return {r < 0 ? -1 : r, r < 0 ? errno : 0};
}

}  // namespace mirrorfs::fs::testing

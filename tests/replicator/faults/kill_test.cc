// SIGKILL of replicate, serve and mount at random moments while a
// workload runs through the mount and a continuous replicate ships it;
// then restart what was killed, stop writing, `replicate --once`: the
// mirror equals BACKING. A checker reads the mirror the whole time and
// finds no torn file.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/replicator/faults/fault_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

enum class Victim { kNone, kReplicate, kServe, kMount };

class KillTest : public FaultTest {
 protected:
  void run_trials(Victim victim) {
    SCOPED_TRACE("seed " + std::to_string(seed_) +
                 " (replay: MIRRORFS_FAULT_SEED=" + std::to_string(seed_) + ")");
    // While files are being written, BACKING passes through states cut
    // at a page boundary: a write() copies page by page and the size
    // moves with each page, so a reader (the replicator) that runs while
    // the writer is stalled inside one write() sees a stable file that is
    // no chunk's end; a SIGKILL'd mount leaves such a cut for good. Both
    // are states that existed on the source.
    CheckOptions check;
    check.allow_page_cuts = true;
    mount();
    ASSERT_NO_FATAL_FAILURE(start_serve());
    auto workload = make_workload();
    TornChecker checker(mirror_, check);
    checker.start();
    const int n = trials(8);
    for (int trial = 0; trial < n; ++trial) {
      SCOPED_TRACE("trial " + std::to_string(trial));
      ASSERT_NO_FATAL_FAILURE(start_replicate());
      std::atomic<bool> stop{false};
      std::thread writer([&] { workload->run(stop); });
      std::this_thread::sleep_for(std::chrono::milliseconds(millis(100, 1200)));
      switch (victim) {
        case Victim::kNone:  // the control: the same, without a crash
          break;
        case Victim::kReplicate:
          kill_replicate();
          std::this_thread::sleep_for(std::chrono::milliseconds(millis(0, 300)));
          start_replicate();
          break;
        case Victim::kServe:
          kill_serve();
          std::this_thread::sleep_for(std::chrono::milliseconds(millis(0, 300)));
          start_serve({}, port_);  // replicate reconnects to the same port
          break;
        case Victim::kMount:
          kill_daemon();  // SIGKILL, then a lazy unmount of the dead mount
          mount();        // its start-up scan journals what was in flight
          break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(millis(200, 800)));
      stop = true;
      writer.join();
      if (HasFatalFailure()) break;
      const int status = stop_replicate();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
      ASSERT_NO_FATAL_FAILURE(expect_converged(check));
      if (HasFailure()) break;
    }
    EXPECT_EQ(checker.stop(), "");
    EXPECT_GT(checker.files_checked(), 0u);
    EXPECT_GT(workload->ops_done(), workload->ops_failed());
    std::fprintf(stderr, "%d trials, %llu operations (%llu failed), %llu mirror files checked\n",
                 n, static_cast<unsigned long long>(workload->ops_done()),
                 static_cast<unsigned long long>(workload->ops_failed()),
                 static_cast<unsigned long long>(checker.files_checked()));
  }
};

// Each was a real bug, found here:
//  - an attribute fix (or a file's content) read by path from BACKING
//    after a rename had reused the path or moved the entry: the fix was
//    dropped, or another file's content went out under this name and its
//    hard links (the sender now checks the inode and replays the batch
//    from the record that needed it);
//  - a SIGKILL'd mount lost a directory utimens it had replied to but not
//    committed, and the start-up scan did not compare directory mtimes
//    (it does now; a clean stop records them in the catalog).
TEST_F(KillTest, ContinuousReplicationDuringWorkloadConverges) {
  run_trials(Victim::kNone);
}

TEST_F(KillTest, ReplicateKilledDuringWorkloadConverges) {
  run_trials(Victim::kReplicate);
}

TEST_F(KillTest, ServeKilledDuringWorkloadConverges) { run_trials(Victim::kServe); }

// A SIGKILL'd mount loses the journal rows of what it replied to but had
// not committed; the restart's scan must rebuild them from BACKING. It
// used to trust names: a rename over a hard-linked file or a link to a
// renamed one, lost that way, left the mirror with wrong link groups and
// modes (the scan now goes by backing inode; ScanRandomTest).
TEST_F(KillTest, MountKilledDuringWorkloadConverges) { run_trials(Victim::kMount); }

}  // namespace
}  // namespace mirrorfs::replicator::testing

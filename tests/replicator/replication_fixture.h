// End-to-end replication, with real processes: a mount (MountTest), a
// `mirrorfs serve` on 127.0.0.1 with its own state and root, and
// `mirrorfs replicate` runs. Keys are made with `mirrorfs keygen`, as a
// user would. The serve daemon is killed at TearDown; its log is printed
// when a test fails.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace mirrorfs::replicator::testing {

using fs::testing::run_mirrorfs;

class ReplicationTest : public fs::testing::MountTest {
 protected:
  void SetUp() override;
  void TearDown() override;
  int timeout() const override { return 300; }

  // Starts serve on mirror_ (allowing `allow`, by default this host's
  // replicator key) and waits until it listens; sets port_.
  void start_serve(const std::vector<std::string>& allow = {});
  std::vector<std::string> serve_args_;  // more options for serve
  void stop_serve();
  // `mirrorfs replicate --once` to the one mirror "m"; returns its exit
  // status and output. `pin` defaults to the mirror's key.
  std::pair<int, std::string> replicate_once(const std::string& pin = "",
                                             const std::vector<std::string>& extra = {});
  // `mirrorfs status --state state_ --json`.
  std::string status_json();

  std::string mirror_, mirror_state_;  // ROOT and state of serve
  std::string client_fp_, mirror_fp_;  // keys, "sha256:..."
  uint16_t port_ = 0;

 private:
  pid_t serve_pid_ = -1;
};

// The integer value of "key": in a flat JSON text (first occurrence).
uint64_t json_number(const std::string& json, const std::string& key);

}  // namespace mirrorfs::replicator::testing

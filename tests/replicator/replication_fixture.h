// End-to-end replication, with real processes: a mount (MountTest), a
// `mirrorfs serve` on 127.0.0.1 with its own state and root, and
// `mirrorfs replicate` runs (one-shot, or a continuous daemon). Keys are
// made with `mirrorfs keygen`, as a user would. The daemons are stopped at
// TearDown; their logs are printed when a test fails.
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
  // replicator key) and waits until it listens on `port` (0: any); sets
  // port_.
  void start_serve(const std::vector<std::string>& allow = {}, uint16_t port = 0);
  std::vector<std::string> serve_args_;  // more options for serve
  void stop_serve();
  // SIGKILL to serve (a crash at whatever it was doing), reaped.
  void kill_serve();
  // `mirrorfs replicate --once` to the one mirror "m"; returns its exit
  // status and output. `pin` defaults to the mirror's key.
  std::pair<int, std::string> replicate_once(const std::string& pin = "",
                                             const std::vector<std::string>& extra = {});
  // `mirrorfs replicate` (no --once) to the one mirror "m" in the
  // background, logging to STATE/replicate.log. REQUIRES: none running.
  void start_replicate();
  // SIGTERM, then waits (SIGKILL and a failure after 10 s); returns the
  // exit status as from waitpid. No-op (-1) when none runs.
  int stop_replicate();
  // SIGKILL to the replicate daemon, reaped.
  void kill_replicate();
  bool replicate_running() const { return replicate_pid_ > 0; }
  // `mirrorfs status --state state_ --json`.
  std::string status_json();

  std::string mirror_, mirror_state_;  // ROOT and state of serve
  std::string client_fp_, mirror_fp_;  // keys, "sha256:..."
  uint16_t port_ = 0;
  // Where replicate connects: port_ unless a test puts a relay between
  // (e.g. a proxy that cuts connections).
  uint16_t replicate_port_ = 0;

 private:
  std::vector<std::string> replicate_args(bool once, const std::string& pin) const;

  pid_t serve_pid_ = -1;
  pid_t replicate_pid_ = -1;
};

// Starts `args` (argv[0] a path) as a child with stdout and stderr appended
// to `log`; returns its pid, or -1.
pid_t spawn_logged(const std::vector<std::string>& args, const std::string& log);

// SIGKILLs and reaps `pid` (if > 0) and sets it to -1.
void kill_and_reap(pid_t& pid);

// The integer value of "key": in a flat JSON text (first occurrence).
uint64_t json_number(const std::string& json, const std::string& key);

}  // namespace mirrorfs::replicator::testing

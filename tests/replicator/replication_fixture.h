// End-to-end replication, with real processes: a mount (MountTest), one
// or more `mirrorfs serve` on 127.0.0.1, each with its own state and root,
// and `mirrorfs replicate` runs (--once, or a daemon in the background).
// Keys are made with `mirrorfs keygen`, as a user would. Every serve and
// a background replicate are stopped at TearDown; their logs are printed
// when a test fails.
#pragma once

#include <sys/types.h>

#include <functional>
#include <list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace mirrorfs::replicator::testing {

using fs::testing::run_mirrorfs;

// One mirror: a serve process with its ROOT and state directory.
struct Serve {
  std::string name{};           // the replicator's name for it
  std::string root{}, state{};  // ROOT and --state of serve
  std::string fp{};             // its key, "sha256:..."
  uint16_t port = 0;            // while it listens
  pid_t pid = -1;               // while it runs
};

class ReplicationTest : public fs::testing::MountTest {
 protected:
  void SetUp() override;
  void TearDown() override;
  int timeout() const override { return 300; }

  // Starts serve on mirror_ (allowing `allow`, by default this host's
  // replicator key) and waits until it listens on `port` (0: any); sets
  // port_.
  void start_serve(const std::vector<std::string>& allow = {}, uint16_t port = 0) {
    start_serve(main_, allow, port);
  }
  void stop_serve() { stop_serve(main_); }
  // SIGKILL to the main serve (a crash at whatever it was doing), reaped.
  void kill_serve();
  // More options for every serve started, and for start_replicate.
  std::vector<std::string> serve_args_;
  std::vector<std::string> replicate_args_;

  // `mirrorfs replicate --once` to the one mirror "m"; returns its exit
  // status and output. `pin` defaults to the mirror's key.
  std::pair<int, std::string> replicate_once(const std::string& pin = "",
                                             const std::vector<std::string>& extra = {});
  // `mirrorfs replicate` (no --once) in the background to every mirror in
  // `to` (default: the main one), logging to STATE/replicate.log.
  // REQUIRES: none running.
  void start_replicate(const std::vector<const Serve*>& to = {});
  // SIGTERM, then waits (SIGKILL and a failure after 10 s); returns the
  // exit status as from waitpid. No-op (-1) when none runs.
  int stop_replicate();
  // SIGKILL to the replicate daemon, reaped.
  void kill_replicate();
  bool replicate_running() const { return replicate_pid_ > 0; }
  // `mirrorfs status --state state_ --json`.
  std::string status_json();

  // Another mirror, named `name`: ROOT root_/NAME, state root_/NAME-state,
  // its key made. The reference stays valid for the whole test.
  Serve& add_mirror(const std::string& name);
  // Starts `s` on `port` (0: any free port; a restart passes its old one,
  // so a running replicate finds it again) and waits until it listens.
  void start_serve(Serve& s, const std::vector<std::string>& allow = {}, uint16_t port = 0);
  // SIGTERM, then SIGKILL after 10 s (a failure).
  void stop_serve(Serve& s);

  Serve main_{.name = "m"};  // the first mirror
  std::string& mirror_ = main_.root;
  std::string& mirror_state_ = main_.state;
  std::string& mirror_fp_ = main_.fp;
  uint16_t& port_ = main_.port;
  std::string client_fp_;  // this host's replicator key
  // Where replicate connects to the main mirror: port_ unless a test puts
  // a relay between (e.g. a proxy that cuts connections).
  uint16_t replicate_port_ = 0;

 private:
  // --mirror/--pin for `s` (the main one through replicate_port_).
  std::vector<std::string> mirror_args(const Serve& s, const std::string& pin) const;

  std::list<Serve> more_;  // from add_mirror: stable addresses
  pid_t replicate_pid_ = -1;
};

// Starts `args` (argv[0] a path) as a child with stdout and stderr appended
// to `log`; returns its pid, or -1.
pid_t spawn_logged(const std::vector<std::string>& args, const std::string& log);

// SIGKILLs and reaps `pid` (if > 0) and sets it to -1.
void kill_and_reap(pid_t& pid);

// The integer value of "key": in a flat JSON text (first occurrence).
uint64_t json_number(const std::string& json, const std::string& key);

// Creates or replaces the file at `path` with `data` (mode 0644).
void put_file(const std::string& path, const std::string& data);

// `n` random (incompressible) bytes: zstd cannot hide a file sent whole.
std::string random_bytes(size_t n, std::mt19937_64& rng);

// Waits up to `seconds` for pred() to hold, polling every 50 ms.
bool wait_until(const std::function<bool()>& pred, int seconds);

}  // namespace mirrorfs::replicator::testing

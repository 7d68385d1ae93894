// What the daemon and operations commands (serve, replicate, status,
// restore, verify...) share on their command lines: getopt_long over one
// option table, and the parsers of HOST:PORT, NAME=VALUE, sizes and the
// --mirror/--pin pairs.
#pragma once

#include <getopt.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "replicator/replicate.h"

namespace mirrorfs::cli {

// SIGINT, SIGTERM and SIGHUP set the flag returned (a daemon's loops poll
// it to stop cleanly); SIGPIPE is ignored.
const std::atomic<bool>& install_stop_handlers();

// Prints the help of `cmd` to stdout; kExitOk.
int print_help(const char* cmd);

// "HOST:PORT" or "[V6]:PORT"; port 0 only with allow_zero.
Result<std::pair<std::string, uint16_t>> parse_host_port(std::string_view s,
                                                         bool allow_zero = false);

// "NAME=VALUE"; `what` names VALUE in errors.
Result<std::pair<std::string, std::string>> parse_named(std::string_view s,
                                                        const char* what);

// "123", "10k", "5M", "1G" (powers of 1024); `what` names it in errors.
Result<uint64_t> parse_bytes(std::string_view s, const std::string& what);

// Runs getopt_long over argv (argv[0] is the command name); `handle` gets
// each option and returns an exit code to stop with, or -1 to go on.
// -h/--help prints the help; an unknown option or a missing argument is a
// usage error. On return -1, optind is the first operand.
template <typename Fn>
int parse_options(const char* cmd, int argc, char** argv, const char* shorts,
                  const struct option* longs, Fn handle);

// The mirrors named by --mirror NAME=HOST:PORT and --pin NAME=FINGERPRINT,
// in the order given. `--mirror NAME` alone (no '=') selects one of the
// mirrors defined (by other --mirror options or a config file) instead of
// defining one: for commands that talk to one mirror (restore, verify).
class MirrorArgs {
 public:
  // Each returns an empty string, or the usage error message.
  std::string add_mirror(std::string_view arg);
  std::string add_pin(std::string_view arg);

  // Every defined mirror, each with its pin; an error message (as
  // usage_error takes it) for a mirror without a pin, a pin without a
  // mirror, or none defined.
  Result<std::vector<replicator::MirrorTarget>> all() const;
  // The one mirror the command talks to: the selected one, or the only
  // one defined; an error if none or several could be meant.
  Result<replicator::MirrorTarget> one() const;

 private:
  std::vector<std::string> order_;
  std::map<std::string, replicator::MirrorTarget> mirrors_;
  std::map<std::string, std::string> pins_;
  std::vector<std::string> selected_;
};

}  // namespace mirrorfs::cli

#include "cli/command_args_inl.h"

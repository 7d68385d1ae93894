// The mirrorfs executable: parses the command line and dispatches to a
// command. Every failure ends here as one line on stderr and an exit code
// (cli/report.h); no exception escapes main.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "cli/help.h"
#include "cli/keygen_command.h"
#include "cli/mount_command.h"
#include "cli/options.h"
#include "cli/output_file.h"
#include "cli/rdiff_commands.h"
#include "cli/replicate_commands.h"
#include "cli/report.h"
#include "cli/verify_command.h"

namespace mirrorfs::cli {
namespace {

bool is_command(std::string_view cmd) { return !command_help(cmd).empty(); }

int unknown_command(const std::string& cmd) {
  return usage_error(cmd, "unknown command");
}

int run(int argc, char** argv) {
  // Commands with their own options parse their own command line.
  if (argc >= 2) {
    const std::string_view cmd = argv[1];
    if (cmd == "mount") return run_mount_command(argc - 1, argv + 1);
    if (cmd == "serve") return run_serve_command(argc - 1, argv + 1);
    if (cmd == "replicate") return run_replicate_command(argc - 1, argv + 1);
    if (cmd == "status") return run_status_command(argc - 1, argv + 1);
    if (cmd == "keygen") return run_keygen_command(argc - 1, argv + 1);
    if (cmd == "verify") return run_verify_command(argc - 1, argv + 1);
  }
  auto parsed = parse_command_line(argc, argv);
  if (!parsed) return usage_error("", parsed.status().message());
  const CommandLine& cl = *parsed;

  if (cl.version) return print_text(version_text());
  if (cl.command.empty()) {
    if (cl.help) return print_text(top_level_help());
    return usage_error("", "no command given");
  }
  if (cl.command == "help") {
    if (cl.args.empty()) return print_text(top_level_help());
    if (cl.args.size() > 1) {
      return usage_error("help", "takes at most one COMMAND");
    }
    if (!is_command(cl.args[0])) return unknown_command(cl.args[0]);
    return print_text(command_help(cl.args[0]));
  }
  if (!is_command(cl.command)) return unknown_command(cl.command);
  if (cl.help) return print_text(command_help(cl.command));

  if (cl.command == "signature") return run_signature(cl.rdiff, cl.args);
  if (cl.command == "delta") return run_delta(cl.rdiff, cl.args);
  if (cl.command == "patch") return run_patch(cl.rdiff, cl.args);
  report(cl.command, "command has help but no implementation");
  return kExitInternal;
}

}  // namespace
}  // namespace mirrorfs::cli

int main(int argc, char** argv) {
  using namespace mirrorfs::cli;
  install_output_cleanup_handlers();
  // Objects (and so OutputFile destructors, which remove partial output)
  // are unwound before these handlers run.
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    report("", "out of memory");
  } catch (const std::exception& e) {
    report("internal error", e.what());
  } catch (...) {
    report("internal error", "unknown exception");
  }
  return kExitInternal;
}

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
#include <vector>

#include "cli/config.h"
#include "cli/help.h"
#include "cli/keygen_command.h"
#include "cli/mount_command.h"
#include "cli/options.h"
#include "cli/output_file.h"
#include "cli/rdiff_commands.h"
#include "cli/replicate_commands.h"
#include "cli/report.h"
#include "cli/restore_command.h"
#include "cli/verify_command.h"

namespace mirrorfs::cli {
namespace {

bool is_command(std::string_view cmd) { return !command_help(cmd).empty(); }

int unknown_command(const std::string& cmd) {
  return usage_error(cmd, "unknown command");
}

// The commands that parse their own command line, and so take --config
// FILE: a new one is one entry here (its spec lists its options).
struct OwnCommand {
  const char* name;
  int (*run)(int argc, char** argv);
  const CommandSpec& (*spec)();
  int usage_exit = kExitEnvironment;  // verify keeps 1 for "differences found"
};
constexpr OwnCommand kOwnCommands[] = {
    {"mount", run_mount_command, mount_spec},
    {"serve", run_serve_command, serve_spec},
    {"replicate", run_replicate_command, replicate_spec},
    {"status", run_status_command, status_spec},
    {"forget", run_forget_command, forget_spec},
    {"restore", run_restore_command, restore_spec},
    {"verify", run_verify_command, verify_spec, 2},
    {"keygen", run_keygen_command, keygen_spec},
};

// Runs `cmd` on its arguments (argv[0] is its name) with the config file's
// settings placed before them (cli/config.h).
int run_own_command(const OwnCommand& cmd, int argc, char** argv) {
  std::vector<const CommandSpec*> specs;
  for (const OwnCommand& c : kOwnCommands) specs.push_back(&c.spec());
  auto args = expand_config(cmd.spec(), specs, std::vector<std::string>(argv, argv + argc));
  if (!args.is_ok()) {
    usage_error(cmd.name, args.status().message(),
                std::string("mirrorfs ") + cmd.name + " --help");
    return cmd.usage_exit;
  }
  std::vector<char*> expanded;
  for (std::string& a : *args) expanded.push_back(a.data());
  expanded.push_back(nullptr);
  return cmd.run(static_cast<int>(args->size()), expanded.data());
}

int run(int argc, char** argv) {
  if (argc >= 2) {
    for (const OwnCommand& cmd : kOwnCommands) {
      if (std::string_view(argv[1]) == cmd.name) return run_own_command(cmd, argc - 1, argv + 1);
    }
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

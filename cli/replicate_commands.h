// `mirrorfs serve`, `mirrorfs replicate` and `mirrorfs status`: their own
// command lines over replicator/ and db/.
#pragma once

#include "cli/command_spec.h"

namespace mirrorfs::cli {

// argv[0] is the command name. Each returns the exit code.
int run_serve_command(int argc, char** argv);
int run_replicate_command(int argc, char** argv);
int run_status_command(int argc, char** argv);
int run_forget_command(int argc, char** argv);
// Their options and operands, for the config file (cli/config.h).
const CommandSpec& serve_spec();
const CommandSpec& replicate_spec();
const CommandSpec& status_spec();
const CommandSpec& forget_spec();

}  // namespace mirrorfs::cli

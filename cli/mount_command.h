// `mirrorfs mount`: its own command line (the rdiff options do not apply).
#pragma once

#include "cli/command_spec.h"

namespace mirrorfs::cli {

// argv[0] is "mount". Returns the exit code.
int run_mount_command(int argc, char** argv);
// Its options and operands, for the config file (cli/config.h).
const CommandSpec& mount_spec();

}  // namespace mirrorfs::cli

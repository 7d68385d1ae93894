// `mirrorfs restore`: its command line over replicator/restore.h.
#pragma once

#include "cli/command_spec.h"

namespace mirrorfs::cli {

// Its options, for the config file (cli/config.h).
const CommandSpec& restore_spec();

// argv[0] is the command name. Returns the exit code.
int run_restore_command(int argc, char** argv);

}  // namespace mirrorfs::cli

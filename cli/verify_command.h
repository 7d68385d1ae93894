// `mirrorfs verify`: its command line and output over replicator/verify.h.
#pragma once

#include "cli/command_spec.h"

namespace mirrorfs::cli {

// Its options, for the config file (cli/config.h).
const CommandSpec& verify_spec();

// argv[0] is "verify". Exit code: 0 identical, 1 differences, 2 usage
// error or could not compare.
int run_verify_command(int argc, char** argv);

}  // namespace mirrorfs::cli

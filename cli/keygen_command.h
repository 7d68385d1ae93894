// `mirrorfs keygen`: makes this host's identity (replicator/tls/identity.h)
// if it has none and prints its fingerprint.
#pragma once

#include "cli/command_spec.h"

namespace mirrorfs::cli {

// argv[0] is "keygen". Returns the exit code.
int run_keygen_command(int argc, char** argv);
// Its options, for the config file (cli/config.h).
const CommandSpec& keygen_spec();

}  // namespace mirrorfs::cli

// `mirrorfs restore`: its command line over replicator/restore.h.
#pragma once

namespace mirrorfs::cli {

// argv[0] is the command name. Returns the exit code.
int run_restore_command(int argc, char** argv);

}  // namespace mirrorfs::cli

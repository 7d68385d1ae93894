// `mirrorfs serve`, `mirrorfs replicate` and `mirrorfs status`: their own
// command lines over replicator/ and db/.
#pragma once

namespace mirrorfs::cli {

// argv[0] is the command name. Each returns the exit code.
int run_serve_command(int argc, char** argv);
int run_replicate_command(int argc, char** argv);
int run_status_command(int argc, char** argv);

}  // namespace mirrorfs::cli

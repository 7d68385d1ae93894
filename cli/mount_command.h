// `mirrorfs mount`: its own command line (the rdiff options do not apply).
#pragma once

namespace mirrorfs::cli {

// argv[0] is "mount". Returns the exit code.
int run_mount_command(int argc, char** argv);

}  // namespace mirrorfs::cli

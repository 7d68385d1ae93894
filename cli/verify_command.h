// `mirrorfs verify`: its command line and output over replicator/verify.h.
#pragma once

namespace mirrorfs::cli {

// argv[0] is "verify". Exit code: 0 identical, 1 differences, 2 usage
// error or could not compare.
int run_verify_command(int argc, char** argv);

}  // namespace mirrorfs::cli

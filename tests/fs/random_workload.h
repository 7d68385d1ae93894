// A seeded random workload of every kind of change a home folder sees:
// create+write, mkdir, scattered writes (some past the end), truncate,
// rename of files (sometimes over another) and of whole directories,
// unlink, rmdir, hard link, symlink, chmod, utimens, setxattr and
// removexattr. Used on a mount by the change-capture test (the journal
// must record it all) and by the replication end-to-end tests (the mirror
// must end identical).
#pragma once

#include <string>
#include <vector>

namespace mirrorfs::fs::testing {

struct WorkloadTree {
  std::vector<std::string> dirs = {""};  // relative; "" = the root
  std::vector<std::string> files;
};

// Runs `ops` random operations under `root` (a mount), starting from what
// `tree` lists as present, and leaves in `tree` what it believes is there.
void run_random_workload(const std::string& root, unsigned seed, int ops,
                         WorkloadTree& tree);

// A seed from `env_var` if set, else a random one (print it on failure).
unsigned seed_from_env(const char* env_var);

}  // namespace mirrorfs::fs::testing

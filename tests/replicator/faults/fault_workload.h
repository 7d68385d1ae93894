// The fault tests' workload: random operations through a mount, every
// file's content a self-validating version (versioned_content.h) written
// chunk by chunk, so a checker on the mirror can tell a torn file. Kinds:
// create, rewrite in place (several write()s, then ftruncate if shorter),
// replace by rename (save-by-rename editors), rename of files and
// directories, unlink, mkdir, rmdir, hard link, symlink, chmod, utimens.
//
// Errors are expected (the mount may be killed under it): an operation
// that fails is skipped, and the workload keeps going.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace mirrorfs::replicator::testing {

struct FaultWorkloadOptions {
  std::string root;                 // where to work (a mount)
  unsigned seed = 1;
  uint64_t max_size = 256 << 10;    // most files are below this
  uint64_t big_size = 2 << 20;      // a few (1 in 16) up to this
  int max_files = 60;               // past this, files are deleted
  int pause_us = 500;               // between operations
};

class FaultWorkload {
 public:
  explicit FaultWorkload(FaultWorkloadOptions opt);

  // Runs operations until `stop` is set. Thread-compatible: one caller.
  void run(const std::atomic<bool>& stop);
  // Runs exactly `ops` operations.
  void run_ops(int ops);
  // Writes a fresh complete version of `size` bytes at `rel` (replacing
  // it by rename if it exists). Returns 0 or an errno.
  int write_file(const std::string& rel, uint64_t size);

  uint64_t ops_done() const { return ops_; }
  uint64_t ops_failed() const { return failed_; }

 private:
  bool step();  // one random operation; false if it failed
  uint64_t random_size();
  std::string fresh(const std::string& dir);
  std::string path(const std::string& rel) const;
  int write_version(int fd, const std::string& content, uint32_t chunk);
  bool create();
  bool rewrite_in_place();
  bool replace_by_rename();
  bool rename_dir();

  FaultWorkloadOptions opt_;
  uint64_t rng_state_;
  uint64_t next_id_;
  std::vector<std::string> dirs_{""};
  std::vector<std::string> files_;
  uint64_t ops_ = 0;
  uint64_t failed_ = 0;
  int fresh_ = 0;
};

}  // namespace mirrorfs::replicator::testing

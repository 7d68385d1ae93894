// Watches a mirror root while replication runs: walks it again and again
// and checks every regular file it finds with check_content()
// (versioned_content.h). The mirror's own temporaries (".mirrorfs-tmp-*")
// are skipped while they are in flight; a finished tree must have none
// (check_tree reports them).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "tests/replicator/faults/versioned_content.h"

namespace mirrorfs::replicator::testing {

// One pass over `root`: "" or the first file that is not a valid state
// (path and why). With `finished`, a leftover temporary is an error too.
// `checked` (if given) is increased by the number of files read.
std::string check_tree(const std::string& root, const CheckOptions& opt, bool finished,
                       uint64_t* checked = nullptr);

// Runs check_tree() over `root` in a thread from start() to stop().
// Thread-compatible: start/stop from one thread.
class TornChecker {
 public:
  TornChecker(std::string root, CheckOptions opt) : root_(std::move(root)), opt_(opt) {}
  ~TornChecker() { (void)stop(); }
  void start();
  // Stops the thread; returns "" or the first torn file seen.
  std::string stop();
  uint64_t files_checked() const { return checked_.load(); }

 private:
  const std::string root_;
  const CheckOptions opt_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> checked_{0};
  std::string failure_;  // written by the thread, read after join
};

}  // namespace mirrorfs::replicator::testing

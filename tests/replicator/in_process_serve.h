// A mirror (run_server) on 127.0.0.1 in this process, for tests that
// need a real serve but no other process: under a fresh base directory,
// ROOT (base/root), the mirror's state (base/serve-state) and a client's
// key (base/client-state), the only one the mirror allows.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"
#include "replicator/client_session.h"

namespace mirrorfs::replicator::testing {

class InProcessServe {
 public:
  // Makes the directories and keys and starts serving; check status().
  InProcessServe();
  ~InProcessServe();  // stops the mirror and removes the base directory

  const Status& status() const { return status_; }
  uint16_t port() const { return port_; }
  const std::string& base() const { return base_; }
  std::string root() const { return base_ + "/root"; }
  std::string client_state() const { return base_ + "/client-state"; }
  const std::string& mirror_fingerprint() const { return mirror_fp_; }

  // A replicating session of the client (journal id `journal_id`).
  Result<std::unique_ptr<ClientSession>> connect(const std::string& journal_id);

 private:
  std::string base_, mirror_fp_;
  Status status_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread server_;
};

}  // namespace mirrorfs::replicator::testing

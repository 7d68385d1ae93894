// A TCP relay for tests, between replicate and serve on 127.0.0.1: each
// accepted connection is relayed to the target port; the next connections
// may be told to be cut (both sides closed at once, as a network failure
// would) after a given number of relayed bytes (both directions summed).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mirrorfs::replicator::testing {

class CutProxy {
 public:
  // Listens on 127.0.0.1 (any port) and relays to 127.0.0.1:target.
  // nullptr (and `error` says why) if it cannot listen.
  static std::unique_ptr<CutProxy> start(uint16_t target, std::string* error);
  ~CutProxy();  // stops relaying and closes everything

  uint16_t port() const { return port_; }
  // Connections accepted from now on: the i-th is cut after after_bytes[i]
  // bytes; those past the list pass everything.
  void cut_next(std::vector<uint64_t> after_bytes);
  // Connections cut so far, and bytes relayed so far (all connections).
  int cuts_done() const { return cuts_done_.load(); }
  uint64_t bytes_relayed() const { return relayed_.load(); }

 private:
  CutProxy(int listen_fd, uint16_t port, uint16_t target);
  void accept_loop();
  void relay(int a, int b, uint64_t cut_after);  // cut_after 0: never

  const int listen_fd_;
  const uint16_t port_;
  const uint16_t target_;
  std::atomic<bool> stop_{false};
  std::atomic<int> cuts_done_{0};
  std::atomic<uint64_t> relayed_{0};
  std::mutex mu_;
  std::vector<uint64_t> cuts_;  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;  // relays; GUARDED_BY(mu_)
  std::thread acceptor_;
};

}  // namespace mirrorfs::replicator::testing

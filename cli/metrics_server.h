// The HTTP endpoint of `--metrics HOST:PORT` (mount, replicate, serve):
// HTTP/1.1 over Boost.Beast on its own thread and io_context. GET
// /metrics answers 200 with the text the render callback returns
// (Prometheus text format 0.0.4); any other path 404, another method on
// /metrics 405. One request per connection (Connection: close). Requests
// are bounded (max_request_bytes: 431 and close beyond), every connection
// has a deadline (timeout: a client that connects and sends nothing is
// dropped then, and never blocks another scrape: connections are served
// concurrently, up to max_connections).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

namespace mirrorfs::cli {

struct MetricsServerOptions {
  std::string host = "127.0.0.1";           // an address or a name to resolve
  uint16_t port = 0;                        // 0: any free port (port() tells)
  size_t max_request_bytes = 8192;          // request line + headers + body
  std::chrono::milliseconds timeout{5000};  // per connection, in all
  int max_connections = 32;                 // more at once are closed at accept
};

class MetricsServer {
 public:
  // Called on the server thread for each scrape; returns the exposition.
  using Render = std::function<std::string()>;

  // Binds and listens now, so that a bad or busy address fails the command
  // at start ("cannot listen on HOST:PORT for --metrics: ..."). Starts no
  // thread and holds no io_context: a process may fork (daemonize) between
  // bind() and start().
  static Result<std::unique_ptr<MetricsServer>> bind(
      const MetricsServerOptions& opt);

  // Stops the thread (if started) and closes the socket.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const { return port_; }

  // Serves from now on, on a new thread. REQUIRES: called once.
  Status start(Render render);

  struct Impl;  // the running server: metrics_server.cc's alone

 private:
  MetricsServer() = default;
  MetricsServerOptions opt_;
  int fd_ = -1;  // the listening socket until start() adopts it
  bool v6_ = false;
  uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirrorfs::cli

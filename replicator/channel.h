// A framed TLS connection (docs/protocol.md) with its own I/O thread.
//
// The I/O thread does all socket work: one reader coroutine decodes
// frames into an inbound queue, one writer coroutine drains the outbound
// queue, so TLS reads and writes never interleave and no other thread
// touches the stream. Worker threads use plain blocking calls: send()
// queues a message (blocking while too much is queued: backpressure) and
// receive() waits for the next message. Both sides of mirrorfs are
// written that way: the replicator computes deltas while earlier frames
// are still on the wire; the mirror applies requests while later ones
// arrive.
//
// Thread-safety: send() and receive() may be called from any threads;
// messages are sent in the order send() calls return. One thread at a time
// should receive(), or the order of what each gets is arbitrary.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "replicator/wire/messages.h"

namespace boost::asio::ssl {
class context;
}

namespace mirrorfs::replicator {

struct ChannelOptions {
  size_t max_queued_bytes = 16u << 20;  // send() blocks above this
  size_t max_inbound_bytes = 16u << 20;  // the reader pauses above this
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect + TLS
  uint64_t bwlimit = 0;  // bytes per second written, 0 = no limit
};

// Bytes counted below TLS, at the TCP layer (getsockopt TCP_INFO): what
// really crossed the network, TLS records and headers included.
struct WireBytes {
  uint64_t sent = 0;      // acknowledged by the peer
  uint64_t received = 0;
};

class Channel {
 public:
  // Connects to host:port and runs the client side of the TLS handshake
  // with `ctx` (tls::make_client_context, which checks the pin). Errors
  // name the address and say why (refused, timeout, key not pinned...).
  static Result<std::unique_ptr<Channel>> connect(
      const std::string& host, uint16_t port,
      std::shared_ptr<boost::asio::ssl::context> ctx,
      const ChannelOptions& opt = {});

  // Takes a connected TCP socket (accepted by the caller; this takes
  // ownership of the fd and closes it on error) and runs the server side
  // of the handshake with `ctx` (tls::make_server_context, which checks
  // the client's key against the allowed ones).
  static Result<std::unique_ptr<Channel>> accept(
      int fd, std::shared_ptr<boost::asio::ssl::context> ctx,
      const ChannelOptions& opt = {});

  ~Channel();  // closes the connection and joins the I/O thread
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // The peer's key fingerprint, "sha256:<hex>".
  const std::string& peer_fingerprint() const;
  // "host:port" of the peer, for logs.
  const std::string& peer_address() const;

  // Queues m for sending. kInvalidArgument if m breaks a protocol limit;
  // an error once the connection is closed (the reason it closed).
  Status send(const wire::Message& m);

  // The next message received. kIoError with errno ETIMEDOUT after
  // `timeout`; once the connection is closed and everything received was
  // taken, the reason it closed (a clean close by the peer is kNotFound
  // "connection closed by peer"). A frame the codec refuses (a limit or
  // rule broken: kCorrupt, kUnsupported, ...) ends receiving: once
  // everything before it was taken, receive() returns that error for
  // ever, while send() and drain() still work, so the receiver can answer
  // Error (docs/protocol.md) before it closes.
  Result<wire::Message> receive(std::chrono::milliseconds timeout);

  // Closes the connection now; queued messages may be lost. Pending and
  // later send()/receive() calls fail. Idempotent.
  void close();

  // Blocks until everything queued so far was written to the socket, or
  // the connection closed (then returns why).
  Status drain(std::chrono::milliseconds timeout);

  WireBytes wire_bytes() const;

  struct Impl;

 private:
  explicit Channel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mirrorfs::replicator

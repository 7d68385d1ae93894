#include "replicator/channel.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "replicator/tcp_bytes.h"
#include "replicator/tls/tls_context.h"
#include "replicator/wire/codec.h"

namespace mirrorfs::replicator {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Frames queued together are written in one TLS write up to this size, so
// a burst of small requests costs one record, not one each.
constexpr size_t kCoalesceBytes = 256u << 10;

Status status_of(const boost::system::error_code& ec, const std::string& what) {
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset) {
    return Status(Code::kNotFound, what + ": connection closed by peer");
  }
  if (ec == asio::error::operation_aborted) {
    return Status(Code::kIoError, what + ": connection closed", ECONNABORTED);
  }
  const int err = ec.category() == boost::system::system_category() ? ec.value() : 0;
  return Status(Code::kIoError, what + ": " + ec.message(), err);
}

// Why an operation on `ssl`'s stream failed: the TLS layer's reason when
// it has one (a key refused by either end, no TLS 1.3), else the socket's.
Status status_of(std::exception_ptr e, SSL* ssl, const std::string& what) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    const Status tls = tls::tls_status(ssl, se.code());
    if (tls.errno_value() == EACCES || tls.code() == Code::kUnsupported) {
      return Status(tls.code(), what + ": " + tls.message(), tls.errno_value());
    }
    return status_of(se.code(), what);
  } catch (const std::exception& ex) {
    return Status::internal(what + ": " + ex.what());
  }
}

}  // namespace

struct Channel::Impl {
  Impl(std::shared_ptr<asio::ssl::context> c, const ChannelOptions& o)
      : ctx(std::move(c)),
        stream(io, *ctx),
        write_signal(io),
        read_signal(io),
        opt(o) {}

  asio::io_context io;
  std::shared_ptr<asio::ssl::context> ctx;
  asio::ssl::stream<tcp::socket> stream;
  asio::steady_timer write_signal;  // cancelled to wake the writer
  asio::steady_timer read_signal;   // cancelled to wake a paused reader
  std::thread thread;
  ChannelOptions opt;
  std::string fingerprint, address;

  std::mutex mu;
  std::condition_variable cv;  // space to send, a message, drained, closed
  std::deque<std::vector<uint8_t>> outbound;           // GUARDED_BY(mu)
  size_t outbound_bytes = 0;                           // GUARDED_BY(mu)
  uint64_t queued_total = 0, written_total = 0;        // GUARDED_BY(mu)
  std::deque<std::pair<wire::Message, size_t>> inbound;  // GUARDED_BY(mu)
  size_t inbound_bytes = 0;                            // GUARDED_BY(mu)
  bool closed = false;                                 // GUARDED_BY(mu)
  Status why_closed;                                   // GUARDED_BY(mu)
  // Why the reader refused a frame and stopped; the socket stays open for
  // writing, so the owner can say why before it closes.
  Status refused;                                      // GUARDED_BY(mu)
  WireBytes bytes;                                     // GUARDED_BY(mu), at close

  // Records a frame refused by the codec: the reader stops there (a
  // stream that went wrong cannot be resynchronised). Runs on the I/O
  // thread.
  void refuse(Status why) {
    {
      std::lock_guard lock(mu);
      if (refused.is_ok()) refused = std::move(why);
    }
    cv.notify_all();
  }

  // Records why the connection ended (the first reason wins) and closes the
  // socket. Runs on the I/O thread.
  void fail(Status why) {
    {
      std::lock_guard lock(mu);
      if (!closed) {
        closed = true;
        why_closed = std::move(why);
        snapshot_bytes();
      }
    }
    cv.notify_all();
    boost::system::error_code ec;
    stream.lowest_layer().close(ec);
    write_signal.cancel();
    read_signal.cancel();
  }

  // REQUIRES: mu held. Reads TCP_INFO while the socket is still open.
  void snapshot_bytes() {
    auto& sock = stream.lowest_layer();
    if (sock.is_open()) {
      tcp_bytes(sock.native_handle(), &bytes.sent, &bytes.received);
    }
  }

  asio::awaitable<void> writer() {
    Clock::time_point budget_start = Clock::now();
    uint64_t budget_used = 0;
    for (;;) {
      std::vector<uint8_t> buf;
      {
        std::lock_guard lock(mu);
        if (closed) co_return;
        while (!outbound.empty() && buf.size() < kCoalesceBytes) {
          if (buf.empty()) {
            buf = std::move(outbound.front());
          } else {
            buf.insert(buf.end(), outbound.front().begin(),
                       outbound.front().end());
          }
          outbound.pop_front();
        }
      }
      if (buf.empty()) {
        write_signal.expires_at(Clock::time_point::max());
        boost::system::error_code ec;
        co_await write_signal.async_wait(
            asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      co_await asio::async_write(stream, asio::buffer(buf), asio::use_awaitable);
      if (opt.bwlimit > 0) {
        // Sleep until the bytes written so far fit the rate; restart the
        // budget after an idle gap so a pause does not earn a burst.
        budget_used += buf.size();
        const auto now = Clock::now();
        if (now - budget_start > std::chrono::seconds(2) &&
            budget_used * 1'000'000'000ull / opt.bwlimit <
                static_cast<uint64_t>((now - budget_start).count())) {
          budget_start = now;
          budget_used = buf.size();
        }
        const auto due = budget_start + std::chrono::nanoseconds(
                                            budget_used * 1'000'000'000ull / opt.bwlimit);
        if (due > now) {
          asio::steady_timer pause(io, due);
          co_await pause.async_wait(asio::use_awaitable);
        }
      }
      {
        std::lock_guard lock(mu);
        outbound_bytes -= std::min(outbound_bytes, buf.size());
        written_total += buf.size();
      }
      cv.notify_all();
    }
  }

  // After a refused frame: reads and drops what else arrives until the
  // connection ends, so the owner's answer (an Error, then close) is not
  // lost to a reset for unread data.
  asio::awaitable<void> discard_input() {
    std::vector<uint8_t> scratch(16 * 1024);
    for (;;) co_await stream.async_read_some(asio::buffer(scratch), asio::use_awaitable);
  }

  asio::awaitable<void> reader() {
    std::vector<uint8_t> header(wire::kFrameHeaderLen), body;
    for (;;) {
      co_await asio::async_read(stream, asio::buffer(header), asio::use_awaitable);
      Result<wire::FrameHeader> h = wire::decode_header(header);
      if (!h.is_ok()) {
        refuse(h.status());
        co_await discard_input();
        co_return;
      }
      body.resize(h->body_len);
      co_await asio::async_read(stream, asio::buffer(body), asio::use_awaitable);
      Result<wire::Message> m = wire::decode_body(*h, body);
      if (!m.is_ok()) {
        refuse(m.status());
        co_await discard_input();
        co_return;
      }
      bool full;
      {
        std::lock_guard lock(mu);
        if (closed) co_return;
        const size_t size = wire::kFrameHeaderLen + body.size();
        inbound.emplace_back(std::move(*m), size);
        inbound_bytes += size;
        full = inbound_bytes > opt.max_inbound_bytes;
      }
      cv.notify_all();
      while (full) {  // receive() cancels the timer when it takes a message
        read_signal.expires_at(Clock::time_point::max());
        boost::system::error_code ec;
        co_await read_signal.async_wait(
            asio::redirect_error(asio::use_awaitable, ec));
        std::lock_guard lock(mu);
        if (closed) co_return;
        full = inbound_bytes > opt.max_inbound_bytes;
      }
    }
  }

  // Runs the handshake coroutine `hs` on the caller's thread with a
  // deadline, then starts the reader, the writer and the I/O thread.
  Status start(asio::awaitable<void> hs, const std::string& what) {
    bool done = false;
    Status result;
    asio::co_spawn(io, std::move(hs), [&](std::exception_ptr e) {
      done = true;
      if (e) result = status_of(e, stream.native_handle(), what);
    });
    io.run_for(opt.connect_timeout);
    if (!done) {
      boost::system::error_code ec;
      stream.lowest_layer().close(ec);
      io.run_for(std::chrono::seconds(5));  // let the aborted handlers run
      return Status(Code::kIoError, what + ": timed out", ETIMEDOUT);
    }
    if (!result.is_ok()) return result;
    fingerprint = tls::peer_fingerprint(stream.native_handle());
    boost::system::error_code ec;
    stream.lowest_layer().set_option(tcp::no_delay(true), ec);
    stream.lowest_layer().set_option(asio::socket_base::keep_alive(true), ec);
    io.restart();
    auto on_end = [this](std::exception_ptr e) {
      if (e) fail(status_of(e, stream.native_handle(), "connection with " + address));
    };
    asio::co_spawn(io, reader(), on_end);
    asio::co_spawn(io, writer(), on_end);
    thread = std::thread([this] { io.run(); });
    return Status::ok();
  }
};

Channel::Channel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Channel::~Channel() {
  close();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<Channel>> Channel::connect(
    const std::string& host, uint16_t port,
    std::shared_ptr<asio::ssl::context> ctx, const ChannelOptions& opt) {
  auto impl = std::make_unique<Impl>(std::move(ctx), opt);
  impl->address = host + ":" + std::to_string(port);
  Impl* c = impl.get();
  auto hs = [](Impl* c, std::string host, uint16_t port) -> asio::awaitable<void> {
    tcp::resolver resolver(c->io);
    auto endpoints = co_await resolver.async_resolve(
        host, std::to_string(port), asio::use_awaitable);
    co_await asio::async_connect(c->stream.lowest_layer(), endpoints,
                                 asio::use_awaitable);
    co_await c->stream.async_handshake(asio::ssl::stream_base::client,
                                       asio::use_awaitable);
  };
  MIRRORFS_RETURN_IF_ERROR(
      c->start(hs(c, host, port), "connecting to " + impl->address));
  return std::unique_ptr<Channel>(new Channel(std::move(impl)));
}

Result<std::unique_ptr<Channel>> Channel::accept(
    int fd, std::shared_ptr<asio::ssl::context> ctx, const ChannelOptions& opt) {
  auto impl = std::make_unique<Impl>(std::move(ctx), opt);
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
  boost::system::error_code ec;
  impl->stream.lowest_layer().assign(
      peer.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return status_of(ec, "accepting a connection");
  }
  const auto ep = impl->stream.lowest_layer().remote_endpoint(ec);
  impl->address = ec ? "unknown peer"
                     : ep.address().to_string() + ":" + std::to_string(ep.port());
  Impl* c = impl.get();
  auto hs = [](Impl* c) -> asio::awaitable<void> {
    co_await c->stream.async_handshake(asio::ssl::stream_base::server,
                                       asio::use_awaitable);
  };
  MIRRORFS_RETURN_IF_ERROR(c->start(hs(c), "handshake with " + impl->address));
  return std::unique_ptr<Channel>(new Channel(std::move(impl)));
}

const std::string& Channel::peer_fingerprint() const { return impl_->fingerprint; }
const std::string& Channel::peer_address() const { return impl_->address; }

Status Channel::send(const wire::Message& m) {
  std::vector<uint8_t> frame;
  MIRRORFS_RETURN_IF_ERROR(wire::encode(m, frame));
  Impl& c = *impl_;
  {
    std::unique_lock lock(c.mu);
    c.cv.wait(lock, [&] {
      return c.closed || c.outbound_bytes < c.opt.max_queued_bytes;
    });
    if (c.closed) return c.why_closed;
    c.outbound_bytes += frame.size();
    c.queued_total += frame.size();
    c.outbound.push_back(std::move(frame));
  }
  asio::post(c.io, [&c] { c.write_signal.cancel(); });
  return Status::ok();
}

Result<wire::Message> Channel::receive(std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  std::unique_lock lock(c.mu);
  if (!c.cv.wait_for(lock, timeout,
                     [&] { return c.closed || !c.inbound.empty() || !c.refused.is_ok(); })) {
    return Status(Code::kIoError,
                  "no answer from " + c.address + " in " +
                      std::to_string(timeout.count() / 1000) + " s",
                  ETIMEDOUT);
  }
  if (c.inbound.empty()) return c.refused.is_ok() ? c.why_closed : c.refused;
  auto [m, size] = std::move(c.inbound.front());
  c.inbound.pop_front();
  const bool was_full = c.inbound_bytes > c.opt.max_inbound_bytes;
  c.inbound_bytes -= size;
  lock.unlock();
  if (was_full) asio::post(c.io, [&c] { c.read_signal.cancel(); });
  return std::move(m);
}

Status Channel::drain(std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  std::unique_lock lock(c.mu);
  const uint64_t target = c.queued_total;
  if (!c.cv.wait_for(lock, timeout, [&] {
        return c.closed || c.written_total >= target;
      })) {
    return Status(Code::kIoError, "sending to " + c.address + " timed out",
                  ETIMEDOUT);
  }
  return c.written_total >= target ? Status::ok() : c.why_closed;
}

void Channel::close() {
  Impl& c = *impl_;
  {
    std::lock_guard lock(c.mu);
    if (c.closed) return;
  }
  if (!c.thread.joinable()) {  // the handshake failed: nothing runs
    c.fail(Status(Code::kIoError, "closed", ECONNABORTED));
    return;
  }
  asio::post(c.io, [&c] {
    c.fail(Status(Code::kIoError, "connection with " + c.address + " closed",
                  ECONNABORTED));
  });
  c.thread.join();
}

WireBytes Channel::wire_bytes() const {
  Impl& c = *impl_;
  std::lock_guard lock(c.mu);
  if (c.closed) return c.bytes;
  WireBytes now;
  // Racy only in the sense of a snapshot: the fd stays open until close.
  tcp_bytes(c.stream.lowest_layer().native_handle(), &now.sent, &now.received);
  return now;
}

}  // namespace mirrorfs::replicator

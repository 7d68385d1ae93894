#include "cli/metrics_server.h"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <thread>

namespace mirrorfs::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Destroyed in reverse: the thread is joined, then the io_context
// destroys the connections' coroutines, which still count down
// `connections` and hold `render`.
struct MetricsServer::Impl {
  int connections = 0;  // on the io thread only
  Render render;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
};

namespace {

using Response = http::response<http::string_body>;

Response answer(http::status status, unsigned version, std::string body,
                const char* type = "text/plain; charset=utf-8") {
  Response r{status, version};
  r.set(http::field::server, "mirrorfs");
  r.set(http::field::content_type, type);
  r.keep_alive(false);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

Response route(const http::request<http::empty_body>& req,
               const MetricsServer::Render& render) {
  const std::string_view target(req.target().data(), req.target().size());
  const bool metrics = target == "/metrics" || target.starts_with("/metrics?");
  if (!metrics)
    return answer(http::status::not_found, req.version(),
                  "not found; try /metrics\n");
  if (req.method() != http::verb::get) {
    Response r =
        answer(http::status::method_not_allowed, req.version(), "GET only\n");
    r.set(http::field::allow, "GET");
    return r;
  }
  try {
    return answer(http::status::ok, req.version(), render(),
                  "text/plain; version=0.0.4; charset=utf-8");
  } catch (const std::exception& e) {
    return answer(http::status::internal_server_error, req.version(),
                  std::string("cannot render the metrics: ") + e.what() + "\n");
  }
}

// One connection: one request, one answer, all within the deadline.
asio::awaitable<void> serve_connection(tcp::socket socket,
                                       const MetricsServerOptions& opt,
                                       MetricsServer::Render& render,
                                       int& connections) {
  struct Count {
    int& n;
    ~Count() { --n; }
  } count{connections};
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(opt.timeout);
  beast::flat_buffer buffer(opt.max_request_bytes);
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<uint32_t>(opt.max_request_bytes));
  parser.body_limit(opt.max_request_bytes);
  boost::system::error_code ec;
  co_await http::async_read(stream, buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  Response res;
  if (ec == http::error::header_limit || ec == http::error::body_limit ||
      ec == http::error::buffer_overflow) {
    res = answer(http::status::request_header_fields_too_large, 11,
                 "request larger than " +
                     std::to_string(opt.max_request_bytes) + " bytes\n");
  } else if (ec) {
    co_return;  // timed out, closed, or not HTTP: nothing to answer
  } else {
    res = route(parser.get(), render);
  }
  co_await http::async_write(stream, res,
                             asio::redirect_error(asio::use_awaitable, ec));
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<void> accept_loop(MetricsServer::Impl& impl,
                                  const MetricsServerOptions& opt) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await impl.acceptor.async_accept(
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // e.g. EMFILE: the next accept may work
    if (impl.connections >= opt.max_connections) continue;  // closed here
    ++impl.connections;
    asio::co_spawn(
        impl.io,
        serve_connection(std::move(socket), opt, impl.render, impl.connections),
        asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::bind(
    const MetricsServerOptions& opt) {
  const std::string where = opt.host + ":" + std::to_string(opt.port);
  auto fail = [&](const boost::system::error_code& ec) {
    return Status(
        Code::kIoError,
        "cannot listen on " + where + " for --metrics: " + ec.message(),
        ec.category() == boost::system::system_category() ? ec.value() : 0);
  };
  // A transient context: nothing of it outlives bind() but the socket.
  asio::io_context io;
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(
      opt.host, std::to_string(opt.port),
      tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec) return fail(ec);
  for (const auto& entry : endpoints) {
    tcp::acceptor a(io);
    const tcp::endpoint ep = entry.endpoint();
    if (a.open(ep.protocol(), ec)) continue;
    a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (a.bind(ep, ec) || a.listen(64, ec)) continue;
    std::unique_ptr<MetricsServer> s(new MetricsServer);
    s->opt_ = opt;
    s->port_ = a.local_endpoint().port();
    s->v6_ = ep.protocol() == tcp::v6();
    s->fd_ = a.release(ec);
    if (ec) return fail(ec);
    return s;
  }
  if (!ec) ec = asio::error::host_not_found;
  return fail(ec);
}

Status MetricsServer::start(Render render) {
  if (impl_ || fd_ < 0) return Status::internal("metrics server started twice");
  impl_ = std::make_unique<Impl>();
  impl_->render = std::move(render);
  boost::system::error_code ec;
  impl_->acceptor.assign(v6_ ? tcp::v6() : tcp::v4(), fd_, ec);
  if (ec) return Status(Code::kIoError, "metrics socket: " + ec.message());
  fd_ = -1;  // the acceptor owns it
  asio::co_spawn(impl_->io, accept_loop(*impl_, opt_), asio::detached);
  impl_->thread = std::thread([io = &impl_->io] {
    try {
      io->run();
    } catch (const std::exception&) {
      // Only a bug or memory exhaustion gets here; the metrics stop, the
      // command goes on.
    }
  });
  return Status::ok();
}

MetricsServer::~MetricsServer() {
  if (impl_) {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  }
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mirrorfs::cli

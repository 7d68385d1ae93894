#include "tests/replicator/raw_client.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "core/coding.h"
#include "replicator/client_session.h"
#include "replicator/tls/identity.h"
#include "replicator/tls/tls_context.h"
#include "replicator/wire/codec.h"

namespace mirrorfs::replicator::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct RawClient::Impl {
  explicit Impl(std::shared_ptr<asio::ssl::context> c) : ctx(std::move(c)), stream(io, *ctx) {}
  asio::io_context io;
  std::shared_ptr<asio::ssl::context> ctx;
  asio::ssl::stream<tcp::socket> stream;
};

RawClient::RawClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RawClient::~RawClient() {
  boost::system::error_code ec;
  impl_->stream.lowest_layer().close(ec);
}

Result<std::unique_ptr<RawClient>> RawClient::connect(const std::string& state_dir,
                                                      const std::string& mirror_fp,
                                                      uint16_t port,
                                                      const std::string& journal_id,
                                                      uint64_t capabilities) {
  MIRRORFS_ASSIGN_OR_RETURN(identity, tls::load_identity(state_dir));
  MIRRORFS_ASSIGN_OR_RETURN(ctx, tls::make_client_context(identity, mirror_fp));
  auto impl = std::make_unique<Impl>(ctx);
  boost::system::error_code ec;
  impl->stream.lowest_layer().connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return Status(Code::kIoError, "connect: " + ec.message());
  // A receive deadline: blocking reads fail after 20 s instead of hanging.
  timeval tv{20, 0};
  ::setsockopt(impl->stream.lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
               sizeof tv);
  impl->stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return Status(Code::kIoError, "TLS handshake: " + ec.message());
  std::unique_ptr<RawClient> c(new RawClient(std::move(impl)));
  wire::Hello hello;
  hello.client_name = "hostile";
  hello.journal_id = journal_id;
  hello.capabilities = capabilities;
  MIRRORFS_RETURN_IF_ERROR(c->send(wire::Message{0, hello}));
  MIRRORFS_ASSIGN_OR_RETURN(ok, c->receive());
  if (!std::holds_alternative<wire::HelloOk>(ok.body)) {
    return Status(Code::kIoError, "no HelloOk");
  }
  return c;
}

Status RawClient::write_raw(std::span<const uint8_t> bytes) {
  boost::system::error_code ec;
  asio::write(impl_->stream, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) return Status(Code::kIoError, "write: " + ec.message());
  return Status::ok();
}

Status RawClient::send(const wire::Message& m) {
  std::vector<uint8_t> out;
  MIRRORFS_RETURN_IF_ERROR(wire::encode(m, out));
  return write_raw(out);
}

Result<wire::Message> RawClient::receive() {
  uint8_t header[wire::kFrameHeaderLen];
  boost::system::error_code ec;
  asio::read(impl_->stream, asio::buffer(header), ec);
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset) {
    return Status(Code::kNotFound, "closed by the mirror");
  }
  if (ec) return Status(Code::kIoError, "read: " + ec.message());
  MIRRORFS_ASSIGN_OR_RETURN(h, wire::decode_header(header));
  std::vector<uint8_t> body(h.body_len);
  asio::read(impl_->stream, asio::buffer(body), ec);
  if (ec) return Status(Code::kIoError, "read body: " + ec.message());
  return wire::decode_body(h, body);
}

Result<std::vector<wire::Message>> RawClient::answer() {
  std::vector<wire::Message> out;
  for (;;) {
    MIRRORFS_ASSIGN_OR_RETURN(m, receive());
    out.push_back(std::move(m));
    if (is_final_answer(out.back())) return out;
  }
}

std::vector<uint8_t> raw_frame(wire::Type type, uint64_t id, std::span<const uint8_t> body,
                               uint8_t flags, int64_t body_len) {
  std::vector<uint8_t> f(wire::kFrameHeaderLen);
  put_le(f.data(), body_len >= 0 ? static_cast<uint64_t>(body_len) : body.size(), 4);
  f[4] = static_cast<uint8_t>(type);
  f[5] = flags;
  put_le(f.data() + 8, id, 8);
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

}  // namespace mirrorfs::replicator::testing

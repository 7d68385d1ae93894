// Real TLS handshakes over 127.0.0.1 between contexts made by
// make_server_context and make_client_context (and hostile ones made by
// hand). Both ends run on one io_context with a deadline, so a test never
// hangs: a handshake that does not finish fails the test.
#include "replicator/tls/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <string>

#include "tests/db/test_dir.h"
#include "tests/replicator/tls/test_certificates.h"

namespace mirrorfs::replicator::tls {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Stream = ssl::stream<tcp::socket>;
using boost::system::error_code;

constexpr auto kDeadline = std::chrono::seconds(20);

// What one end saw.
struct End {
  bool finished = false;  // its last step completed (or failed)
  error_code handshake_ec;
  Status handshake;  // tls_status of handshake_ec
  std::string peer;  // peer_fingerprint after the handshake
  int version = 0;   // SSL_version after a successful handshake
  std::string rejection;
  std::string received;  // application bytes read
  error_code read_ec;
  Status read;  // tls_status of read_ec
};

// One connection. The client, once its handshake succeeds, writes "ping"
// and reads 4 bytes; the server, whatever its handshake said, tries to
// read 4 bytes (so a byte that got through would show) and answers "pong".
class Connection {
 public:
  void run(ssl::context& server_ctx, ssl::context& client_ctx) {
    asio::io_context io;
    tcp::acceptor acceptor(
        io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Stream server(io, server_ctx), client(io, client_ctx);

    acceptor.async_accept(server.lowest_layer(), [&](const error_code& ec) {
      if (ec) {
        server_.handshake_ec = ec;
        server_.finished = true;
        return;
      }
      server.async_handshake(
          ssl::stream_base::server, [&](const error_code& ec) {
            after_handshake(server, server_, ec);
            asio::async_read(
                server, asio::buffer(server_buf_),
                [&](const error_code& ec, size_t n) {
                  server_.received.assign(server_buf_, n);
                  server_.read_ec = ec;
                  server_.read = tls_status(server.native_handle(), ec);
                  if (ec) {
                    server_.finished = true;
                    return;
                  }
                  asio::async_write(server, asio::buffer("pong", 4),
                                    [&](const error_code&, size_t) {
                                      server_.finished = true;
                                    });
                });
          });
    });
    client.lowest_layer().async_connect(
        acceptor.local_endpoint(), [&](const error_code& ec) {
          if (ec) {
            client_.handshake_ec = ec;
            client_.finished = true;
            return;
          }
          client.async_handshake(
              ssl::stream_base::client, [&](const error_code& ec) {
                after_handshake(client, client_, ec);
                if (ec) {
                  client_.finished = true;
                  return;
                }
                asio::async_write(
                    client, asio::buffer("ping", 4),
                    [&](const error_code&, size_t) {
                      asio::async_read(
                          client, asio::buffer(client_buf_),
                          [&](const error_code& ec, size_t n) {
                            client_.received.assign(client_buf_, n);
                            client_.read_ec = ec;
                            client_.read =
                                tls_status(client.native_handle(), ec);
                            client_.finished = true;
                          });
                    });
              });
        });
    io.run_for(kDeadline);
    EXPECT_TRUE(server_.finished) << "server did not finish in time";
    EXPECT_TRUE(client_.finished) << "client did not finish in time";
  }

  const End& server() const { return server_; }
  const End& client() const { return client_; }

 private:
  static void after_handshake(Stream& s, End& end, const error_code& ec) {
    end.handshake_ec = ec;
    end.handshake = tls_status(s.native_handle(), ec);
    end.rejection = rejection(s.native_handle());
    if (!ec) {
      end.peer = peer_fingerprint(s.native_handle());
      end.version = SSL_version(s.native_handle());
    }
  }

  End server_, client_;
  char server_buf_[4] = {};
  char client_buf_[4] = {};
};

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mirror_ = make_identity(tmp_.file("mirror"));
    replicator_ = make_identity(tmp_.file("replicator"));
    stranger_ = make_identity(tmp_.file("stranger"));
  }

  static Identity make_identity(const std::string& dir) {
    auto id = load_or_create_identity(dir, nullptr);
    EXPECT_TRUE(id) << id.status().message();
    return id ? *id : Identity{};
  }

  std::shared_ptr<ssl::context> server_ctx(std::vector<std::string> allowed) {
    auto ctx = make_server_context(mirror_, std::move(allowed));
    EXPECT_TRUE(ctx) << ctx.status().message();
    return ctx ? *ctx : nullptr;
  }
  std::shared_ptr<ssl::context> client_ctx(const Identity& id,
                                           std::string pinned) {
    auto ctx = make_client_context(id, std::move(pinned));
    EXPECT_TRUE(ctx) << ctx.status().message();
    return ctx ? *ctx : nullptr;
  }

  // One connection: a mirror with mirror_'s key allowing `allowed`, and a
  // client with `client_id` pinning `pinned`.
  Connection connect(std::vector<std::string> allowed,
                     const Identity& client_id, std::string pinned) {
    Connection c;
    auto server = server_ctx(std::move(allowed));
    auto client = client_ctx(client_id, std::move(pinned));
    if (server && client) c.run(*server, *client);
    return c;
  }

  // One connection from a client context made by hand to a mirror that
  // allows replicator_'s key.
  Connection connect(ssl::context& client) {
    Connection c;
    if (auto server = server_ctx({replicator_.fingerprint})) {
      c.run(*server, client);
    }
    return c;
  }

  db::testing::TempDir tmp_;
  Identity mirror_, replicator_, stranger_;
};

void expect_refusal(const Status& st, const std::string& text) {
  EXPECT_FALSE(st.is_ok());
  EXPECT_EQ(st.errno_value(), EACCES) << st.message();
  EXPECT_NE(st.message().find(text), std::string::npos) << st.message();
}

TEST_F(TlsContextTest, AllowedClientTalksToPinnedMirror) {
  // Several allowed keys, one in upper case: any of them is accepted.
  std::string upper = replicator_.fingerprint;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  const Connection c =
      connect({stranger_.fingerprint, upper}, replicator_, mirror_.fingerprint);

  for (const End* end : {&c.server(), &c.client()}) {
    EXPECT_FALSE(end->handshake_ec) << end->handshake_ec.message();
    EXPECT_TRUE(end->handshake.is_ok());
    EXPECT_EQ(end->version, TLS1_3_VERSION);
    EXPECT_EQ(end->rejection, "");
    EXPECT_FALSE(end->read_ec) << end->read_ec.message();
  }
  EXPECT_EQ(c.server().peer, replicator_.fingerprint);
  EXPECT_EQ(c.client().peer, mirror_.fingerprint);
  EXPECT_EQ(c.server().received, "ping");
  EXPECT_EQ(c.client().received, "pong");
}

TEST_F(TlsContextTest, UnknownClientIsRefusedBeforeAnyByteArrives) {
  const Connection c =
      connect({replicator_.fingerprint}, stranger_, mirror_.fingerprint);

  ASSERT_TRUE(c.server().handshake_ec);
  const std::string why =
      "client key " + stranger_.fingerprint + " is not allowed";
  EXPECT_EQ(c.server().rejection, why);
  expect_refusal(c.server().handshake, why);
  EXPECT_EQ(c.server().received, "");  // the client's "ping" never arrived
  EXPECT_TRUE(c.server().read_ec);
  // TLS 1.3: the client's own handshake completed; its first read learns
  // of the refusal.
  EXPECT_EQ(c.client().received, "");
  ASSERT_TRUE(c.client().read_ec);
  expect_refusal(c.client().read, "the mirror refused this client's key");
}

TEST_F(TlsContextTest, MirrorWithAnotherKeyIsRefusedByTheClient) {
  const Connection c =
      connect({replicator_.fingerprint}, replicator_, stranger_.fingerprint);

  ASSERT_TRUE(c.client().handshake_ec);
  const std::string why = "mirror presented key " + mirror_.fingerprint +
                          ", pinned " + stranger_.fingerprint;
  EXPECT_EQ(c.client().rejection, why);
  expect_refusal(c.client().handshake, why);
  ASSERT_TRUE(c.server().handshake_ec);
  expect_refusal(c.server().handshake, "the client refused this mirror's key");
  EXPECT_EQ(c.server().received, "");
  EXPECT_EQ(c.client().received, "");
}

TEST_F(TlsContextTest, ClientWithoutCertificateIsRefused) {
  ssl::context client(ssl::context::tls_client);
  client.set_verify_mode(ssl::verify_none);
  const Connection c = connect(client);

  ASSERT_TRUE(c.server().handshake_ec);
  expect_refusal(c.server().handshake, "the client presented no certificate");
  EXPECT_EQ(c.server().received, "");
  EXPECT_EQ(c.client().received, "");
  expect_refusal(c.client().read, "the mirror requires a client certificate");
}

TEST_F(TlsContextTest, Tls12ClientIsRefused) {
  // The right key, but TLS 1.2 at most.
  ssl::context client(ssl::context::tls_client);
  client.set_verify_mode(ssl::verify_none);
  client.use_certificate(asio::buffer(replicator_.cert_pem), ssl::context::pem);
  client.use_private_key(asio::buffer(replicator_.key_pem), ssl::context::pem);
  ASSERT_EQ(
      SSL_CTX_set_max_proto_version(client.native_handle(), TLS1_2_VERSION), 1);
  const Connection c = connect(client);

  ASSERT_TRUE(c.server().handshake_ec);
  EXPECT_EQ(c.server().handshake.code(), Code::kUnsupported)
      << c.server().handshake.message();
  EXPECT_NE(c.server().handshake.message().find("TLS 1.3"), std::string::npos);
  EXPECT_TRUE(c.client().handshake_ec);
  EXPECT_EQ(c.server().received, "");
}

// A leaf issued by a CA, sent with the CA: pinning the leaf's key is not
// enough (only a lone self-signed certificate is accepted), and pinning
// the CA's key is not either (only depth 0 counts).
TEST_F(TlsContextTest, CertificateChainsAreRefused) {
  auto chain = make_ca_chain();
  ASSERT_TRUE(chain) << chain.status().message();
  for (const std::string& pinned :
       {chain->leaf.fingerprint, chain->ca_fingerprint}) {
    auto server = make_server_context(chain->leaf, {replicator_.fingerprint});
    ASSERT_TRUE(server) << server.status().message();
    ASSERT_TRUE(add_chain_certificate(**server, *chain));
    auto client = client_ctx(replicator_, pinned);
    ASSERT_TRUE(client);
    Connection c;
    c.run(**server, *client);
    ASSERT_TRUE(c.client().handshake_ec) << "accepted with pin " << pinned;
    EXPECT_EQ(c.client().peer, "");
    expect_refusal(c.client().handshake,
                   "mirror sent a certificate chain; mirrorfs accepts one "
                   "self-signed certificate only");
    EXPECT_EQ(c.server().received, "");
  }
}

TEST_F(TlsContextTest, BadFingerprintsAreRefusedWhenMakingContexts) {
  auto s = make_server_context(mirror_, {replicator_.fingerprint, "sha256:00"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  s = make_server_context(mirror_, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  auto c = make_client_context(replicator_, "");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
}

TEST_F(TlsContextTest, UnusableIdentityIsRefusedWhenMakingContexts) {
  Identity bad = mirror_;
  bad.cert_pem = replicator_.cert_pem;  // another key's certificate
  auto s = make_server_context(bad, {replicator_.fingerprint});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.status().code(), Code::kCorrupt);
  bad = mirror_;
  bad.key_pem = "garbage";
  auto c = make_client_context(bad, mirror_.fingerprint);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), Code::kCorrupt);
}

TEST(TlsStatusTest, NoErrorIsOk) {
  EXPECT_TRUE(tls_status(nullptr, error_code()).is_ok());
  EXPECT_EQ(peer_fingerprint(nullptr), "");
  EXPECT_EQ(rejection(nullptr), "");
}

}  // namespace
}  // namespace mirrorfs::replicator::tls

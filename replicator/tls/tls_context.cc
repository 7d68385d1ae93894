#include "replicator/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <exception>

#include "replicator/tls/openssl_util.h"

namespace mirrorfs::replicator::tls {
namespace {

namespace ssl = boost::asio::ssl;

// What one context accepts, owned by its SSL_CTX (ex_data).
struct PinPolicy {
  bool server = false;
  std::vector<std::string> fingerprints;  // canonical, sorted, unique
};

void free_policy(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<PinPolicy*>(ptr);
}
void free_string(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

// ex_data slots of our own; Boost.Asio uses the "app data" slot 0.
int policy_index() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_policy);
  return index;
}
int rejection_index() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_string);
  return index;
}

const PinPolicy* policy_of(SSL* ssl) {
  if (ssl == nullptr || policy_index() < 0) return nullptr;
  return static_cast<const PinPolicy*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), policy_index()));
}

// Keeps the first reason this end refused the peer.
void record_rejection(SSL* ssl, std::string reason) {
  const int index = rejection_index();
  if (index < 0 || SSL_get_ex_data(ssl, index) != nullptr) return;
  auto* kept = new std::string(std::move(reason));
  if (SSL_set_ex_data(ssl, index, kept) != 1) delete kept;
}

std::string refusal_text(const PinPolicy& policy, const std::string& fp) {
  const std::string shown = fp.empty() ? "(no usable public key)" : fp;
  if (policy.server) return "client key " + shown + " is not allowed";
  return "mirror presented key " + shown + ", pinned " +
         policy.fingerprints.front();
}

// Pinning replaces chain verification, so preverify_ok (which says a
// self-signed certificate has no trusted issuer, or has expired) is
// ignored. OpenSSL calls this once per error and once per certificate of
// the chain it built; it accepts exactly the calls about the leaf (depth
// 0) when the leaf's key is pinned, and refuses anything else.
int verify_peer(int /*preverify_ok*/, X509_STORE_CTX* store) {
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return 0;
  const PinPolicy* policy = policy_of(ssl);
  if (policy == nullptr) {
    record_rejection(ssl, "internal error: no pinned keys on this context");
    return 0;
  }
  if (X509_STORE_CTX_get_error_depth(store) != 0) {
    record_rejection(ssl, std::string(policy->server ? "client" : "mirror") +
                              " sent a certificate chain; mirrorfs accepts "
                              "one self-signed certificate only");
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  const std::string fp = fingerprint_of(X509_STORE_CTX_get0_cert(store));
  if (!fp.empty() && std::binary_search(policy->fingerprints.begin(),
                                        policy->fingerprints.end(), fp)) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
  }
  record_rejection(ssl, refusal_text(*policy, fp));
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

Result<std::shared_ptr<ssl::context>> make_context(
    const Identity& id, ssl::context::method method,
    std::unique_ptr<PinPolicy> policy) {
  ERR_clear_error();
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(method);
  } catch (const std::exception& e) {
    return openssl_status(Code::kInternal,
                          std::string("TLS context: ") + e.what());
  }
  SSL_CTX* h = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(h, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(h, TLS1_3_VERSION) != 1) {
    return openssl_status(Code::kInternal, "TLS context: set TLS 1.3 only");
  }
  SSL_CTX_set_options(h, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(h, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_num_tickets(h, 0) != 1) {
    return openssl_status(Code::kInternal, "TLS context: no session tickets");
  }

  MIRRORFS_ASSIGN_OR_RETURN(key,
                            parse_private_key_pem(id.key_pem, "identity key"));
  MIRRORFS_ASSIGN_OR_RETURN(
      cert, parse_certificate_pem(id.cert_pem, "identity certificate"));
  if (SSL_CTX_use_certificate(h, cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(h, key.get()) != 1 ||
      SSL_CTX_check_private_key(h) != 1) {
    return openssl_status(Code::kCorrupt,
                          "TLS context: identity key and certificate");
  }

  if (policy_index() < 0 || rejection_index() < 0) {
    return openssl_status(Code::kInternal, "TLS context: ex_data index");
  }
  PinPolicy* raw = policy.release();
  if (SSL_CTX_set_ex_data(h, policy_index(), raw) != 1) {
    delete raw;
    return openssl_status(Code::kInternal, "TLS context: ex_data");
  }
  const int mode = raw->server
                       ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                       : SSL_VERIFY_PEER;
  SSL_CTX_set_verify(h, mode, verify_peer);
  return ctx;
}

// Reasons for alerts that mean "the peer refused our certificate".
bool is_certificate_alert(int reason) {
  return reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
         reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
         reason == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE ||
         reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA;
}

bool is_version_failure(int reason) {
  return reason == SSL_R_UNSUPPORTED_PROTOCOL ||
         reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
         reason == SSL_R_NO_PROTOCOLS_AVAILABLE;
}

Status refused(std::string message) {
  return Status(Code::kIoError, std::move(message), EACCES);
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_context(
    const Identity& id, std::vector<std::string> allowed) {
  auto policy = std::make_unique<PinPolicy>();
  policy->server = true;
  if (allowed.empty()) {
    return Status::invalid_argument(
        "no client key is allowed: a mirror needs at least one fingerprint");
  }
  for (const std::string& text : allowed) {
    MIRRORFS_ASSIGN_OR_RETURN(fp, parse_fingerprint(text));
    policy->fingerprints.push_back(fp);
  }
  auto& fps = policy->fingerprints;
  std::sort(fps.begin(), fps.end());
  fps.erase(std::unique(fps.begin(), fps.end()), fps.end());
  return make_context(id, ssl::context::tls_server, std::move(policy));
}

Result<std::shared_ptr<ssl::context>> make_client_context(const Identity& id,
                                                          std::string pinned) {
  MIRRORFS_ASSIGN_OR_RETURN(fp, parse_fingerprint(pinned));
  auto policy = std::make_unique<PinPolicy>();
  policy->fingerprints.push_back(fp);
  return make_context(id, ssl::context::tls_client, std::move(policy));
}

std::string peer_fingerprint(SSL* ssl) {
  if (ssl == nullptr) return "";
  return fingerprint_of(SSL_get0_peer_certificate(ssl));
}

std::string rejection(SSL* ssl) {
  const int index = rejection_index();
  if (ssl == nullptr || index < 0) return "";
  const auto* reason =
      static_cast<const std::string*>(SSL_get_ex_data(ssl, index));
  return reason != nullptr ? *reason : "";
}

Status tls_status(SSL* ssl, const boost::system::error_code& ec) {
  if (!ec) return Status::ok();
  if (std::string reason = rejection(ssl); !reason.empty()) {
    return refused(std::move(reason));
  }
  const PinPolicy* policy = policy_of(ssl);
  const bool server = policy != nullptr && policy->server;
  if (ec == ssl::error::stream_truncated) {
    return Status(Code::kIoError,
                  "TLS: the peer closed the connection without a TLS "
                  "close_notify");
  }
  if (ec == boost::asio::error::eof) {
    return Status(Code::kIoError, "TLS: the peer closed the connection");
  }
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
      return refused("the client presented no certificate");
    }
    if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
      return refused("the mirror requires a client certificate; none was sent");
    }
    if (is_certificate_alert(reason)) {
      return refused(
          server ? "the client refused this mirror's key (" + ec.message() + ")"
                 : "the mirror refused this client's key (" + ec.message() +
                       "): is its fingerprint allowed there?");
    }
    if (is_version_failure(reason)) {
      return Status(Code::kUnsupported,
                    "the peer does not speak TLS 1.3 (" + ec.message() + ")");
    }
    return Status(Code::kIoError, "TLS: " + ec.message());
  }
  const int err = ec.category() == boost::system::system_category() ||
                          ec.category() == boost::system::generic_category()
                      ? ec.value()
                      : 0;
  return Status(Code::kIoError, "TLS: " + ec.message(), err);
}

}  // namespace mirrorfs::replicator::tls

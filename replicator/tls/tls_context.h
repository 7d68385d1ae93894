// TLS 1.3 contexts for the replicator (client) and the mirror (server),
// authenticated by pinned key fingerprints in the spirit of SSH: no
// certificate authority, no host names, no expiry. Each end presents its
// identity's self-signed certificate; the other end accepts it exactly
// when the fingerprint of the key in the peer's leaf certificate is one it
// was given. A peer that sends a certificate chain is refused.
//
// How a refusal surfaces (TLS 1.3 ordering matters here):
// - Server refuses a client key: the server's handshake fails;
//   tls_status(ssl, ec) on the server's stream says "client key
//   sha256:... is not allowed" (EACCES). The client's handshake has
//   already succeeded (its Finished went first); its first read fails,
//   and tls_status says "the mirror refused this client's key ..."
//   (EACCES). No application byte reaches the server: the server never
//   completes its handshake.
// - Client refuses the mirror: the client's handshake fails; tls_status
//   on its stream says "mirror presented key sha256:X, pinned sha256:Y"
//   (EACCES); the server's handshake fails with "the client refused this
//   mirror's key" (EACCES).
// - A client without a certificate: the server's handshake fails,
//   "the client presented no certificate" (EACCES); the client's first
//   read, "the mirror requires a client certificate; none was sent".
// - A peer without TLS 1.3: the handshake fails, "the peer does not
//   speak TLS 1.3" (kUnsupported).
// The refusal reason this end recorded is also available on its own,
// rejection(ssl), and is kept in the SSL object's ex_data until the SSL
// object is freed.
//
// Session resumption (tickets, session cache) is off: every connection
// proves its key with a full handshake against the context's current list.
//
// Thread-safety: a context is immutable once made and may be shared by
// any number of streams in any threads. Contract: the returned contexts
// own their pinning data through the SSL_CTX itself, so a stream that
// outlives the boost::asio::ssl::context object stays correct.
#pragma once

#include <openssl/types.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/tls/identity.h"

namespace mirrorfs::replicator::tls {

// For `mirrorfs serve`: presents `id`, requires a client certificate and
// accepts only client keys whose fingerprint is in `allowed` (each checked
// with parse_fingerprint; duplicates are fine). kInvalidArgument for a
// malformed fingerprint or an empty list; kCorrupt for an unusable `id`.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_context(
    const Identity& id, std::vector<std::string> allowed);

// For `mirrorfs replicate`: presents `id` and accepts only a server whose
// key has the fingerprint `pinned` (checked with parse_fingerprint).
Result<std::shared_ptr<boost::asio::ssl::context>> make_client_context(
    const Identity& id, std::string pinned);

// The fingerprint of the peer's key after a handshake that succeeded
// ("" if the peer presented no certificate or `ssl` is null).
std::string peer_fingerprint(SSL* ssl);

// Why this end refused the peer's certificate during the handshake on
// `ssl` (the first reason, one line), or "" if it refused nothing.
std::string rejection(SSL* ssl);

// The Status for `ec`, an error from a handshake, read or write on the
// stream whose native handle is `ssl`: OK when !ec. Key refusals by
// either end carry errno EACCES (Status::errno_value()), so a caller can
// tell "wrong key, do not retry blindly" from a network failure (other
// kIoError) and from a peer without TLS 1.3 (kUnsupported).
Status tls_status(SSL* ssl, const boost::system::error_code& ec);

}  // namespace mirrorfs::replicator::tls

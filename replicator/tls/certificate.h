// Private to replicator/tls: making a host's key and its self-signed
// certificate.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "replicator/tls/openssl_util.h"

namespace mirrorfs::replicator::tls {

// A fresh Ed25519 key from OpenSSL's CSPRNG.
Result<PkeyPtr> generate_ed25519_key();

// A self-signed X.509 v3 certificate for `key` (not owned): subject and
// issuer CN `common_name` (at most 64 bytes, printable ASCII), valid from
// now - 1 day for 100 years, a random positive 159-bit serial, and the
// extensions of a TLS leaf for both ends: basicConstraints CA:FALSE,
// keyUsage digitalSignature, extendedKeyUsage serverAuth and clientAuth,
// subjectKeyIdentifier. Nothing but the key is meaningful to mirrorfs
// (peers are pinned by key fingerprint); the rest keeps other TLS tools
// (openssl s_client, wireshark) content.
Result<X509Ptr> issue_self_signed(EVP_PKEY* key, std::string_view common_name);

// "mirrorfs <hostname>", with anything but printable ASCII replaced by '?'
// and cut to the 64 bytes X.509 allows in a common name.
std::string host_common_name();

}  // namespace mirrorfs::replicator::tls

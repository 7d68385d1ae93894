// Key fingerprints: how mirrorfs names a host's key, in the spirit of SSH.
//
// Text form: "sha256:" followed by 64 lowercase hex digits, the SHA-256 of
// the DER SubjectPublicKeyInfo of the public key. It names the key, not
// the certificate: a certificate re-issued for the same key keeps the
// fingerprint. The same value as
//   openssl pkey -in identity.key -pubout -outform DER | sha256sum
#pragma once

#include <openssl/types.h>

#include <string>
#include <string_view>

#include "core/status.h"

namespace mirrorfs::replicator::tls {

inline constexpr std::string_view kFingerprintPrefix = "sha256:";
// Length of the canonical text: the prefix and 64 hex digits.
inline constexpr size_t kFingerprintLen = kFingerprintPrefix.size() + 64;

// Checks a fingerprint given by a user (a command line, a config file) and
// returns it canonical (lowercase). Accepted: "sha256:" + 64 hex digits,
// case-insensitive in both parts ("SHA256:AB..." is fine). The prefix is
// required: bare hex is refused, so a fingerprint of another kind (a
// content hash, a future algorithm) is never taken for a key. No
// surrounding whitespace is trimmed. kInvalidArgument with a message
// saying what is wrong otherwise.
Result<std::string> parse_fingerprint(std::string_view text);

// The fingerprint of `key`'s public half, or of `cert`'s public key.
// "" when there is no key or it cannot be encoded (never for a key
// mirrorfs loaded). Neither takes ownership.
std::string fingerprint_of_key(EVP_PKEY* key);
std::string fingerprint_of(X509* cert);

}  // namespace mirrorfs::replicator::tls

// Private to replicator/tls: owning pointers for OpenSSL objects, the one
// place where OpenSSL's error queue becomes a Status, and PEM coding that
// never prompts for a password.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace mirrorfs::replicator::tls {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Drains this thread's OpenSSL error queue into "reason; reason" (empty
// when the queue was empty).
std::string drain_openssl_errors();

// Status(code, "<what>: <OpenSSL's reasons>"), draining the error queue.
Status openssl_status(Code code, std::string_view what);

// Parses one PEM private key. An encrypted key is refused (no prompt on
// the terminal, ever). Errors are kCorrupt and name `what`.
Result<PkeyPtr> parse_private_key_pem(std::string_view pem,
                                      std::string_view what);
// Parses one PEM X.509 certificate; kCorrupt naming `what` otherwise.
Result<X509Ptr> parse_certificate_pem(std::string_view pem,
                                      std::string_view what);

// PEM encodings: the key as unencrypted PKCS#8, the certificate as
// "BEGIN CERTIFICATE". kInternal on failure.
Result<std::string> private_key_to_pem(EVP_PKEY* key);
Result<std::string> certificate_to_pem(X509* cert);

}  // namespace mirrorfs::replicator::tls

#include "replicator/tls/openssl_util.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>

namespace mirrorfs::replicator::tls {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// A read-only memory BIO over `data`; null when it is too large for one.
BioPtr memory_bio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// The PEM password callback: there is never a password, so an encrypted
// key fails to decode instead of prompting on the terminal.
int no_password(char*, int, int, void*) { return -1; }

Result<std::string> bio_contents(BIO* bio, std::string_view what) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) {
    return openssl_status(Code::kInternal, what);
  }
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

std::string drain_openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // Keep the reason ("...:reason"), the part a reader can act on.
    std::string_view s(buf);
    const size_t colon = s.rfind(':');
    if (colon != std::string_view::npos) s.remove_prefix(colon + 1);
    if (!out.empty()) out += "; ";
    out += s;
  }
  return out;
}

Status openssl_status(Code code, std::string_view what) {
  std::string msg(what);
  const std::string reasons = drain_openssl_errors();
  if (!reasons.empty()) {
    msg += ": ";
    msg += reasons;
  }
  return Status(code, std::move(msg));
}

Result<PkeyPtr> parse_private_key_pem(std::string_view pem,
                                      std::string_view what) {
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  if (!bio) return openssl_status(Code::kCorrupt, what);
  PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!key) {
    return openssl_status(
        Code::kCorrupt,
        std::string(what) + " is not an unencrypted PEM private key");
  }
  return key;
}

Result<X509Ptr> parse_certificate_pem(std::string_view pem,
                                      std::string_view what) {
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  if (!bio) return openssl_status(Code::kCorrupt, what);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
  if (!cert) {
    return openssl_status(Code::kCorrupt,
                          std::string(what) + " is not a PEM certificate");
  }
  return cert;
}

Result<std::string> private_key_to_pem(EVP_PKEY* key) {
  ERR_clear_error();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                       nullptr, nullptr) != 1) {
    return openssl_status(Code::kInternal, "encode the private key");
  }
  return bio_contents(bio.get(), "encode the private key");
}

Result<std::string> certificate_to_pem(X509* cert) {
  ERR_clear_error();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return openssl_status(Code::kInternal, "encode the certificate");
  }
  return bio_contents(bio.get(), "encode the certificate");
}

}  // namespace mirrorfs::replicator::tls

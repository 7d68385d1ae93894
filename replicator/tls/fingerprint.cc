#include "replicator/tls/fingerprint.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>

namespace mirrorfs::replicator::tls {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The user's text, quoted and cut short, for an error message.
std::string shown(std::string_view text) {
  constexpr size_t kMax = 80;
  std::string s = "'";
  for (char c : text.substr(0, kMax)) {
    s += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  s += text.size() > kMax ? "...'" : "'";
  return s;
}

}  // namespace

Result<std::string> parse_fingerprint(std::string_view text) {
  const std::string_view prefix = kFingerprintPrefix;
  if (text.size() < prefix.size() ||
      !iequals(text.substr(0, prefix.size()), prefix)) {
    return Status::invalid_argument(
        "fingerprint " + shown(text) +
        " does not begin with 'sha256:' (expected sha256: and 64 hex "
        "digits, as 'mirrorfs keygen' prints)");
  }
  const std::string_view hex = text.substr(prefix.size());
  if (hex.size() != 64) {
    return Status::invalid_argument("fingerprint " + shown(text) + " has " +
                                    std::to_string(hex.size()) +
                                    " hex digits after 'sha256:', expected 64");
  }
  std::string out(prefix);
  for (char c : hex) {
    const int v = hex_value(c);
    if (v < 0) {
      return Status::invalid_argument("fingerprint " + shown(text) +
                                      " contains a character that is not a "
                                      "hex digit");
    }
    out += kHexDigits[v];
  }
  return out;
}

std::string fingerprint_of_key(EVP_PKEY* key) {
  if (key == nullptr) return "";
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0 || der == nullptr) return "";
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  const int ok = EVP_Digest(der, static_cast<size_t>(len), md.data(), &md_len,
                            EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1 || md_len != 32) return "";
  std::string out(kFingerprintPrefix);
  for (unsigned int i = 0; i < md_len; ++i) {
    out += kHexDigits[md[i] >> 4];
    out += kHexDigits[md[i] & 0xf];
  }
  return out;
}

std::string fingerprint_of(X509* cert) {
  if (cert == nullptr) return "";
  return fingerprint_of_key(X509_get0_pubkey(cert));
}

}  // namespace mirrorfs::replicator::tls

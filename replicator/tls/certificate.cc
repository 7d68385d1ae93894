#include "replicator/tls/certificate.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <array>
#include <climits>

namespace mirrorfs::replicator::tls {
namespace {

constexpr size_t kMaxCommonName = 64;  // ub-common-name, RFC 5280
constexpr long kOneDay = 24 * 60 * 60;
constexpr int kValidDays = 36525;  // 100 years

Status set_random_serial(X509* cert) {
  std::array<unsigned char, 20> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return openssl_status(Code::kInternal, "random serial number");
  }
  bytes[0] &= 0x7f;  // positive, at most 20 octets encoded (RFC 5280)
  bytes[0] |= 0x40;  // and never zero
  BIGNUM* bn = BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr);
  const bool ok =
      bn != nullptr &&
      BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  if (!ok) return openssl_status(Code::kInternal, "set serial number");
  return Status::ok();
}

Status set_name(X509* cert, std::string_view common_name) {
  if (common_name.empty() || common_name.size() > kMaxCommonName) {
    return Status::internal("certificate common name of " +
                            std::to_string(common_name.size()) + " bytes");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(common_name.data()),
          static_cast<int>(common_name.size()), -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1) {
    return openssl_status(Code::kInternal, "set certificate name");
  }
  return Status::ok();
}

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  const bool ok = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  if (!ok) {
    return openssl_status(Code::kInternal,
                          std::string("certificate extension ") + value);
  }
  return Status::ok();
}

Status add_extensions(X509* cert) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  MIRRORFS_RETURN_IF_ERROR(
      add_extension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  MIRRORFS_RETURN_IF_ERROR(
      add_extension(cert, &ctx, NID_key_usage, "critical,digitalSignature"));
  MIRRORFS_RETURN_IF_ERROR(
      add_extension(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  return add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
}

}  // namespace

Result<PkeyPtr> generate_ed25519_key() {
  ERR_clear_error();
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return openssl_status(Code::kInternal, "generate an Ed25519 key");
  return key;
}

Result<X509Ptr> issue_self_signed(EVP_PKEY* key, std::string_view common_name) {
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert) return openssl_status(Code::kInternal, "new certificate");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return openssl_status(Code::kInternal, "set certificate version");
  }
  MIRRORFS_RETURN_IF_ERROR(set_random_serial(cert.get()));
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kOneDay) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidDays, 0,
                       nullptr) == nullptr) {
    return openssl_status(Code::kInternal, "set certificate validity");
  }
  MIRRORFS_RETURN_IF_ERROR(set_name(cert.get(), common_name));
  if (X509_set_pubkey(cert.get(), key) != 1) {
    return openssl_status(Code::kInternal, "set certificate key");
  }
  MIRRORFS_RETURN_IF_ERROR(add_extensions(cert.get()));
  // Ed25519 signs the message itself: no separate digest.
  if (X509_sign(cert.get(), key, nullptr) <= 0) {
    return openssl_status(Code::kInternal, "sign the certificate");
  }
  return cert;
}

std::string host_common_name() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    return "mirrorfs";
  }
  std::string cn = "mirrorfs ";
  for (const char* p = host; *p != '\0' && cn.size() < kMaxCommonName; ++p) {
    cn += (*p >= 0x20 && *p < 0x7f) ? *p : '?';
  }
  return cn;
}

}  // namespace mirrorfs::replicator::tls

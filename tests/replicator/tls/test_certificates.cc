#include "tests/replicator/tls/test_certificates.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "replicator/tls/certificate.h"

namespace mirrorfs::replicator::tls {
namespace {

Result<X509Ptr> issue(EVP_PKEY* subject_key, const char* cn, X509* issuer,
                      EVP_PKEY* issuer_key, bool ca) {
  X509Ptr cert(X509_new());
  X509_NAME* name = X509_get_subject_name(cert.get());
  const bool ok =
      X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ca ? 1 : 2) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) != nullptr &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn), -1,
                                 -1, 0) == 1 &&
      X509_set_issuer_name(
          cert.get(), issuer ? X509_get_subject_name(issuer) : name) == 1 &&
      X509_set_pubkey(cert.get(), subject_key) == 1;
  if (!ok) return openssl_status(Code::kInternal, "test certificate");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr,
                 nullptr, 0);
  const std::pair<int, const char*> exts[] = {
      {NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_key_usage,
       ca ? "critical,keyCertSign" : "critical,digitalSignature"},
  };
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    const bool added = ext != nullptr && X509_add_ext(cert.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!added) return openssl_status(Code::kInternal, "test extension");
  }
  if (X509_sign(cert.get(), issuer_key, nullptr) <= 0) {
    return openssl_status(Code::kInternal, "sign test certificate");
  }
  return cert;
}

}  // namespace

Result<CaChain> make_ca_chain() {
  MIRRORFS_ASSIGN_OR_RETURN(ca_key, generate_ed25519_key());
  MIRRORFS_ASSIGN_OR_RETURN(leaf_key, generate_ed25519_key());
  MIRRORFS_ASSIGN_OR_RETURN(
      ca, issue(ca_key.get(), "test CA", nullptr, ca_key.get(), true));
  MIRRORFS_ASSIGN_OR_RETURN(
      leaf, issue(leaf_key.get(), "test leaf", ca.get(), ca_key.get(), false));
  CaChain chain;
  MIRRORFS_ASSIGN_OR_RETURN(key_pem, private_key_to_pem(leaf_key.get()));
  MIRRORFS_ASSIGN_OR_RETURN(cert_pem, certificate_to_pem(leaf.get()));
  chain.leaf.key_pem = key_pem;
  chain.leaf.cert_pem = cert_pem;
  chain.leaf.fingerprint = fingerprint_of(leaf.get());
  chain.ca_fingerprint = fingerprint_of(ca.get());
  chain.ca = std::move(ca);
  return chain;
}

bool add_chain_certificate(boost::asio::ssl::context& ctx,
                           const CaChain& chain) {
  return SSL_CTX_add1_chain_cert(ctx.native_handle(), chain.ca.get()) == 1;
}

}  // namespace mirrorfs::replicator::tls

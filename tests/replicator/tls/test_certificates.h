// Test helper: a certificate chain (a CA and a leaf it issued), the kind
// of peer certificate mirrorfs must refuse.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <string>

#include "core/status.h"
#include "replicator/tls/identity.h"
#include "replicator/tls/openssl_util.h"

namespace mirrorfs::replicator::tls {

struct CaChain {
  Identity leaf;  // key and certificate issued by the CA
  X509Ptr ca;     // self-signed, CA:TRUE, keyCertSign
  std::string ca_fingerprint;
};

Result<CaChain> make_ca_chain();

// Makes `ctx` send the chain's CA certificate after its own.
bool add_chain_certificate(boost::asio::ssl::context& ctx,
                           const CaChain& chain);

}  // namespace mirrorfs::replicator::tls

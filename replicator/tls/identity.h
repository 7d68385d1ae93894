// The identity of a mirrorfs host: its key pair and a self-signed
// certificate for it, kept in the state directory. Peers know a host by
// the fingerprint of its key (replicator/tls/fingerprint.h), as SSH knows
// hosts; the certificate only carries the key through TLS.
//
// Files, both PEM:
//   DIR/identity.key  the private key (unencrypted PKCS#8, Ed25519), mode
//                     0600: refused when group or others have any access
//   DIR/identity.crt  the self-signed X.509 v3 certificate for that key
//
// Thread-safety: the functions are safe to call concurrently, also from
// several processes on one DIR (two creators agree on one key).
#pragma once

#include <string>

#include "core/status.h"
#include "replicator/tls/fingerprint.h"

namespace mirrorfs::replicator::tls {

inline constexpr char kIdentityKeyFile[] = "identity.key";
inline constexpr char kIdentityCertFile[] = "identity.crt";
// Either file larger than this is corrupt (an Ed25519 key is ~120 bytes
// of PEM, its certificate ~700).
inline constexpr size_t kMaxIdentityFileSize = 64 * 1024;

struct Identity {
  std::string key_pem;      // the private key, PEM (secret: never log it)
  std::string cert_pem;     // the certificate, PEM
  std::string fingerprint;  // of the key, canonical "sha256:<64 hex>"
};

// Reads DIR/identity.key and DIR/identity.crt.
// kNotFound when neither exists. kCorrupt, naming the file and what to do,
// when: only one exists; either cannot be opened or read (the errno is
// kept: Status::errno_value()), is not a regular file or is larger than
// kMaxIdentityFileSize; the key file is accessible to group or others
// (like ssh, which refuses such a key); the key is not an unencrypted PEM
// Ed25519 key; the certificate is not PEM X.509; or the certificate is not
// for that key. The PEM texts returned are re-encoded from what was
// parsed, so they hold exactly one key and one certificate.
Result<Identity> load_identity(const std::string& state_dir);

// As load_identity, but makes what is missing:
// - neither file: creates DIR (0700) if it does not exist (its parent
//   must), a fresh Ed25519 key and a self-signed certificate for it
//   (CN "mirrorfs <hostname>", valid from now - 1 day for 100 years, a
//   random serial); *created = true.
// - the key without the certificate (a crash between the two writes, or
//   a deleted certificate): re-issues the certificate for the key, which
//   keeps the fingerprint; *created = false.
// - the certificate without the key: kCorrupt, never a new key behind the
//   user's back (the fingerprint peers pinned would change).
// Each file is written to a temporary file beside it (".identity.key.XXXXXX",
// mode 0600 for the key, 0644 for the certificate), fsynced, renamed into
// place, and the directory fsynced: a crash leaves the old state or the new
// one, never half a key (at worst an unused temporary file). The key is
// renamed with RENAME_NOREPLACE, so of two concurrent creators one wins and
// both return its identity. `created` may be null.
Result<Identity> load_or_create_identity(const std::string& state_dir,
                                         bool* created);

}  // namespace mirrorfs::replicator::tls

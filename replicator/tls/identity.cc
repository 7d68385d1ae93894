#include "replicator/tls/identity.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/fd_io.h"
#include "replicator/tls/certificate.h"
#include "replicator/tls/openssl_util.h"

namespace mirrorfs::replicator::tls {
namespace {

using Fd = core::UniqueFd;

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status unreadable(int err, const std::string& path, std::string_view what) {
  return Status(
      Code::kCorrupt,
      "cannot " + std::string(what) + " " + path + ": " + std::strerror(err),
      err);
}

// The contents of `path`, or nullopt when it does not exist. A key file
// (`secret`) must not be accessible to group or others.
Result<std::optional<std::string>> read_identity_file(const std::string& path,
                                                      bool secret) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return unreadable(errno, path, "open");
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return unreadable(errno, path, "stat");
  if (!S_ISREG(st.st_mode)) {
    return Status::corrupt(path + " is not a regular file");
  }
  if (secret && (st.st_mode & 077) != 0) {
    return Status::corrupt(
        path + " has mode " + octal_mode(st.st_mode) +
        ": a private key must be accessible to its owner only; refusing it "
        "(chmod 600 " +
        path + ")");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxIdentityFileSize) {
    return Status::corrupt(path + " is larger than " +
                           std::to_string(kMaxIdentityFileSize) + " bytes");
  }
  // One byte more than allowed, so a file that grew since fstat shows.
  std::string data(kMaxIdentityFileSize + 1, '\0');
  auto n = core::read_full(fd.get(), reinterpret_cast<uint8_t*>(data.data()),
                           data.size());
  if (!n) return unreadable(n.status().errno_value(), path, "read");
  if (*n > kMaxIdentityFileSize) {
    return Status::corrupt(path + " is larger than " +
                           std::to_string(kMaxIdentityFileSize) + " bytes");
  }
  data.resize(*n);
  return std::optional<std::string>(std::move(data));
}

std::string key_path(const std::string& dir) {
  return dir + "/" + kIdentityKeyFile;
}
std::string cert_path(const std::string& dir) {
  return dir + "/" + kIdentityCertFile;
}

Status key_lost(const std::string& dir) {
  return Status::corrupt(
      key_path(dir) + " is missing but " + cert_path(dir) +
      " exists: the key is lost. Restore it from a backup, or remove " +
      cert_path(dir) +
      " to make a new identity (a new fingerprint every peer must be given)");
}

// The key in `key_pem`, checked to be an Ed25519 key.
Result<PkeyPtr> parse_key(const std::string& dir, std::string_view key_pem) {
  MIRRORFS_ASSIGN_OR_RETURN(key, parse_private_key_pem(key_pem, key_path(dir)));
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Status::corrupt(key_path(dir) + " holds a " +
                           EVP_PKEY_get0_type_name(key.get()) +
                           " key; mirrorfs uses Ed25519 keys only");
  }
  return std::move(key);
}

Result<Identity> parse_identity(const std::string& dir,
                                std::string_view key_pem,
                                std::string_view cert_pem) {
  MIRRORFS_ASSIGN_OR_RETURN(key, parse_key(dir, key_pem));
  MIRRORFS_ASSIGN_OR_RETURN(cert,
                            parse_certificate_pem(cert_pem, cert_path(dir)));
  ERR_clear_error();
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::corrupt(cert_path(dir) + " is not a certificate for " +
                           key_path(dir) + " (it holds another key)");
  }
  Identity id;
  MIRRORFS_ASSIGN_OR_RETURN(key_text, private_key_to_pem(key.get()));
  MIRRORFS_ASSIGN_OR_RETURN(cert_text, certificate_to_pem(cert.get()));
  id.key_pem = std::move(key_text);
  id.cert_pem = std::move(cert_text);
  id.fingerprint = fingerprint_of_key(key.get());
  if (id.fingerprint.empty()) {
    return openssl_status(Code::kInternal, "fingerprint of " + key_path(dir));
  }
  return id;
}

Status sync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Status::from_errno(errno, "open " + dir);
  if (::fsync(fd.get()) != 0) return Status::from_errno(errno, "fsync " + dir);
  return fd.close(dir);
}

// Writes `data` to DIR/NAME with `mode` by way of a synced temporary file.
// With `replace` false an existing DIR/NAME is left alone: kAlreadyExists.
Status write_file_atomically(const std::string& dir, const char* name,
                             std::string_view data, mode_t mode, bool replace) {
  const std::string path = dir + "/" + name;
  std::string tmp = dir + "/." + name + ".XXXXXX";
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));  // created 0600
  if (fd.get() < 0) return Status::from_errno(errno, "create " + tmp);
  Status st = ::fchmod(fd.get(), mode) == 0
                  ? Status::ok()
                  : Status::from_errno(errno, "chmod " + tmp);
  if (st) {
    st = core::write_full(
        fd.get(), reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  if (st && ::fsync(fd.get()) != 0)
    st = Status::from_errno(errno, "fsync " + tmp);
  if (st) st = fd.close(tmp);
  if (st) {
    const int r = replace ? ::rename(tmp.c_str(), path.c_str())
                          : ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD,
                                        path.c_str(), RENAME_NOREPLACE);
    if (r != 0) {
      st = errno == EEXIST ? Status(Code::kAlreadyExists, path + " exists")
                           : Status::from_errno(errno, "rename " + tmp);
    }
  }
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return sync_dir(dir);
}

struct IdentityFiles {
  std::optional<std::string> key, cert;
};

Result<IdentityFiles> read_identity_files(const std::string& dir) {
  IdentityFiles f;
  MIRRORFS_ASSIGN_OR_RETURN(key, read_identity_file(key_path(dir), true));
  MIRRORFS_ASSIGN_OR_RETURN(cert, read_identity_file(cert_path(dir), false));
  f.key = std::move(key);
  f.cert = std::move(cert);
  return f;
}

// Issues a certificate for the key in `key_pem` and writes it.
Result<std::string> reissue_certificate(const std::string& dir,
                                        std::string_view key_pem) {
  MIRRORFS_ASSIGN_OR_RETURN(key, parse_key(dir, key_pem));
  MIRRORFS_ASSIGN_OR_RETURN(cert,
                            issue_self_signed(key.get(), host_common_name()));
  MIRRORFS_ASSIGN_OR_RETURN(pem, certificate_to_pem(cert.get()));
  MIRRORFS_RETURN_IF_ERROR(
      write_file_atomically(dir, kIdentityCertFile, pem, 0644, true));
  return std::move(pem);
}

}  // namespace

Result<Identity> load_identity(const std::string& state_dir) {
  MIRRORFS_ASSIGN_OR_RETURN(files, read_identity_files(state_dir));
  if (!files.key && !files.cert) {
    return Status(Code::kNotFound, "no identity in " + state_dir +
                                       " (make one with 'mirrorfs keygen')");
  }
  if (!files.key) return key_lost(state_dir);
  if (!files.cert) {
    return Status::corrupt(cert_path(state_dir) + " is missing (" +
                           key_path(state_dir) +
                           " exists); 'mirrorfs keygen' re-issues it from "
                           "the key, keeping the fingerprint");
  }
  return parse_identity(state_dir, *files.key, *files.cert);
}

Result<Identity> load_or_create_identity(const std::string& state_dir,
                                         bool* created) {
  if (created != nullptr) *created = false;
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::from_errno(errno, "create state directory " + state_dir);
  }
  // Twice at most: a concurrent creator may win the race for the key.
  for (int attempt = 0;; ++attempt) {
    MIRRORFS_ASSIGN_OR_RETURN(files, read_identity_files(state_dir));
    if (files.key && files.cert) {
      return parse_identity(state_dir, *files.key, *files.cert);
    }
    bool made_key = false;
    if (!files.key) {
      if (files.cert) return key_lost(state_dir);
      MIRRORFS_ASSIGN_OR_RETURN(key, generate_ed25519_key());
      MIRRORFS_ASSIGN_OR_RETURN(key_pem, private_key_to_pem(key.get()));
      const Status st = write_file_atomically(state_dir, kIdentityKeyFile,
                                              key_pem, 0600, false);
      if (st.code() == Code::kAlreadyExists && attempt == 0) continue;
      MIRRORFS_RETURN_IF_ERROR(st);
      files.key = std::move(key_pem);
      made_key = true;
    }
    // The key is in place: a crash from here on leaves a key whose
    // certificate the next call re-issues.
    MIRRORFS_ASSIGN_OR_RETURN(cert_pem,
                              reissue_certificate(state_dir, *files.key));
    auto id = parse_identity(state_dir, *files.key, cert_pem);
    if (id && created != nullptr) *created = made_key;
    return id;
  }
}

}  // namespace mirrorfs::replicator::tls

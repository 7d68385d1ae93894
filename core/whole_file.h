// Whole-file operations over file descriptors: the thin I/O layer on top
// of the streaming jobs. Used by the rdiff-compatible commands and, later,
// by the replicator. The descriptors are owned by the caller; these
// functions neither close them nor seek non-seekable ones.
#pragma once

#include <cstdint>
#include <memory>

#include "core/patch.h"
#include "core/signature.h"
#include "core/signature_format.h"
#include "core/stats.h"
#include "core/status.h"

namespace mirrorfs::core {

struct WholeFileOptions {
  size_t buffer_size = 4u << 20;  // bytes read or written per system call
  unsigned threads = 0;           // hashing / delta threads; 0: one per core
  // A delta of a regular file at least this large is computed by two
  // threads (parallel_delta.h); tests lower it to split small files.
  uint64_t parallel_min_bytes = 8u << 20;
};

// Writes the signature of everything readable from basis_fd to sig_fd.
// The parameters are resolved against the basis size when basis_fd is a
// regular file (as rdiff does), else as for unknown size.
Result<Stats> signature_fd(int basis_fd, int sig_fd,
                           const SignatureRequest& req,
                           const WholeFileOptions& opt = {});

// Reads a signature file and builds its index.
Result<std::unique_ptr<Signature>> load_signature_fd(
    int sig_fd, const WholeFileOptions& opt = {});

// Writes the delta of everything readable from new_fd against sig.
Result<Stats> delta_fd(const Signature& sig, int new_fd, int delta_fd,
                       const WholeFileOptions& opt = {});

// Applies the delta read from delta_fd to the basis, writing the new file
// to out_fd. REQUIRES: basis_fd supports pread (a regular file or device).
Result<Stats> patch_fd(int basis_fd, int delta_fd, int out_fd,
                       const WholeFileOptions& opt = {});

// A BasisReader over a file descriptor, by pread.
std::unique_ptr<BasisReader> new_fd_basis_reader(int fd);

}  // namespace mirrorfs::core

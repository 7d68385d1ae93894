// The content hash: the whole-file BLAKE2b that names a version of a file
// across mirrorfs (catalog `hash`, signature cache keys, the mirror's
// check before it renames a patched file over its target).
//
// It is a two-level BLAKE2b-256: the file is cut into 1 MiB leaves, each
// leaf hashed alone, and the root hashes the leaf digests followed by the
// file size and a domain string:
//
//   leaf_i = BLAKE2b-256(bytes [i MiB, (i + 1) MiB))      i = 0 .. n-1
//   hash   = BLAKE2b-256(leaf_0 || ... || leaf_{n-1} || le64(size) ||
//                        "mirrorfs-content-v1")
//
// with n = ceil(size / 1 MiB) (no leaf for an empty file). Two levels
// rather than one pass so that a version differing from a known one in a
// few leaves can be hashed by reading only those leaves (given the known
// leaf digests), and so that leaves can be hashed on several cores.
// Spec: docs/formats/content-hash.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/blake2b.h"
#include "core/status.h"

namespace mirrorfs::core {

inline constexpr size_t kContentHashLen = 32;
inline constexpr size_t kContentLeafLen = 1u << 20;
using ContentHash = std::array<uint8_t, kContentHashLen>;

// Streaming: update() with the file's bytes in order, then finish().
class ContentHasher {
 public:
  ContentHasher();
  void update(const uint8_t* data, size_t len);
  // The hash of everything updated so far. The hasher must not be used
  // afterwards.
  ContentHash finish();
  uint64_t size() const { return size_; }
  // Leaf digests completed so far (the last, partial leaf is added by
  // finish(); after finish() this is every leaf, and stays readable).
  const std::vector<ContentHash>& leaves() const { return leaves_; }

 private:
  void close_leaf();

  Blake2b leaf_;
  size_t leaf_have_ = 0;
  uint64_t size_ = 0;
  std::vector<ContentHash> leaves_;
};

// The root over given leaf digests and size (the last step of the hash).
ContentHash content_hash_from_leaves(const std::vector<ContentHash>& leaves,
                                     uint64_t size);

// The hash of data[0..len).
ContentHash content_hash(const uint8_t* data, size_t len);

// Reads fd from offset 0 to its end by pread and hashes it; *leaves (when
// not null) receives the leaf digests.
Result<ContentHash> content_hash_fd(int fd,
                                    std::vector<ContentHash>* leaves = nullptr);

// "blake2b:" followed by 64 lowercase hex digits, for logs and status.
std::string content_hash_hex(const ContentHash& h);

}  // namespace mirrorfs::core

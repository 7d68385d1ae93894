// The signature cache: librsync signatures keyed by the BLAKE2b hash of
// the content they sign (table `signatures`). It holds the signature of
// each version a mirror holds, so the replicator can delta against it
// with no round trip. One row per content hash, however many files or
// mirrors share that content.
//
// Thread-safety: one thread at a time, as the Database it uses.
// Each method is one statement (get(): one read transaction, unless the
// caller already holds one), so atomic alone; every method may also run
// inside a transaction the caller holds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"
#include "db/sqlite.h"

namespace mirrorfs::db {

class SignatureCache {
 public:
  // REQUIRES: db is migrated to schema v2 and outlives the cache.
  static Result<std::unique_ptr<SignatureCache>> open(Database& db);

  SignatureCache(const SignatureCache&) = delete;
  SignatureCache& operator=(const SignatureCache&) = delete;

  // What a stored version is made of besides its signature: its size and
  // its content-hash leaf digests (core/content_hash.h), concatenated.
  struct Shape {
    uint64_t size = 0;
    std::vector<uint8_t> leaves;  // 32 bytes a leaf
  };

  // Stores `sig` (and `shape`, when given) under `hash`. If `hash` is
  // already stored its signature stays, whatever `sig` holds: the first
  // signature stored for a content wins (any signature of the content is
  // a valid basis); a shape missing from the row is filled in.
  // REQUIRES: hash is non-empty (kInvalidArgument otherwise).
  Status put(std::span<const uint8_t> hash, std::span<const uint8_t> sig,
             const Shape* shape = nullptr);
  // The shape stored under `hash`; nullopt when the row has none,
  // kNotFound when there is no row.
  Result<std::optional<Shape>> shape(std::span<const uint8_t> hash);

  // The signature stored under `hash`, or kNotFound. Read with incremental
  // blob I/O straight into the returned vector (one copy, no statement
  // row buffer).
  Result<std::vector<uint8_t>> get(std::span<const uint8_t> hash);

  Result<bool> contains(std::span<const uint8_t> hash);

  // Deletes every signature whose hash neither an inode (inodes.hash) nor
  // a mirror's version (mirror_files.hash) refers to; returns how many.
  Result<uint64_t> gc();

  Result<uint64_t> count();

 private:
  explicit SignatureCache(Database& db) : db_(db) {}

  Database& db_;
  Statement put_, find_, shape_, gc_, count_;
};

}  // namespace mirrorfs::db

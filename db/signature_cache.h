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

  // Stores `sig` under `hash`. If `hash` is already stored this is a
  // no-op, whatever `sig` holds: the first signature stored for a content
  // wins (mirrorfs signs with fixed parameters, so they agree).
  // REQUIRES: hash is non-empty (kInvalidArgument otherwise).
  Status put(std::span<const uint8_t> hash, std::span<const uint8_t> sig);

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
  Statement put_, find_, gc_, count_;
};

}  // namespace mirrorfs::db

// The `data` payload of setattr, create, mkdir, mknod and symlink journal
// records: which attributes a change set, and their values. Spec:
// docs/state-db.md ("Attribute payload"). Written by the mount, read by
// the replicator; decode() is bounds-checked (a journal row may come from
// a damaged file).
#pragma once

#include <time.h>

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace mirrorfs::db {

// A stat time as payloads, catalogs and the wire carry it: nanoseconds
// since the epoch, signed.
inline int64_t ns_of(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

struct AttrPayload {
  // Bits of `valid`; never renumber.
  static constexpr uint32_t kMode = 1u << 0;
  static constexpr uint32_t kUid = 1u << 1;
  static constexpr uint32_t kGid = 1u << 2;
  static constexpr uint32_t kSize = 1u << 3;
  static constexpr uint32_t kAtime = 1u << 4;
  static constexpr uint32_t kMtime = 1u << 5;
  static constexpr uint32_t kRdev = 1u << 6;

  uint32_t valid = 0;
  uint32_t mode = 0;  // st_mode, type bits included
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  uint64_t rdev = 0;

  bool operator==(const AttrPayload&) const = default;

  std::vector<uint8_t> encode() const;
  // kCorrupt for a wrong version or length.
  static Result<AttrPayload> decode(std::span<const uint8_t> data);
};

}  // namespace mirrorfs::db

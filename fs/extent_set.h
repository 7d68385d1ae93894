// The byte ranges of one file written since its extents were last
// journaled: kept in memory by the mount (no database work per write())
// and taken at flush/fsync/release for one group commit.
//
// Ranges that overlap or touch are merged. The set is bounded: past
// kMaxExtents ranges it coarsens them to ever larger aligned granules, so
// a random-write workload costs bounded memory and the journal may
// over-report what was written (safe: the replicator reads a little more),
// never under-report.
//
// Thread-safety: none; the owner (fs::Inode) guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace mirrorfs::fs {

struct Extent {
  uint64_t off = 0;
  uint64_t len = 0;
  bool operator==(const Extent&) const = default;
};

class ExtentSet {
 public:
  static constexpr size_t kMaxExtents = 16384;

  // Adds [off, off + len); len 0 adds nothing.
  void add(uint64_t off, uint64_t len);
  bool empty() const { return ranges_.empty(); }
  size_t size() const { return ranges_.size(); }
  // The ranges in ascending order, disjoint and not touching; leaves the
  // set empty.
  std::vector<Extent> take();

 private:
  void insert(uint64_t off, uint64_t end);  // merges; no bound check
  void coarsen();

  std::map<uint64_t, uint64_t> ranges_;  // start -> end (exclusive)
  uint64_t granule_ = 0;                 // 0 = exact; else align to this
};

}  // namespace mirrorfs::fs

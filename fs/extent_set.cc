#include "fs/extent_set.h"

#include <cassert>
#include <iterator>
#include <tuple>
#include <limits>

namespace mirrorfs::fs {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// [off, end) widened to multiples of g (g > 0), saturating at the top.
std::pair<uint64_t, uint64_t> round_out(uint64_t off, uint64_t end,
                                        uint64_t g) {
  const uint64_t rem = end % g;
  if (rem != 0) end = end > kMax - g ? kMax : end + g - rem;
  return {off - off % g, end};
}

}  // namespace

void ExtentSet::add(uint64_t off, uint64_t len) {
  if (len == 0) return;
  uint64_t end = off > kMax - len ? kMax : off + len;
  if (granule_ != 0) std::tie(off, end) = round_out(off, end, granule_);
  insert(off, end);
  if (ranges_.size() > kMaxExtents) coarsen();
}

void ExtentSet::insert(uint64_t off, uint64_t end) {
  // The first range that could touch [off, end): the last starting at or
  // before off, if it reaches off.
  auto it = ranges_.upper_bound(off);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= off) it = prev;
  }
  while (it != ranges_.end() && it->first <= end) {
    off = std::min(off, it->first);
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(off, end);
}

void ExtentSet::coarsen() {
  // Double the granule until the merged set is at most half the bound,
  // so coarsening stays rare.
  while (ranges_.size() > kMaxExtents / 2) {
    granule_ = granule_ == 0 ? 4096 : granule_ * 2;
    std::map<uint64_t, uint64_t> old;
    old.swap(ranges_);
    for (const auto& [start, end] : old) {
      const auto [o, e] = round_out(start, end, granule_);
      insert(o, e);
    }
  }
}

std::vector<Extent> ExtentSet::take() {
  std::vector<Extent> out;
  out.reserve(ranges_.size());
  for (const auto& [start, end] : ranges_) out.push_back({start, end - start});
  ranges_.clear();
  granule_ = 0;
  return out;
}

}  // namespace mirrorfs::fs

// A plain, whole-buffer reference reader of librsync deltas, written
// straight from docs/formats/delta.md and independent of core/patch.cc.
// The fuzz targets use it as an oracle.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/coding.h"
#include "core/delta_format.h"

namespace mirrorfs::testing {

enum class RefVerdict {
  kOk,         // a valid delta
  kCorrupt,    // definitely invalid
  kStopped,    // a callback returned false: no verdict
  kAmbiguous,  // valid but for a point the spec leaves open: a zero-length
               // literal (librsync never writes one) or bytes after END
};

// Walks the commands of delta `d`, calling on_literal(const uint8_t* p,
// uint64_t len) and on_copy(uint64_t pos, uint64_t len) in order; either
// may return false to stop. A zero-length COPY, a reserved opcode or a
// delta that ends before END is corrupt. COPY bounds are the callback's
// business. A literal cut short by the end of the delta is passed (what
// there is of it) before kCorrupt: a streaming patcher may write it.
template <typename OnLiteral, typename OnCopy>
RefVerdict walk_delta(std::span<const uint8_t> d, OnLiteral&& on_literal,
                      OnCopy&& on_copy) {
  bool ambiguous = false;
  size_t i = 0;
  auto have = [&](size_t n) { return d.size() - i >= n; };
  if (!have(4) || get_be32(d.data()) != core::kDeltaMagic)
    return RefVerdict::kCorrupt;
  i = 4;
  for (;;) {
    if (!have(1)) return RefVerdict::kCorrupt;  // ended before END
    const uint8_t op = d[i++];
    if (op == core::kOpEnd) {
      if (i != d.size()) ambiguous = true;
      return ambiguous ? RefVerdict::kAmbiguous : RefVerdict::kOk;
    }
    if (op < core::kOpCopyBase) {  // a literal
      uint64_t len = op;
      if (op > core::kOpLiteralImmediateMax) {
        const size_t w = size_t{1} << (op - core::kOpLiteralN1);
        if (!have(w)) return RefVerdict::kCorrupt;
        len = get_be(d.data() + i, static_cast<int>(w));
        i += w;
        if (len == 0) ambiguous = true;
      }
      if (d.size() - i < len) {  // truncated: what a streaming reader saw
        on_literal(d.data() + i, d.size() - i);
        return RefVerdict::kCorrupt;
      }
      if (!on_literal(d.data() + i, len)) return RefVerdict::kStopped;
      i += len;
      continue;
    }
    if (op > core::kOpCopyLast) return RefVerdict::kCorrupt;  // reserved
    const size_t wp = size_t{1} << ((op - core::kOpCopyBase) / 4);
    const size_t wl = size_t{1} << ((op - core::kOpCopyBase) % 4);
    if (!have(wp + wl)) return RefVerdict::kCorrupt;
    const uint64_t pos = get_be(d.data() + i, static_cast<int>(wp));
    const uint64_t len = get_be(d.data() + i + wp, static_cast<int>(wl));
    i += wp + wl;
    if (len == 0) return RefVerdict::kCorrupt;
    if (!on_copy(pos, len)) return RefVerdict::kStopped;
  }
}

enum class RefPatch { kOk, kCorrupt, kTooBig, kAmbiguous };

// Applies delta `d` to `basis` into *out. kTooBig: the output would
// exceed max_out (no verdict on the rest). A COPY outside the basis is
// corrupt. When corrupt, *out is the longest output a streaming patcher
// may have written before noticing: it includes the available part of a
// truncated literal and the in-basis part of a COPY that runs past the end.
inline RefPatch reference_patch(std::span<const uint8_t> basis,
                                std::span<const uint8_t> d,
                                std::vector<uint8_t>* out, size_t max_out) {
  bool too_big = false, out_of_basis = false;
  const RefVerdict v = walk_delta(
      d,
      [&](const uint8_t* p, uint64_t len) {
        if (len > max_out - out->size()) return !(too_big = true);
        out->insert(out->end(), p, p + len);
        return true;
      },
      [&](uint64_t pos, uint64_t len) {
        if (pos > basis.size() || len > basis.size() - pos) {
          // A patcher that does not know the basis size up front may
          // write the part inside the basis before it fails.
          if (pos < basis.size()) {
            const size_t n =
                std::min<size_t>(basis.size() - pos, max_out - out->size());
            out->insert(out->end(), basis.data() + pos, basis.data() + pos + n);
          }
          return !(out_of_basis = true);
        }
        if (len > max_out - out->size()) return !(too_big = true);
        out->insert(out->end(), basis.data() + pos, basis.data() + pos + len);
        return true;
      });
  switch (v) {
    case RefVerdict::kOk:
      return RefPatch::kOk;
    case RefVerdict::kAmbiguous:
      return RefPatch::kAmbiguous;
    case RefVerdict::kCorrupt:
      return RefPatch::kCorrupt;
    case RefVerdict::kStopped:
      break;
  }
  return out_of_basis ? RefPatch::kCorrupt : RefPatch::kTooBig;
}

}  // namespace mirrorfs::testing

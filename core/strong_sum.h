// Strong block sums: BLAKE2b-256 or MD4, truncated to strong_len.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/signature_format.h"

namespace mirrorfs::core {

// Writes the strong sum of p[0..n) truncated to `strong_len` bytes.
// REQUIRES: strong_len <= max_strong_len for the kind.
void strong_sum(StrongKind kind, const uint8_t* p, size_t n, uint8_t* out,
                size_t strong_len);

// Four blocks of the same length at once (multi-buffer BLAKE2b where the
// CPU allows; MD4 falls back to one at a time).
void strong_sum_x4(StrongKind kind, const uint8_t* const p[4], size_t n,
                   uint8_t* const out[4], size_t strong_len);

}  // namespace mirrorfs::core

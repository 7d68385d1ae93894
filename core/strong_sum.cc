#include "core/strong_sum.h"

#include <nettle/md4.h>

#include <cassert>
#include <cstring>

#include "core/blake2b.h"

namespace mirrorfs::core {

void strong_sum(StrongKind kind, const uint8_t* p, size_t n, uint8_t* out,
                size_t strong_len) {
  if (kind == StrongKind::kBlake2) {
    assert(strong_len <= kBlake2SumLen);
    uint8_t full[kBlake2SumLen];
    // librsync's BLAKE2b-256: digest length 32 in the parameter block,
    // then truncated; not a truncated BLAKE2b-512.
    blake2b(p, n, full, kBlake2SumLen);
    std::memcpy(out, full, strong_len);
  } else {
    assert(strong_len <= kMd4SumLen);
    md4_ctx ctx;
    md4_init(&ctx);
    md4_update(&ctx, n, p);
    md4_digest(&ctx, strong_len, out);  // nettle truncates for us
  }
}

void strong_sum_x4(StrongKind kind, const uint8_t* const p[4], size_t n,
                   uint8_t* const out[4], size_t strong_len) {
  if (kind != StrongKind::kBlake2) {
    for (int i = 0; i < 4; ++i) strong_sum(kind, p[i], n, out[i], strong_len);
    return;
  }
  uint8_t full[4][kBlake2SumLen];
  uint8_t* const outs[4] = {full[0], full[1], full[2], full[3]};
  blake2b_x4(p, n, outs, kBlake2SumLen);
  for (int i = 0; i < 4; ++i) std::memcpy(out[i], full[i], strong_len);
}

}  // namespace mirrorfs::core

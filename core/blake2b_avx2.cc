// AVX2 BLAKE2b kernels, reached only through the runtime dispatch in
// blake2b.cc. Every function carries target("avx2"); never build this file
// with -march flags (gcc 12's -march=native AVX-512 tuning made BLAKE2b 4x
// slower).
//
//  - blake2b_x4_avx2: four equal-length messages at once. Each register holds
//    the same state word of the four lanes, so one vector G is four scalar Gs.
//  - blake2b_compress_avx2: one message, one state row per register (a, b, c,
//    d), diagonalised by lane permutes.
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include <cstring>
#include <utility>

#include "core/blake2b.h"
#include "core/blake2b_constants.h"

namespace mirrorfs::core::internal {
namespace {

#define B2V inline __attribute__((target("avx2"), always_inline))

using blake2b_internal::kIV;
using blake2b_internal::kSigma;

// Byte shuffles rotating each 64-bit word right by 24 and by 16 bits.
alignas(32) constexpr uint8_t kRot24[32] = {
    3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10,
    3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10};
alignas(32) constexpr uint8_t kRot16[32] = {
    2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9,
    2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9};

// Returns x unchanged but hides its origin from the optimiser. Used so that
// a + m + b is computed as (a + m) + b (b is the newest value, so this is one
// add on the dependency chain, not two), and to stop broadcasts from being
// rewritten into port-5 shuffles.
B2V __m256i opaque(__m256i x) {
  asm("" : "+x"(x));
  return x;
}

B2V __m256i add(__m256i a, __m256i b) { return _mm256_add_epi64(a, b); }
B2V __m256i xor_(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
B2V __m256i bcast(uint64_t x) {
  return _mm256_set1_epi64x(static_cast<int64_t>(x));
}

B2V __m256i rot32(__m256i x) {
  return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1));
}
// vpshufb with the mask as a memory operand (inline asm, in both assembler
// dialects): the x4 kernel needs all 16 ymm registers for state, and
// compilers otherwise pin both masks in registers (and clang turns rot16 into
// two shuffles). Worth ~2% with gcc, ~10% with clang.
B2V __m256i rot24(__m256i x) {
  asm("vpshufb {%1, %0, %0|%0, %0, %1}" : "+x"(x) : "m"(kRot24));
  return x;
}
B2V __m256i rot16(__m256i x) {
  asm("vpshufb {%1, %0, %0|%0, %0, %1}" : "+x"(x) : "m"(kRot16));
  return x;
}
B2V __m256i rot63(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi64(x, 63), add(x, x));
}

// ---------------------------------------------------------------------------
// 4-lane kernel.

// Four Gs side by side (a column or diagonal step), interleaved step by step
// so the independent chains overlap; one G at a time is 2x slower here.
// a/b/c/d index the state words of each G.
template <int R, int Diag>
B2V void x4_half_round(__m256i* v, const __m256i* m) {
  constexpr const uint8_t* s = kSigma[R] + 8 * Diag;
  constexpr int a[4] = {0, 1, 2, 3};
  constexpr int b[4] = {Diag ? 5 : 4, Diag ? 6 : 5, Diag ? 7 : 6, Diag ? 4 : 7};
  constexpr int c[4] = {Diag ? 10 : 8, Diag ? 11 : 9, Diag ? 8 : 10,
                        Diag ? 9 : 11};
  constexpr int d[4] = {Diag ? 15 : 12, Diag ? 12 : 13, Diag ? 13 : 14,
                        Diag ? 14 : 15};
  // Every loop must be fully unrolled so that v[] lives in registers.
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
    v[a[i]] = add(opaque(add(v[a[i]], m[s[2 * i]])), v[b[i]]);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v[d[i]] = rot32(xor_(v[d[i]], v[a[i]]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v[c[i]] = add(v[c[i]], v[d[i]]);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v[b[i]] = rot24(xor_(v[b[i]], v[c[i]]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i)
    v[a[i]] = add(opaque(add(v[a[i]], m[s[2 * i + 1]])), v[b[i]]);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v[d[i]] = rot16(xor_(v[d[i]], v[a[i]]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v[c[i]] = add(v[c[i]], v[d[i]]);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v[b[i]] = rot63(xor_(v[b[i]], v[c[i]]));
}

template <size_t... R>
B2V void x4_rounds(__m256i* v, const __m256i* m, std::index_sequence<R...>) {
  ((x4_half_round<R, 0>(v, m), x4_half_round<R, 1>(v, m)), ...);
}

// m[j] = word j of the blocks at p[0..3], lane i from p[i].
B2V void x4_load_transposed(const uint8_t* const p[4], __m256i m[16]) {
  for (int k = 0; k < 4; ++k) {
    const __m256i a =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[0] + 32 * k));
    const __m256i b =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[1] + 32 * k));
    const __m256i c =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[2] + 32 * k));
    const __m256i d =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p[3] + 32 * k));
    const __m256i ab_lo = _mm256_unpacklo_epi64(a, b);  // a0 b0 a2 b2
    const __m256i ab_hi = _mm256_unpackhi_epi64(a, b);  // a1 b1 a3 b3
    const __m256i cd_lo = _mm256_unpacklo_epi64(c, d);
    const __m256i cd_hi = _mm256_unpackhi_epi64(c, d);
    m[4 * k + 0] = _mm256_permute2x128_si256(ab_lo, cd_lo, 0x20);
    m[4 * k + 1] = _mm256_permute2x128_si256(ab_hi, cd_hi, 0x20);
    m[4 * k + 2] = _mm256_permute2x128_si256(ab_lo, cd_lo, 0x31);
    m[4 * k + 3] = _mm256_permute2x128_si256(ab_hi, cd_hi, 0x31);
  }
}

// One block of each lane. t0 is the byte count including this block (the
// same in every lane; t1 is 0 for size_t lengths); f0 is ~0 for the last.
B2V void x4_compress(__m256i h[8], const uint8_t* const p[4], uint64_t t0,
                     uint64_t f0) {
  __m256i m[16];
  x4_load_transposed(p, m);
  __m256i v[16];
  for (int i = 0; i < 8; ++i) v[i] = h[i];
  for (int i = 0; i < 4; ++i) v[8 + i] = bcast(kIV[i]);
  v[12] = bcast(kIV[4] ^ t0);
  v[13] = bcast(kIV[5]);
  v[14] = bcast(kIV[6] ^ f0);
  v[15] = bcast(kIV[7]);
  x4_rounds(v, m, std::make_index_sequence<12>());
  for (int i = 0; i < 8; ++i) h[i] = xor_(h[i], xor_(v[i], v[i + 8]));
}

// ---------------------------------------------------------------------------
// Single-message kernel. Rows a, b, c, d are v[0..3], v[4..7], v[8..11],
// v[12..15]. For the diagonal step b stays put and a, c, d are rotated by
// lanes: b is the last value each step produces, so permuting it would put
// the 3-cycle vpermq latency on the critical path; a, c and d have slack.

// Message vector (w0, w1, w2, w3) from broadcasts and blends, which avoid
// the one shuffle port most cores have for cross-lane permutes.
B2V __m256i msg_word(const uint8_t* block, int w) {
  uint64_t x;
  std::memcpy(&x, block + 8 * w, 8);
  return opaque(bcast(x));
}
template <int W0, int W1, int W2, int W3>
B2V __m256i msg(const uint8_t* block) {
  const __m256i lo =
      _mm256_blend_epi32(msg_word(block, W0), msg_word(block, W1), 0x0C);
  const __m256i hi =
      _mm256_blend_epi32(msg_word(block, W2), msg_word(block, W3), 0xC0);
  return _mm256_blend_epi32(lo, hi, 0xF0);
}

B2V void g_rows(__m256i& a, __m256i& b, __m256i& c, __m256i& d, __m256i mx,
                __m256i my) {
  a = add(opaque(add(a, mx)), b);
  d = rot32(xor_(d, a));
  c = add(c, d);
  b = rot24(xor_(b, c));
  a = add(opaque(add(a, my)), b);
  d = rot16(xor_(d, a));
  c = add(c, d);
  b = rot63(xor_(b, c));
}

template <int R>
B2V void round_rows(__m256i& a, __m256i& b, __m256i& c, __m256i& d,
                    const uint8_t* block) {
  constexpr const uint8_t* s = kSigma[R];
  g_rows(a, b, c, d, msg<s[0], s[2], s[4], s[6]>(block),
         msg<s[1], s[3], s[5], s[7]>(block));
  // Lane j now computes the diagonal G that uses b[j]: a[j-1], c[j+1], d[j+2].
  a = _mm256_permute4x64_epi64(a, _MM_SHUFFLE(2, 1, 0, 3));
  c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(0, 3, 2, 1));
  d = _mm256_permute4x64_epi64(d, _MM_SHUFFLE(1, 0, 3, 2));
  g_rows(a, b, c, d, msg<s[14], s[8], s[10], s[12]>(block),
         msg<s[15], s[9], s[11], s[13]>(block));
  a = _mm256_permute4x64_epi64(a, _MM_SHUFFLE(0, 3, 2, 1));
  c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(2, 1, 0, 3));
  d = _mm256_permute4x64_epi64(d, _MM_SHUFFLE(1, 0, 3, 2));
}

template <size_t... R>
B2V void rounds_rows(__m256i& a, __m256i& b, __m256i& c, __m256i& d,
                     const uint8_t* block, std::index_sequence<R...>) {
  (round_rows<R>(a, b, c, d, block), ...);
}

}  // namespace

// Same contract as compress_scalar in blake2b.cc.
__attribute__((target("avx2"))) void blake2b_compress_avx2(
    uint64_t h[8], const uint8_t* blocks, size_t n, uint64_t t[2], uint64_t inc,
    uint64_t f0) {
  __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h));
  __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 4));
  const __m256i iv_lo =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kIV));
  const __m256i iv_hi =
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kIV + 4));
  for (; n > 0; --n, blocks += kBlake2bBlockSize) {
    t[0] += inc;
    t[1] += (t[0] < inc);
    const __m256i a0 = a, b0 = b;
    __m256i c = iv_lo;
    __m256i d = xor_(iv_hi, _mm256_setr_epi64x(static_cast<int64_t>(t[0]),
                                               static_cast<int64_t>(t[1]),
                                               static_cast<int64_t>(f0), 0));
    rounds_rows(a, b, c, d, blocks, std::make_index_sequence<12>());
    a = xor_(a0, xor_(a, c));
    b = xor_(b0, xor_(b, d));
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(h), a);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + 4), b);
}

__attribute__((target("avx2"))) void blake2b_x4_avx2(const uint8_t* const in[4],
                                                     size_t len,
                                                     uint8_t* const out[4],
                                                     size_t out_len) {
  __m256i h[8];
  for (int i = 0; i < 8; ++i) h[i] = bcast(kIV[i]);
  // Parameter block: digest length, key length 0, fanout 1, depth 1.
  h[0] = xor_(h[0], bcast(0x01010000ULL ^ out_len));

  // All blocks but the last are read in place; the last one (possibly full,
  // possibly empty) is zero padded and flagged final. One call site keeps
  // the (large) inlined kernel from being duplicated.
  const size_t full = len == 0 ? 0 : (len - 1) / kBlake2bBlockSize;
  const size_t rest = len - full * kBlake2bBlockSize;
  alignas(32) uint8_t last[4][kBlake2bBlockSize] = {};
  for (int i = 0; i < 4; ++i) {
    if (rest > 0) std::memcpy(last[i], in[i] + full * kBlake2bBlockSize, rest);
  }
  for (size_t blk = 0; blk <= full; ++blk) {
    const bool final = blk == full;
    const size_t off = blk * kBlake2bBlockSize;
    const uint8_t* p[4];
    for (int i = 0; i < 4; ++i) p[i] = final ? last[i] : in[i] + off;
    x4_compress(h, p, final ? len : off + kBlake2bBlockSize,
                final ? ~uint64_t{0} : 0);
  }

  alignas(32) uint64_t words[8][4];
  for (int j = 0; j < 8; ++j)
    _mm256_store_si256(reinterpret_cast<__m256i*>(words[j]), h[j]);
  for (int i = 0; i < 4; ++i) {
    uint64_t digest[8];  // x86 is little-endian, like BLAKE2b's output encoding
    for (int j = 0; j < 8; ++j) digest[j] = words[j][i];
    std::memcpy(out[i], digest, out_len);
  }
}

}  // namespace mirrorfs::core::internal

#endif  // defined(__x86_64__) || defined(__i386__)

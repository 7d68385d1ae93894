#include "core/weak_sum.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mirrorfs::core {

namespace {

// M^n mod 2^32 by square-and-multiply.
uint32_t mult_pow(uint64_t n) {
  uint32_t result = 1, base = kRabinKarpMult;
  while (n) {
    if (n & 1) result *= base;
    base *= base;
    n >>= 1;
  }
  return result;
}

// The inverse of M mod 2^32 (M is odd), by Newton's iteration.
constexpr uint32_t inverse_mod_2_32(uint32_t a) {
  uint32_t x = a;  // correct to 3 bits for odd a
  for (int i = 0; i < 5; ++i) x *= 2 - a * x;
  return x;
}
constexpr uint32_t kRabinKarpInvMult = inverse_mod_2_32(kRabinKarpMult);
static_assert(kRabinKarpInvMult * kRabinKarpMult == 1u);

// sum(b_i * M^(n-1-i)) mod 2^32, portable: four independent Horner chains
// over interleaved bytes so the multiplies overlap.
uint32_t rk_poly_scalar(const uint8_t* p, size_t n) {
  const uint32_t m4 = mult_pow(4);
  uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 = a0 * m4 + p[i];
    a1 = a1 * m4 + p[i + 1];
    a2 = a2 * m4 + p[i + 2];
    a3 = a3 * m4 + p[i + 3];
  }
  const uint32_t m = kRabinKarpMult;
  uint32_t h = ((a0 * m + a1) * m + a2) * m + a3;
  for (; i < n; ++i) h = h * m + p[i];
  return h;
}

#if defined(__x86_64__)
// The same over 32 lanes of 32 bits (four AVX2 registers, stride 32):
// four independent multiply chains hide the latency of vpmulld.
__attribute__((target("avx2"))) uint32_t rk_poly_avx2(const uint8_t* p,
                                                      size_t n) {
  const __m256i m32 = _mm256_set1_epi32(static_cast<int>(mult_pow(32)));
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256(), _mm256_setzero_si256()};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m128i lo = _mm256_castsi256_si128(v);
    const __m128i hi = _mm256_extracti128_si256(v, 1);
    acc[0] = _mm256_add_epi32(_mm256_mullo_epi32(acc[0], m32),
                              _mm256_cvtepu8_epi32(lo));
    acc[1] = _mm256_add_epi32(_mm256_mullo_epi32(acc[1], m32),
                              _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
    acc[2] = _mm256_add_epi32(_mm256_mullo_epi32(acc[2], m32),
                              _mm256_cvtepu8_epi32(hi));
    acc[3] = _mm256_add_epi32(_mm256_mullo_epi32(acc[3], m32),
                              _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
  }
  // Lane j (0..31, in byte order within each 32-byte group) weighs
  // M^(31-j) relative to the group's end: Horner over the lanes in order.
  alignas(32) uint32_t lanes[32];
  for (int k = 0; k < 4; ++k) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8 * k), acc[k]);
  }
  uint32_t h = 0;
  for (int j = 0; j < 32; ++j) h = h * kRabinKarpMult + lanes[j];
  for (; i < n; ++i) h = h * kRabinKarpMult + p[i];
  return h;
}

bool have_avx2() {
  static const bool v = __builtin_cpu_supports("avx2");
  return v;
}
#endif

uint32_t rk_poly(const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  if (n >= 64 && have_avx2()) return rk_poly_avx2(p, n);
#endif
  return rk_poly_scalar(p, n);
}

}  // namespace

void Rollsum::update(const uint8_t* p, size_t n) {
  uint32_t s1 = s1_, s2 = s2_;
  for (size_t i = 0; i < n; ++i) {
    s1 += p[i] + kRollsumCharOffset;
    s2 += s1;
  }
  s1_ = s1;
  s2_ = s2;
  count_ += static_cast<uint32_t>(n);
}

void RabinKarp::update(const uint8_t* p, size_t n) {
  const uint32_t mn = mult_pow(n);
  h_ = h_ * mn + rk_poly(p, n);
  mult_pow_ *= mn;
  count_ += static_cast<uint32_t>(n);
}

void RabinKarp::rollout(uint8_t out) {
  mult_pow_ *= kRabinKarpInvMult;  // now M^(count-1)
  h_ -= mult_pow_ * (out + kRabinKarpAdj);
  --count_;
}

uint32_t rollsum_direct(const uint8_t* p, size_t n) {
  Rollsum r;
  r.update(p, n);
  return r.digest();
}

uint32_t rabinkarp_direct(const uint8_t* p, size_t n) {
  return mult_pow(n) * kRabinKarpSeed + rk_poly(p, n);
}

uint32_t weak_sum_direct(WeakKind kind, const uint8_t* p, size_t n) {
  return kind == WeakKind::kRabinKarp ? rabinkarp_direct(p, n)
                                      : rollsum_direct(p, n);
}

}  // namespace mirrorfs::core

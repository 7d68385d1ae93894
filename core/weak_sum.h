// librsync's two weak (rolling) checksums, bit-exact.
// See docs/formats/signature.md for the definitions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/signature_format.h"

namespace mirrorfs::core {

inline constexpr uint32_t kRollsumCharOffset = 31;
inline constexpr uint32_t kRabinKarpSeed = 1;
inline constexpr uint32_t kRabinKarpMult = 0x08104225;
inline constexpr uint32_t kRabinKarpAdj = 0x08104224;  // (MULT - 1) * seed

// rsync's rollsum: s1 = sum(b + 31), s2 = sum of s1 over the window,
// both mod 2^16; digest = s2 << 16 | s1.
class Rollsum {
 public:
  void reset() {
    s1_ = s2_ = 0;
    count_ = 0;
  }
  void update(const uint8_t* p, size_t n);
  void rotate(uint8_t out, uint8_t in) {
    s1_ += in - out;
    s2_ += s1_ - count_ * (out + kRollsumCharOffset);
  }
  void rollin(uint8_t in) {
    s1_ += in + kRollsumCharOffset;
    s2_ += s1_;
    ++count_;
  }
  void rollout(uint8_t out) {
    s1_ -= out + kRollsumCharOffset;
    s2_ -= count_ * (out + kRollsumCharOffset);
    --count_;
  }
  uint32_t digest() const { return (s2_ << 16) | (s1_ & 0xffff); }
  size_t count() const { return count_; }

 private:
  uint32_t s1_ = 0, s2_ = 0;  // kept mod 2^32; only the low 16 bits count
  uint32_t count_ = 0;
};

// RabinKarp: h = seed * M^n + sum(b_i * M^(n-1-i)) mod 2^32.
class RabinKarp {
 public:
  void reset() {
    h_ = kRabinKarpSeed;
    mult_pow_ = 1;
    count_ = 0;
  }
  void update(const uint8_t* p, size_t n);
  // Slides the window one byte: `out` leaves, `in` enters.
  void rotate(uint8_t out, uint8_t in) {
    h_ = h_ * kRabinKarpMult + in - mult_pow_ * (out + kRabinKarpAdj);
  }
  void rollin(uint8_t in) {
    h_ = h_ * kRabinKarpMult + in;
    mult_pow_ *= kRabinKarpMult;
    ++count_;
  }
  // Removes the oldest byte, shrinking the window.
  void rollout(uint8_t out);
  uint32_t digest() const { return h_; }
  size_t count() const { return count_; }

 private:
  uint32_t h_ = kRabinKarpSeed;
  uint32_t mult_pow_ = 1;  // M^count
  uint32_t count_ = 0;
};

// Direct (non-rolling) weak sums of a whole block: fast paths that give
// exactly the digest the rolling classes give after update(p, n).
uint32_t rollsum_direct(const uint8_t* p, size_t n);
uint32_t rabinkarp_direct(const uint8_t* p, size_t n);
uint32_t weak_sum_direct(WeakKind kind, const uint8_t* p, size_t n);

}  // namespace mirrorfs::core

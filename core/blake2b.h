// BLAKE2b (RFC 7693), unkeyed, digest length 1..64 bytes.
//
// out_len is the digest length written into the parameter block, so
// blake2b(..., 32) is BLAKE2b-256, which is NOT a truncated BLAKE2b-512.
// librsync's strong sums are BLAKE2b-256 truncated by the caller.
//
// On x86 CPUs with AVX2 (checked once at run time) blake2b() and Blake2b use
// a single-message AVX2 kernel and blake2b_x4() a 4-lane one; otherwise
// portable scalar code. Input pointers may be null when the length is 0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mirrorfs::core {

inline constexpr size_t kBlake2bMaxDigest = 64;
inline constexpr size_t kBlake2bBlockSize = 128;

// One-shot BLAKE2b of in[0..len) with digest length out_len (1..64), written
// to out[0..out_len). Same result as libb2's blake2b(out, in, nullptr,
// out_len, len, 0).
void blake2b(const uint8_t* in, size_t len, uint8_t* out, size_t out_len);

// Four independent messages of the same length `len`, digest length out_len
// each. out[i] receives the digest of in[i]. Uses AVX2 when the CPU has it,
// else four scalar calls. Inputs may alias each other; outputs must not
// overlap any input.
void blake2b_x4(const uint8_t* const in[4], size_t len, uint8_t* const out[4],
                size_t out_len);

// Which implementation blake2b_x4 uses on this CPU: "avx2" or "scalar".
const char* blake2b_x4_impl();

// Incremental hashing, e.g. for whole-file hashes. Produces the same digest
// as the one-shot blake2b() over the concatenation of all updates.
class Blake2b {
 public:
  explicit Blake2b(size_t out_len = kBlake2bMaxDigest);  // 1 <= out_len <= 64
  void update(const uint8_t* data, size_t len);
  // Writes out_len bytes. The object must not be updated afterwards.
  void final(uint8_t* out);

 private:
  uint64_t h_[8];
  uint64_t t_[2] = {0, 0};  // 128-bit byte counter, low word first
  // Always holds the last 0..128 bytes seen: BLAKE2b must flag the last
  // block as final, so a full block stays buffered until more input arrives.
  uint8_t buf_[kBlake2bBlockSize];
  size_t buf_len_ = 0;
  size_t out_len_;
};

namespace internal {
// blake2b() on the portable scalar code whatever the CPU; for tests.
void blake2b_portable(const uint8_t* in, size_t len, uint8_t* out,
                      size_t out_len);
}  // namespace internal

}  // namespace mirrorfs::core

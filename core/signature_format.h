// Constants and parameters of the librsync 2.x signature format.
// Spec: docs/formats/signature.md. Byte-compatible with rdiff 2.3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"

namespace mirrorfs::core {

// The four signature magics. The low nibble names the strong sum
// (6 = MD4, 7 = BLAKE2b), bits 0xf0 of the low byte the weak sum
// (0x30 rollsum, 0x40 RabinKarp).
enum class SigMagic : uint32_t {
  kRollsumMd4 = 0x72730136,
  kRollsumBlake2 = 0x72730137,
  kRabinKarpMd4 = 0x72730146,
  kRabinKarpBlake2 = 0x72730147,  // rdiff 2.3's default
};

enum class WeakKind { kRollsum, kRabinKarp };
enum class StrongKind { kMd4, kBlake2 };

inline constexpr size_t kSigHeaderLen = 12;  // magic, block_len, strong_len
inline constexpr size_t kBlake2SumLen = 32;  // BLAKE2b-256, then truncated
inline constexpr size_t kMd4SumLen = 16;
inline constexpr size_t kMaxStrongLen = 32;
inline constexpr uint32_t kDefaultBlockLen = 2048;  // size unknown (a pipe)
inline constexpr size_t kDefaultMinStrongLen = 12;  // size unknown
// Largest block length we accept when reading a signature: bounds the
// memory a hostile header can make a delta job allocate for its window.
inline constexpr uint32_t kMaxBlockLen = 1u << 28;

// Parses a magic; nullopt if it is not one of the four.
std::optional<SigMagic> magic_from_u32(uint32_t v);
WeakKind weak_kind(SigMagic m);
StrongKind strong_kind(SigMagic m);
size_t max_strong_len(SigMagic m);
// "rabinkarp+blake2", for messages and statistics.
std::string magic_name(SigMagic m);

struct SignatureParams {
  SigMagic magic = SigMagic::kRabinKarpBlake2;
  uint32_t block_len = 0;   // REQUIRES > 0 once resolved
  uint32_t strong_len = 0;  // REQUIRES 1..max_strong_len(magic) once resolved
};

// What the user asked for, rdiff-style: 0 means "choose".
struct SignatureRequest {
  SigMagic magic = SigMagic::kRabinKarpBlake2;
  uint32_t block_len = 0;  // 0: choose from the basis size, as rdiff does
  int strong_len = 0;      // 0: the maximum; -1: the minimum safe length
};

// Resolves a request the way rdiff 2.3 (rs_sig_args) does for a basis of
// `basis_size` bytes (nullopt when unknown, e.g. a pipe):
//   block_len  = 256 if size <= 64 KiB, else floor(sqrt(size)) & ~127;
//                2048 if the size is unknown;
//   strong_len = max for 0; for -1 the minimum safe length
//                2 + (log2(size + 2^24) + log2(size / block_len + 1) + 7) / 8
//                (12 if the size is unknown).
// Errors on strong_len outside -1..max or a block_len above kMaxBlockLen.
Result<SignatureParams> resolve_signature_params(
    const SignatureRequest& req, std::optional<uint64_t> basis_size);

// Size in bytes of a signature of `basis_size` bytes with these params.
uint64_t signature_size(const SignatureParams& p, uint64_t basis_size);

}  // namespace mirrorfs::core

#include "core/signature_format.h"

#include <bit>
#include <cmath>

namespace mirrorfs::core {

std::optional<SigMagic> magic_from_u32(uint32_t v) {
  switch (static_cast<SigMagic>(v)) {
    case SigMagic::kRollsumMd4:
    case SigMagic::kRollsumBlake2:
    case SigMagic::kRabinKarpMd4:
    case SigMagic::kRabinKarpBlake2:
      return static_cast<SigMagic>(v);
  }
  return std::nullopt;
}

WeakKind weak_kind(SigMagic m) {
  return (static_cast<uint32_t>(m) & 0xf0) == 0x40 ? WeakKind::kRabinKarp
                                                   : WeakKind::kRollsum;
}

StrongKind strong_kind(SigMagic m) {
  return (static_cast<uint32_t>(m) & 0x0f) == 0x7 ? StrongKind::kBlake2
                                                  : StrongKind::kMd4;
}

size_t max_strong_len(SigMagic m) {
  return strong_kind(m) == StrongKind::kBlake2 ? kBlake2SumLen : kMd4SumLen;
}

std::string magic_name(SigMagic m) {
  std::string s =
      weak_kind(m) == WeakKind::kRabinKarp ? "rabinkarp" : "rollsum";
  s += strong_kind(m) == StrongKind::kBlake2 ? "+blake2" : "+md4";
  return s;
}

namespace {

// floor(log2(v)) for v >= 1, as librsync's rs_long_ln2.
int floor_log2(uint64_t v) { return 63 - std::countl_zero(v | 1); }

// floor(sqrt(v)) exactly, without trusting floating point at the edges.
uint64_t floor_sqrt(uint64_t v) {
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(v)));
  while (r > 0 && r * r > v) --r;
  while ((r + 1) * (r + 1) <= v) ++r;
  return r;
}

}  // namespace

Result<SignatureParams> resolve_signature_params(
    const SignatureRequest& req, std::optional<uint64_t> basis_size) {
  SignatureParams p;
  p.magic = req.magic;
  if (req.block_len != 0) {
    p.block_len = req.block_len;
  } else if (!basis_size) {
    p.block_len = kDefaultBlockLen;
  } else if (*basis_size <= 256 * 256) {
    p.block_len = 256;
  } else {
    uint64_t b = floor_sqrt(*basis_size) & ~uint64_t{127};
    if (b > kMaxBlockLen) b = kMaxBlockLen;
    p.block_len = static_cast<uint32_t>(b);
  }
  if (p.block_len > kMaxBlockLen) {
    return Status::invalid_argument(
        "block length " + std::to_string(p.block_len) +
        " is too large (at most " + std::to_string(kMaxBlockLen) + ")");
  }
  const size_t max_len = max_strong_len(p.magic);
  if (req.strong_len == 0) {
    p.strong_len = static_cast<uint32_t>(max_len);
  } else if (req.strong_len == -1) {
    size_t min_len = kDefaultMinStrongLen;
    if (basis_size) {
      const uint64_t n = *basis_size;
      min_len = 2 + (floor_log2(n + (uint64_t{1} << 24)) +
                     floor_log2(n / p.block_len + 1) + 7) /
                        8;
    }
    p.strong_len = static_cast<uint32_t>(min_len < max_len ? min_len : max_len);
  } else if (req.strong_len < -1 ||
             static_cast<size_t>(req.strong_len) > max_len) {
    return Status::invalid_argument(
        "strong sum length " + std::to_string(req.strong_len) +
        " is invalid for " + magic_name(p.magic) + " (1.." +
        std::to_string(max_len) + ", 0 for the maximum, -1 for the minimum)");
  } else {
    p.strong_len = static_cast<uint32_t>(req.strong_len);
  }
  return p;
}

uint64_t signature_size(const SignatureParams& p, uint64_t basis_size) {
  const uint64_t blocks = (basis_size + p.block_len - 1) / p.block_len;
  return kSigHeaderLen + blocks * (4 + p.strong_len);
}

}  // namespace mirrorfs::core

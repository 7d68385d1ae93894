// Constants of the librsync delta format. Spec: docs/formats/delta.md.
#pragma once

#include <cstdint>

namespace mirrorfs::core {

inline constexpr uint32_t kDeltaMagic = 0x72730236;  // "rs\x02" "6"

inline constexpr uint8_t kOpEnd = 0x00;
inline constexpr uint8_t kOpLiteralImmediateMax = 0x40;  // 0x01..0x40: 1..64
inline constexpr uint8_t kOpLiteralN1 =
    0x41;  // +1/2/4/8-byte length: 0x41..0x44
inline constexpr uint8_t kOpCopyBase = 0x45;  // 0x45 + 4 * w(pos) + w(len)
inline constexpr uint8_t kOpCopyLast = 0x54;
// 0x55..0xff are reserved: a delta holding one is corrupt.

// The longest literal run our encoder emits as one command. Longer runs
// are split; shorter ones save header bytes compared with rdiff, which
// never emits more than 64 KiB at once.
inline constexpr uint64_t kMaxLiteralRun = 1u << 20;

}  // namespace mirrorfs::core

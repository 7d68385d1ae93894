// Byte encoding: the one home for integer encoding in mirrorfs formats.
// librsync formats are big-endian; so are ours unless a spec says otherwise
// (the wire protocol, docs/protocol.md, is little-endian: put_le/get_le).
#pragma once

#include <cstdint>
#include <cstring>

namespace mirrorfs {

inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

inline uint32_t get_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Big-endian unsigned integer of `width` bytes (1, 2, 4 or 8).
inline void put_be(uint8_t* p, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

inline uint64_t get_be(const uint8_t* p, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v = (v << 8) | p[i];
  return v;
}

// Little-endian unsigned integer of `width` bytes (1 to 8).
inline void put_le(uint8_t* p, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

inline uint64_t get_le(const uint8_t* p, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The narrowest of 1, 2, 4, 8 bytes that holds v; returned as the index
// 0..3 used by librsync delta opcodes.
inline int width_index(uint64_t v) {
  if (v <= 0xff) return 0;
  if (v <= 0xffff) return 1;
  if (v <= 0xffffffffu) return 2;
  return 3;
}

inline int width_bytes(int index) { return 1 << index; }

// memcpy that accepts n == 0 with null pointers (a caller's empty
// JobBuffers may hold nullptr, which memcpy does not allow even for 0).
inline void copy_bytes(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n) std::memcpy(dst, src, n);
}

}  // namespace mirrorfs

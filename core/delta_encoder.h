// Encoding of delta commands: the one place that writes delta opcodes.
// Format: docs/formats/delta.md.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/coding.h"
#include "core/delta_format.h"

namespace mirrorfs::core {

// The longest encoded command header: opcode + two 8-byte fields.
inline constexpr size_t kMaxCommandHeader = 17;

// Writes the header of a LITERAL of `len` bytes (the data follows it) to
// out; returns its size. REQUIRES: 0 < len.
inline size_t encode_literal_header(uint64_t len, uint8_t* out) {
  if (len <= kOpLiteralImmediateMax) {
    out[0] = static_cast<uint8_t>(len);
    return 1;
  }
  const int w = width_index(len);
  out[0] = static_cast<uint8_t>(kOpLiteralN1 + w);
  put_be(out + 1, len, width_bytes(w));
  return 1 + width_bytes(w);
}

// Writes a COPY of basis [pos, pos + len) to out; returns its size.
inline size_t encode_copy(uint64_t pos, uint64_t len, uint8_t* out) {
  const int wp = width_index(pos), wl = width_index(len);
  out[0] = static_cast<uint8_t>(kOpCopyBase + 4 * wp + wl);
  put_be(out + 1, pos, width_bytes(wp));
  put_be(out + 1 + width_bytes(wp), len, width_bytes(wl));
  return 1 + width_bytes(wp) + width_bytes(wl);
}

// A command in abstract form, with its place in the new file: what a
// delta job records instead of encoding when it runs as one segment of a
// parallel delta.
struct DeltaCommand {
  bool copy = false;
  uint64_t new_off = 0;  // where the command's bytes start in the new file
  uint64_t len = 0;
  uint64_t basis_pos = 0;  // COPY only
};

}  // namespace mirrorfs::core

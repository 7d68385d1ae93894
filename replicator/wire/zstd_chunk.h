// Private to wire/: zstd for FileData and SigData bodies, with the bound
// the protocol puts on them (kMaxChunk, after decompression too).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace mirrorfs::replicator::wire {

// Appends `in` compressed at `level` as one zstd frame (with its content
// size) to `out` if that is strictly smaller than `in`, and returns true;
// else leaves `out` as it was and returns false. kInvalidArgument for a
// level zstd does not have.
Result<bool> compress_if_smaller(std::span<const uint8_t> in, int level,
                                 std::vector<uint8_t>& out);

// Decompresses `in`, which must be exactly one zstd frame of at most
// kMaxChunk bytes with a window of at most kMaxChunk. kCorrupt otherwise:
// a frame that would expand further is stopped at kMaxChunk + 1 bytes,
// and nothing larger than kMaxChunk (plus zstd's own window of at most
// kMaxChunk) is ever allocated.
Result<std::vector<uint8_t>> decompress_chunk(std::span<const uint8_t> in);

}  // namespace mirrorfs::replicator::wire

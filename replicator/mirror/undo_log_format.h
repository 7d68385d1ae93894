// Constants of the mirror's undo log, the record that makes an in-place
// update crash-safe. Spec: docs/undo-log.md. All integers big-endian
// (core/coding.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mirrorfs::replicator::mirror {

inline constexpr uint32_t kUndoMagic = 0x4d46554c;         // "MFUL"
inline constexpr uint32_t kUndoVersion = 1;
inline constexpr uint32_t kUndoTrailerMagic = 0x4d465545;  // "MFUE"

// Header: magic 4, version 4, ino 8, old_size 8, new_size 8, old_hash 32,
// new_hash 32, range_count 8, path_len 4, then path_len bytes of path.
inline constexpr size_t kUndoHeaderFixed = 4 + 4 + 8 + 8 + 8 + 32 + 32 + 8 + 4;
// Each range: offset 8, len 8, then len bytes of the old content.
inline constexpr size_t kUndoRangeHeader = 16;
// Trailer: magic 4, body_len 8 (bytes before the trailer), BLAKE2b-256 of
// those bytes 32.
inline constexpr size_t kUndoTrailer = 4 + 8 + 32;

// Log files are "undo-" + 12 hex digits + ".log" in the state directory.
inline constexpr char kUndoPrefix[] = "undo-";
inline constexpr char kUndoSuffix[] = ".log";

}  // namespace mirrorfs::replicator::mirror

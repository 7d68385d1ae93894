// Self-validating file content for the fault tests, so a checker can tell
// from a file's bytes alone whether it is a state that existed on the
// source, without a log of what the workload wrote.
//
// A version of a file is a 64-byte header (magic "MFSFAULT", file id,
// version, chunk size, size, the version and size it overwrote in place,
// a checksum of the header) followed by body bytes that are a pure
// function of (file id, version, offset). The workload writes a version
// chunk by chunk, in order, one write() per chunk (each chunk is one FUSE
// request), so the states a file passes through on the source are:
//   - empty (created, nothing written yet);
//   - a fresh version's first k chunks (k >= 1);
//   - in place over the previous version P: the new version's first k
//     chunks followed by the rest of P, at P's size or more;
//   - the complete version.
// check_content() accepts exactly these, so a torn file (cut short, holes,
// a mix of two versions at any other place, bytes from nowhere) fails.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mirrorfs::replicator::testing {

inline constexpr size_t kVersionHeaderSize = 64;

struct Version {
  uint64_t file_id = 0;
  uint32_t version = 1;       // >= 1
  uint32_t chunk = 4096;      // bytes per write(), >= kVersionHeaderSize
  uint64_t size = kVersionHeaderSize;  // >= kVersionHeaderSize
  uint32_t prev_version = 0;  // overwritten in place; 0 = a fresh file
  uint64_t prev_size = 0;
};

// The complete content of `v`.
std::string make_content(const Version& v);

// The header of `data` if it holds a well-formed one, else false.
bool parse_header(std::string_view data, Version* out);

struct CheckOptions {
  // Also accept the new version's bytes ending at any 4 KiB boundary (not
  // only at a chunk's end): what a write() interrupted by SIGKILL of the
  // mount leaves in BACKING, so a state that existed on the source.
  bool allow_page_cuts = false;
  // false: check_tree() (torn_checker.h) looks for leftover temporaries
  // only, for trees that hold files not written as versions.
  bool contents = true;
};

// "" if `data` is one of the states listed above, else why not.
std::string check_content(std::string_view data, const CheckOptions& opt = {});

// True if `data` is a complete version (not an intermediate state).
bool is_complete(std::string_view data);

}  // namespace mirrorfs::replicator::testing

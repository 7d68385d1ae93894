// Patch: delta bytes in, new-file bytes out, reading the basis through an
// injected interface. Also the incremental delta decoder it stands on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "core/job.h"
#include "core/stats.h"
#include "core/status.h"

namespace mirrorfs::core {

// Random access to the basis. Implementations: a file (pread), memory.
class BasisReader {
 public:
  virtual ~BasisReader() = default;
  // Reads exactly len bytes at offset into buf. Reading past the end of the
  // basis is an error (kOutOfRange), never a short success.
  virtual Status read_at(uint64_t offset, uint8_t* buf, size_t len) = 0;
  // The basis size when known up front; lets COPY commands be checked
  // before any byte is written.
  virtual std::optional<uint64_t> size() const = 0;
};

// Incremental, pure parser of a delta stream. Knows nothing of the basis.
class DeltaDecoder {
 public:
  enum class Kind { kNeedInput, kLiteral, kCopy, kEnd };
  struct Event {
    Kind kind = Kind::kNeedInput;
    // kLiteral: data[0..len) is the next piece of a literal run (it points
    // into the caller's input, which next() has advanced past it).
    const uint8_t* data = nullptr;
    // kLiteral: piece length. kCopy: basis offset and length.
    uint64_t pos = 0;
    uint64_t len = 0;
  };

  // Consumes from buf.next_in/avail_in. `max_literal` bounds the size of
  // one kLiteral piece (e.g. the caller's free output space; must be > 0).
  // Returns kNeedInput when the input is exhausted mid-command; a corrupt
  // status for a bad magic, a reserved opcode, a zero-length COPY or a
  // stream that ends (eof_in) before END.
  Result<Event> next(JobBuffers& buf, size_t max_literal);

  bool at_end() const { return state_ == State::kDone; }
  const Stats& stats() const { return stats_; }
  // Bytes of delta consumed so far.
  uint64_t consumed() const { return offset_; }

 private:
  enum class State { kMagic, kOpcode, kParams, kLiteral, kDone };
  State state_ = State::kMagic;
  uint8_t hdr_[17];  // magic or opcode params (at most 8 + 8 bytes)
  size_t hdr_have_ = 0;
  size_t hdr_need_ = 4;
  uint8_t op_ = 0;
  uint64_t literal_left_ = 0;
  uint64_t offset_ = 0;  // bytes of delta consumed, for error messages
  Stats stats_;
};

// A BasisReader over bytes in memory. REQUIRES: data outlives the reader.
// report_size false makes size() say "unknown" (as for a pipe), so a patch
// job cannot check COPY commands up front and relies on read_at failing.
std::unique_ptr<BasisReader> new_memory_basis_reader(
    std::span<const uint8_t> data, bool report_size = true);

// OK if basis [pos, pos + len) lies inside a basis of `basis_size` bytes
// (always OK when the size is unknown: reading then fails instead).
Status check_copy_in_basis(uint64_t pos, uint64_t len,
                           std::optional<uint64_t> basis_size);

// REQUIRES: basis outlives the job. Output is the new file.
std::unique_ptr<Job> new_patch_job(BasisReader* basis, Stats* stats);

}  // namespace mirrorfs::core

// Test and fuzz helpers: run a core Job over caller-chosen, uneven buffer
// sizes, checking the job contract (core/job.h) on every step.
//
// Header-only so that fuzz targets and unit tests (tests/core/*_test.cc)
// can include it without a library of their own:
//   #include "tests/support/drive.h"
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/job.h"
#include "core/patch.h"
#include "core/status.h"

namespace mirrorfs::testing {

// Yields the sizes of successive input and output buffers. Deterministic
// for a given seed, so a fuzz input or a test seed reproduces the exact
// sequence of iterate() calls.
class Chunker {
 public:
  // Sizes are mostly small (1..max_small) to exercise every partial path,
  // now and then large (up to max_large) to keep long inputs quick.
  explicit Chunker(uint64_t seed, size_t max_small = 17,
                   size_t max_large = 1 << 16)
      : state_(seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull),
        max_small_(std::max<size_t>(max_small, 1)),
        max_large_(std::max<size_t>(max_large, 1)) {}

  // A fixed size every time (e.g. 1 for byte-at-a-time driving).
  static Chunker fixed(size_t n) {
    Chunker c(0, n, n);
    c.fixed_ = std::max<size_t>(n, 1);
    return c;
  }

  size_t next() {
    if (fixed_) return fixed_;
    const uint64_t r = step();
    if ((r & 7) == 0) return 1 + (r >> 8) % max_large_;
    return 1 + (r >> 8) % max_small_;
  }

 private:
  uint64_t step() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  uint64_t state_;
  size_t max_small_;
  size_t max_large_;
  size_t fixed_ = 0;
};

struct DriveOptions {
  size_t max_out = size_t{64} << 20;  // fail (kOutOfRange) beyond this
  // True: eof_in is raised together with the last input chunk. False: the
  // last chunk is consumed first and eof_in comes with an empty buffer.
  bool eof_with_last_chunk = false;
};

// The outcome of driving a job. `contract` is set (and status is
// kInternal) when the job broke the iterate() contract: that is always a
// bug in the job, whatever the input.
struct DriveResult {
  Status status;
  bool contract_violation = false;
  bool output_limit = false;  // stopped because output exceeded max_out
  size_t calls = 0;           // iterate() calls made
};

// Runs `job` to completion over `input`, feeding input in chunks of
// in_sizes.next() bytes and offering output space of out_sizes.next()
// bytes per call. Appends everything produced to *out.
inline DriveResult drive_job(core::Job& job, std::span<const uint8_t> input,
                             Chunker in_sizes, Chunker out_sizes,
                             std::vector<uint8_t>* out,
                             const DriveOptions& opt = {}) {
  DriveResult res;
  core::JobBuffers b;
  size_t in_pos = 0;
  std::vector<uint8_t> window;
  auto violation = [&](const std::string& what) {
    res.contract_violation = true;
    res.status = Status::internal("job contract: " + what);
    return res;
  };
  for (;;) {
    if (b.avail_in == 0 && !b.eof_in) {
      if (in_pos == input.size()) {
        b.next_in = input.data() + in_pos;
        b.eof_in = true;
      } else {
        const size_t n = std::min(in_sizes.next(), input.size() - in_pos);
        b.next_in = input.data() + in_pos;
        b.avail_in = n;
        in_pos += n;
        if (opt.eof_with_last_chunk && in_pos == input.size()) b.eof_in = true;
      }
    }
    const size_t osz = out_sizes.next();
    window.resize(osz);
    b.next_out = window.data();
    b.avail_out = osz;
    const uint8_t* const in_before = b.next_in;
    const size_t avail_in_before = b.avail_in;

    auto step = job.iterate(b);
    ++res.calls;

    // Pointer and count bookkeeping must agree whatever the outcome.
    if (b.avail_out > osz || b.next_out != window.data() + (osz - b.avail_out))
      return violation("next_out/avail_out out of step");
    if (b.avail_in > avail_in_before ||
        b.next_in != in_before + (avail_in_before - b.avail_in))
      return violation("next_in/avail_in out of step");

    const size_t produced = osz - b.avail_out;
    if (out->size() + produced > opt.max_out) {
      res.output_limit = true;
      res.status = Status::out_of_range("output exceeds the drive limit");
      return res;
    }
    out->insert(out->end(), window.data(), window.data() + produced);

    if (!step.is_ok()) {
      res.status = step.status();
      return res;
    }
    if (*step == core::JobStep::kDone) return res;
    // kBlocked: allowed only with no input left (and more to come) or no
    // output space left.
    if (b.avail_out > 0 && (b.avail_in > 0 || b.eof_in)) {
      return violation("kBlocked with input (or eof) and output space left");
    }
  }
}

// Convenience: drive with one chunker seed for both sides.
inline DriveResult drive_job(core::Job& job, std::span<const uint8_t> input,
                             uint64_t seed, std::vector<uint8_t>* out,
                             const DriveOptions& opt = {}) {
  return drive_job(job, input, Chunker(seed), Chunker(seed ^ 0x5bd1e995), out,
                   opt);
}

// Convenience for unit tests: the job's whole output, or its error (a
// contract violation or the output limit shows as kInternal/kOutOfRange).
inline Result<std::vector<uint8_t>> run_job(core::Job& job,
                                            std::span<const uint8_t> input,
                                            Chunker in = Chunker::fixed(1 << 20),
                                            Chunker out = Chunker::fixed(1 << 20)) {
  std::vector<uint8_t> bytes;
  DriveResult r = drive_job(job, input, in, out, &bytes);
  if (!r.status.is_ok()) return r.status;
  return bytes;
}

}  // namespace mirrorfs::testing

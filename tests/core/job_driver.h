// Test helper: runs a Job over in-memory input with chosen buffer sizes,
// so tests exercise the incremental paths (tiny and uneven buffers).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/job.h"
#include "core/status.h"

namespace mirrorfs::core::testing {

struct Chunking {
  size_t in = 1 << 20;   // most input bytes offered per iterate()
  size_t out = 1 << 20;  // most output space offered per iterate()
  uint32_t jitter_seed = 0;  // nonzero: random sizes in 1..in / 1..out
};

inline Result<std::vector<uint8_t>> run_job(Job& job,
                                            std::span<const uint8_t> input,
                                            Chunking c = {}) {
  std::mt19937 rng(c.jitter_seed);
  auto pick = [&](size_t max) -> size_t {
    if (!c.jitter_seed) return max;
    return std::uniform_int_distribution<size_t>(1, max)(rng);
  };
  std::vector<uint8_t> out;
  std::vector<uint8_t> obuf(c.out);
  size_t pos = 0;
  for (int guard = 0;; ++guard) {
    JobBuffers b;
    const size_t n = std::min(pick(c.in), input.size() - pos);
    b.next_in = input.data() + pos;
    b.avail_in = n;
    b.eof_in = pos + n == input.size();
    b.next_out = obuf.data();
    b.avail_out = pick(c.out);
    Result<JobStep> r = job.iterate(b);
    if (!r.is_ok()) return r.status();
    const size_t used = n - b.avail_in;
    pos += used;
    out.insert(out.end(), obuf.data(), b.next_out);
    if (*r == JobStep::kDone) return out;
    // The job contract: blocked means no input left or no output space.
    if (b.avail_in != 0 && b.avail_out != 0) {
      return Status::internal("job blocked with input and output available");
    }
    if (guard > 100000000) return Status::internal("job makes no progress");
  }
}

}  // namespace mirrorfs::core::testing

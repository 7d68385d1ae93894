// The streaming job contract, in the manner of librsync's rs_job_iter.
//
// A job never does I/O. The caller owns both buffers and calls iterate()
// repeatedly; each call consumes from the input and produces into the
// output as far as it can, advancing the pointers and counts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/status.h"

namespace mirrorfs::core {

struct JobBuffers {
  const uint8_t* next_in = nullptr;
  size_t avail_in = 0;
  bool eof_in = false;  // no input will follow what is in next_in
  uint8_t* next_out = nullptr;
  size_t avail_out = 0;
};

enum class JobStep {
  kBlocked,  // needs more input (avail_in == 0, !eof_in) or output space
  kDone,     // finished: all output has been produced
};

// Contract for every job: iterate() returns kBlocked only when it cannot
// progress, i.e. the input is exhausted (and not at EOF) or the output is
// full. A kBlocked return with input left and output space left is a bug.
// After an error or kDone the job must not be iterated again.
class Job {
 public:
  virtual ~Job() = default;
  virtual Result<JobStep> iterate(JobBuffers& buf) = 0;
};

}  // namespace mirrorfs::core

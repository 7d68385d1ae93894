// Runs a core::Job over input handed in pieces, passing each full output
// buffer (and the tail) to a callback: the glue between core's streaming
// jobs and whatever reads the input and takes the output (a socket, a
// file). Private to replicator/.
//
// Thread-safety: one thread at a time. REQUIRES: the job outlives it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/job.h"
#include "core/status.h"

namespace mirrorfs::replicator {

class JobPump {
 public:
  using Flush = std::function<Status(std::span<const uint8_t>)>;
  // out_size: the most bytes handed to `flush` at once (> 0).
  JobPump(core::Job& job, size_t out_size, Flush flush)
      : job_(job), out_(out_size), flush_(std::move(flush)) {}

  // Feeds in[0..len); eof: nothing follows (the job then finishes and
  // everything it produced is flushed). A job or flush error is returned.
  Status run(const uint8_t* in, size_t len, bool eof);
  // True once the job said kDone.
  bool done() const { return done_; }

 private:
  Status flush_out();

  core::Job& job_;
  std::vector<uint8_t> out_;
  size_t have_ = 0;
  bool done_ = false;
  Flush flush_;
};

}  // namespace mirrorfs::replicator

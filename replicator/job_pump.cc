#include "replicator/job_pump.h"

namespace mirrorfs::replicator {

Status JobPump::run(const uint8_t* in, size_t len, bool eof) {
  core::JobBuffers b;
  b.next_in = in;
  b.avail_in = len;
  b.eof_in = eof;
  while (!done_) {
    b.next_out = out_.data() + have_;
    b.avail_out = out_.size() - have_;
    Result<core::JobStep> step = job_.iterate(b);
    if (!step.is_ok()) return step.status();
    have_ = out_.size() - b.avail_out;
    if (*step == core::JobStep::kDone) {
      done_ = true;
      return flush_out();
    }
    if (b.avail_out == 0) {
      MIRRORFS_RETURN_IF_ERROR(flush_out());
      continue;
    }
    if (b.avail_in == 0 && !eof) return Status::ok();
    // At eof with input consumed, the job finishes its tail.
  }
  return Status::ok();
}

Status JobPump::flush_out() {
  if (have_ == 0) return Status::ok();
  Status s = flush_(std::span<const uint8_t>(out_.data(), have_));
  have_ = 0;
  return s;
}

}  // namespace mirrorfs::replicator

#include "replicator/mirror/delta_writer.h"

namespace mirrorfs::replicator::mirror {

Status DeltaWriter::check_write() const {
  if (!failed_.is_ok()) return failed_;
  if (finish_called_) {
    return Status::invalid_argument("content of " + path_ +
                                    ": write after finish");
  }
  return Status::ok();
}

Status DeltaWriter::start_finish() {
  if (!failed_.is_ok()) return failed_;
  if (finish_called_) {
    return Status::invalid_argument("content of " + path_ +
                                    ": finish called twice");
  }
  finish_called_ = true;
  if (!decoder_.at_end()) return corrupt("the delta ends before its END");
  return Status::ok();
}

}  // namespace mirrorfs::replicator::mirror

#include "replicator/mirror/literal_stage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>

#include "core/fd_io.h"

namespace mirrorfs::replicator::mirror {

Status LiteralStage::append(const uint8_t* data, size_t len) {
  if (!file_.valid() && mem_.size() + len > limit_) {
    file_.reset(::openat(dir_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!file_.valid()) {
      return sys_error(errno, "create staging file in", "state directory");
    }
    Status st = core::write_full(file_.get(), mem_.data(), mem_.size());
    if (!st.is_ok()) return st;
    std::vector<uint8_t>().swap(mem_);
  }
  if (file_.valid()) {
    MIRRORFS_RETURN_IF_ERROR(core::write_full(file_.get(), data, len));
  } else {
    mem_.insert(mem_.end(), data, data + len);
  }
  size_ += len;
  return Status::ok();
}

Status LiteralStage::read(uint64_t at, uint8_t* buf, size_t len) const {
  assert(at <= size_ && len <= size_ - at);
  if (!file_.valid()) {
    std::copy_n(mem_.data() + at, len, buf);
    return Status::ok();
  }
  Result<size_t> got = core::pread_full(file_.get(), buf, len, at);
  if (!got.is_ok()) return got.status();
  if (*got != len) {
    return Status(Code::kIoError, "staging file shorter than written", EIO);
  }
  return Status::ok();
}

}  // namespace mirrorfs::replicator::mirror

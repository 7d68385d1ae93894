// Two-segment parallel delta.
//
// Thread B scans [mid, end) and records its commands. Thread A scans from
// the start, streaming its encoded output, and past mid asks at each
// position it visits whether B visited it too; at the first such position
// A stops and B's commands from there on are encoded after A's (literal
// bytes re-read by pread), merging A's pending COPY into B's first one
// when they are contiguous in the basis.
#include "core/parallel_delta.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <system_error>
#include <thread>
#include <vector>

#include "core/delta.h"
#include "core/delta_encoder.h"
#include "core/fd_io.h"

namespace mirrorfs::core {
namespace {

// Whether the scan that recorded `cmds` visited position p: every
// position of a literal run, and the start of every block-long match
// within a (merged) COPY.
bool visited(const std::vector<DeltaCommand>& cmds, uint64_t p, uint32_t L) {
  auto it = std::upper_bound(
      cmds.begin(), cmds.end(), p,
      [](uint64_t v, const DeltaCommand& c) { return v < c.new_off; });
  if (it == cmds.begin()) return false;
  --it;
  if (p >= it->new_off + it->len) return false;
  return !it->copy || (p - it->new_off) % L == 0;
}

// Encodes B's commands from position p on, then END.
class TailWriter {
 public:
  TailWriter(int new_fd, int delta_fd, size_t buffer_size, Stats* stats)
      : new_fd_(new_fd), delta_fd_(delta_fd), stats_(stats) {
    out_.reserve(buffer_size);
  }

  Status write(const std::vector<DeltaCommand>& cmds, const DeltaStop& stop) {
    copy_pos_ = stop.copy_pos;
    copy_len_ = stop.copy_len;
    auto it = std::upper_bound(
        cmds.begin(), cmds.end(), stop.at,
        [](uint64_t v, const DeltaCommand& c) { return v < c.new_off; });
    assert(it != cmds.begin());
    --it;
    for (; it != cmds.end(); ++it) {
      const uint64_t skip = stop.at > it->new_off ? stop.at - it->new_off : 0;
      if (it->copy) {
        add_copy(it->basis_pos + skip, it->len - skip);
      } else {
        MIRRORFS_RETURN_IF_ERROR(
            add_literal(it->new_off + skip, it->len - skip));
      }
    }
    MIRRORFS_RETURN_IF_ERROR(flush_copy());
    const uint8_t end = kOpEnd;
    MIRRORFS_RETURN_IF_ERROR(put(&end, 1));
    return flush();
  }

 private:
  void add_copy(uint64_t pos, uint64_t len) {
    if (copy_len_ && copy_pos_ + copy_len_ == pos) {
      copy_len_ += len;
      return;
    }
    pending_status_ = flush_copy();
    copy_pos_ = pos;
    copy_len_ = len;
  }

  Status add_literal(uint64_t off, uint64_t len) {
    MIRRORFS_RETURN_IF_ERROR(pending_status_);
    MIRRORFS_RETURN_IF_ERROR(flush_copy());
    uint8_t cmd[kMaxCommandHeader];
    const size_t n = encode_literal_header(len, cmd);
    MIRRORFS_RETURN_IF_ERROR(put(cmd, n));
    ++stats_->literal_cmds;
    stats_->literal_bytes += len;
    stats_->literal_cmd_bytes += n;
    while (len > 0) {
      if (out_.size() == out_.capacity()) MIRRORFS_RETURN_IF_ERROR(flush());
      const size_t room = out_.capacity() - out_.size();
      const size_t want = static_cast<size_t>(std::min<uint64_t>(len, room));
      const size_t at = out_.size();
      out_.resize(at + want);
      Result<size_t> got = pread_full(new_fd_, out_.data() + at, want, off);
      if (!got.is_ok()) return got.status();
      if (*got != want) {
        return Status(Code::kIoError, "new file shrank while being read");
      }
      off += want;
      len -= want;
    }
    return Status::ok();
  }

  Status flush_copy() {
    if (copy_len_ == 0) return Status::ok();
    uint8_t cmd[kMaxCommandHeader];
    const size_t n = encode_copy(copy_pos_, copy_len_, cmd);
    ++stats_->copy_cmds;
    stats_->copy_bytes += copy_len_;
    stats_->copy_cmd_bytes += n;
    copy_len_ = 0;
    return put(cmd, n);
  }

  Status put(const uint8_t* p, size_t n) {
    if (out_.size() + n > out_.capacity()) MIRRORFS_RETURN_IF_ERROR(flush());
    out_.insert(out_.end(), p, p + n);
    return Status::ok();
  }

  Status flush() {
    Status st = write_full(delta_fd_, out_.data(), out_.size());
    stats_->out_bytes += out_.size();
    out_.clear();
    return st;
  }

  int new_fd_, delta_fd_;
  Stats* stats_;
  std::vector<uint8_t> out_;
  uint64_t copy_pos_ = 0, copy_len_ = 0;
  Status pending_status_;
};

}  // namespace

Result<Stats> parallel_delta_fd(const Signature& sig, int new_fd, int delta_fd,
                                size_t buffer_size) {
  const off_t cur = ::lseek(new_fd, 0, SEEK_CUR);
  const std::optional<uint64_t> size = regular_file_size(new_fd);
  if (cur < 0 || !size || *size < static_cast<uint64_t>(cur)) {
    return Status::invalid_argument("parallel delta needs a regular file");
  }
  const uint64_t start = static_cast<uint64_t>(cur), end = *size;
  const uint64_t mid = start + (end - start) / 2;
  const uint32_t L = sig.params().block_len;

  std::vector<DeltaCommand> cmds;
  Stats stats_b;
  Status status_b;
  std::thread thread_b;
  try {
    thread_b = std::thread([&] {
      DeltaSegment seg;
      seg.base = mid;
      seg.record = &cmds;
      auto job = new_delta_segment_job(sig, &stats_b, std::move(seg), nullptr);
      status_b = drive_job_fd(*job, new_fd, {true, mid, end}, -1, buffer_size);
    });
  } catch (const std::system_error& e) {
    return Status::internal(std::string("cannot start a thread: ") + e.what());
  }
  bool joined = false;
  auto join_b = [&] {
    if (!joined) {
      thread_b.join();
      joined = true;
    }
  };

  Stats stats;
  DeltaStop stop;
  DeltaSegment seg;
  seg.base = start;
  seg.stop_from = mid;
  seg.stop = [&](uint64_t p) {
    join_b();
    return status_b.is_ok() && visited(cmds, p, L);
  };
  auto job = new_delta_segment_job(sig, &stats, std::move(seg), &stop);
  Status status_a =
      drive_job_fd(*job, new_fd, {true, start, end}, delta_fd, buffer_size);
  join_b();
  MIRRORFS_RETURN_IF_ERROR(status_a);
  stats.false_matches += stats_b.false_matches;
  stats.in_bytes = end - start;
  if (stop.stopped) {
    stats.splice_at = stop.at;
    TailWriter tail(new_fd, delta_fd, buffer_size, &stats);
    MIRRORFS_RETURN_IF_ERROR(tail.write(cmds, stop));
  }
  if (::lseek(new_fd, static_cast<off_t>(end), SEEK_SET) < 0) {
    return Status::from_errno(errno, "seek new file");
  }
  return stats;
}

}  // namespace mirrorfs::core

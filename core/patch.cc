#include "core/patch.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstring>

#include "core/coding.h"
#include "core/delta_format.h"

namespace mirrorfs::core {

namespace {
std::string at(uint64_t offset) {
  return " at delta offset " + std::to_string(offset);
}
}  // namespace

Result<DeltaDecoder::Event> DeltaDecoder::next(JobBuffers& buf,
                                               size_t max_literal) {
  assert(max_literal > 0);
  for (;;) {
    switch (state_) {
      case State::kDone:
        return Event{Kind::kEnd};

      case State::kMagic:
      case State::kParams: {
        const size_t take = std::min(buf.avail_in, hdr_need_ - hdr_have_);
        copy_bytes(hdr_ + hdr_have_, buf.next_in, take);
        hdr_have_ += take;
        buf.next_in += take;
        buf.avail_in -= take;
        offset_ += take;
        if (hdr_have_ < hdr_need_) {
          if (!buf.eof_in) return Event{Kind::kNeedInput};
          return Status::corrupt(state_ == State::kMagic
                                     ? "truncated delta: no magic"
                                     : "truncated delta: command cut short" +
                                           at(offset_));
        }
        if (state_ == State::kMagic) {
          const uint32_t magic = get_be32(hdr_);
          if (magic != kDeltaMagic) {
            char hex[16];
            std::snprintf(hex, sizeof hex, "0x%08x", magic);
            return Status::corrupt(std::string("not a delta: bad magic ") +
                                   hex);
          }
          state_ = State::kOpcode;
          continue;
        }
        if (op_ <= kOpLiteralN1 + 3) {
          literal_left_ = get_be(hdr_, width_bytes(op_ - kOpLiteralN1));
          if (literal_left_ == 0) {
            // rdiff refuses these too ("invalid length=0 on LITERAL").
            return Status::corrupt("zero-length LITERAL" + at(offset_));
          }
          stats_.literal_cmd_bytes += 1 + hdr_need_;
          state_ = State::kLiteral;
          continue;
        }
        const int wp = width_bytes((op_ - kOpCopyBase) >> 2);
        const int wl = width_bytes((op_ - kOpCopyBase) & 3);
        const uint64_t pos = get_be(hdr_, wp);
        const uint64_t len = get_be(hdr_ + wp, wl);
        if (len == 0) {
          return Status::corrupt("zero-length COPY" + at(offset_));
        }
        if (pos + len < pos) {
          return Status::corrupt("COPY range overflows" + at(offset_));
        }
        ++stats_.copy_cmds;
        stats_.copy_bytes += len;
        stats_.copy_cmd_bytes += 1 + hdr_need_;
        state_ = State::kOpcode;
        return Event{Kind::kCopy, nullptr, pos, len};
      }

      case State::kOpcode: {
        if (buf.avail_in == 0) {
          if (!buf.eof_in) return Event{Kind::kNeedInput};
          return Status::corrupt("truncated delta: ends without END" +
                                 at(offset_));
        }
        op_ = *buf.next_in++;
        --buf.avail_in;
        ++offset_;
        if (op_ == kOpEnd) {
          state_ = State::kDone;
          return Event{Kind::kEnd};
        }
        if (op_ <= kOpLiteralImmediateMax) {
          ++stats_.literal_cmds;
          ++stats_.literal_cmd_bytes;
          literal_left_ = op_;
          state_ = State::kLiteral;
        } else if (op_ <= kOpLiteralN1 + 3) {
          ++stats_.literal_cmds;
          hdr_have_ = 0;
          hdr_need_ = width_bytes(op_ - kOpLiteralN1);
          state_ = State::kParams;
        } else if (op_ <= kOpCopyLast) {
          hdr_have_ = 0;
          hdr_need_ = width_bytes((op_ - kOpCopyBase) >> 2) +
                      width_bytes((op_ - kOpCopyBase) & 3);
          state_ = State::kParams;
        } else {
          char msg[64];
          std::snprintf(msg, sizeof msg, "reserved opcode %#04x", op_);
          return Status::corrupt(msg + at(offset_ - 1));
        }
        continue;
      }

      case State::kLiteral: {
        if (buf.avail_in == 0) {
          if (!buf.eof_in) return Event{Kind::kNeedInput};
          return Status::corrupt("truncated delta: literal lacks " +
                                 std::to_string(literal_left_) + " bytes" +
                                 at(offset_));
        }
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>({literal_left_, buf.avail_in, max_literal}));
        Event ev{Kind::kLiteral, buf.next_in, 0, n};
        buf.next_in += n;
        buf.avail_in -= n;
        offset_ += n;
        literal_left_ -= n;
        stats_.literal_bytes += n;
        if (literal_left_ == 0) state_ = State::kOpcode;
        return ev;
      }
    }
  }
}

Status check_copy_in_basis(uint64_t pos, uint64_t len,
                           std::optional<uint64_t> basis_size) {
  if (basis_size && pos + len > *basis_size) {
    return Status::out_of_range(
        "COPY of " + std::to_string(len) + " bytes at " + std::to_string(pos) +
        " lies outside the basis (" + std::to_string(*basis_size) + " bytes)");
  }
  return Status::ok();
}

namespace {

class PatchJob : public Job {
 public:
  PatchJob(BasisReader* basis, Stats* stats)
      : basis_(basis), stats_(stats), basis_size_(basis->size()) {}

  Result<JobStep> iterate(JobBuffers& buf) override {
    for (;;) {
      if (copy_left_ > 0) {
        if (buf.avail_out == 0) return JobStep::kBlocked;
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(copy_left_, buf.avail_out));
        Status st = basis_->read_at(copy_pos_, buf.next_out, n);
        if (!st.is_ok()) return st;
        produce(buf, n);
        copy_pos_ += n;
        copy_left_ -= n;
        continue;
      }
      if (decoder_.at_end()) {
        publish(buf);
        return JobStep::kDone;
      }
      if (buf.avail_out == 0) return JobStep::kBlocked;
      Result<DeltaDecoder::Event> ev = decoder_.next(buf, buf.avail_out);
      if (!ev.is_ok()) return ev.status();
      switch (ev->kind) {
        case DeltaDecoder::Kind::kNeedInput:
          publish(buf);
          return JobStep::kBlocked;
        case DeltaDecoder::Kind::kLiteral:
          std::memcpy(buf.next_out, ev->data, ev->len);
          produce(buf, ev->len);
          break;
        case DeltaDecoder::Kind::kCopy:
          MIRRORFS_RETURN_IF_ERROR(
              check_copy_in_basis(ev->pos, ev->len, basis_size_));
          copy_pos_ = ev->pos;
          copy_left_ = ev->len;
          break;
        case DeltaDecoder::Kind::kEnd:
          break;
      }
    }
  }

 private:
  void produce(JobBuffers& buf, size_t n) {
    buf.next_out += n;
    buf.avail_out -= n;
    out_bytes_ += n;
  }
  void publish(const JobBuffers&) {
    if (!stats_) return;
    *stats_ = decoder_.stats();
    stats_->in_bytes = decoder_.consumed();
    stats_->out_bytes = out_bytes_;
  }

  BasisReader* basis_;
  Stats* stats_;
  const std::optional<uint64_t> basis_size_;
  DeltaDecoder decoder_;
  uint64_t copy_pos_ = 0, copy_left_ = 0;
  uint64_t out_bytes_ = 0;
};

class MemoryBasisReader : public BasisReader {
 public:
  MemoryBasisReader(std::span<const uint8_t> data, bool report_size)
      : data_(data), report_size_(report_size) {}
  Status read_at(uint64_t offset, uint8_t* buf, size_t len) override {
    if (offset > data_.size() || len > data_.size() - offset) {
      return Status::out_of_range("read past the end of the basis");
    }
    copy_bytes(buf, data_.data() + offset, len);
    return Status::ok();
  }
  std::optional<uint64_t> size() const override {
    if (!report_size_) return std::nullopt;
    return data_.size();
  }

 private:
  std::span<const uint8_t> data_;
  bool report_size_;
};

}  // namespace

std::unique_ptr<BasisReader> new_memory_basis_reader(
    std::span<const uint8_t> data, bool report_size) {
  return std::make_unique<MemoryBasisReader>(data, report_size);
}

std::unique_ptr<Job> new_patch_job(BasisReader* basis, Stats* stats) {
  return std::make_unique<PatchJob>(basis, stats);
}

}  // namespace mirrorfs::core

#include "replicator/wire/frame_reader.h"

#include <algorithm>
#include <cassert>

#include "core/coding.h"

namespace mirrorfs::replicator::wire {
namespace {

// Copies from the front of `in` into dst[have, need), advancing `in` and
// `have`; true once dst is full.
bool fill(uint8_t* dst, size_t& have, size_t need,
          std::span<const uint8_t>& in) {
  const size_t n = std::min(need - have, in.size());
  copy_bytes(dst + have, in.data(), n);
  have += n;
  in = in.subspan(n);
  return have == need;
}

}  // namespace

Result<std::optional<Message>> FrameReader::fail(Status st) {
  error_ = std::move(st);
  return error_;
}

Result<std::optional<Message>> FrameReader::next(std::span<const uint8_t>& in) {
  if (!error_.is_ok()) return error_;
  if (!in_body_) {
    std::span<const uint8_t> header;
    if (header_have_ == 0 && in.size() >= kFrameHeaderLen) {
      header = in.first(kFrameHeaderLen);  // whole in this piece: no copy
    } else {
      if (!fill(header_buf_.data(), header_have_, kFrameHeaderLen, in))
        return std::optional<Message>();
      header = header_buf_;
    }
    Result<FrameHeader> h = decode_header(header);
    if (!h.is_ok()) return fail(h.status());
    if (header.data() != header_buf_.data()) in = in.subspan(kFrameHeaderLen);
    header_have_ = kFrameHeaderLen;
    header_ = *h;
    in_body_ = true;
    body_have_ = 0;
  }

  const size_t len = header_->body_len;
  std::span<const uint8_t> body;
  if (body_have_ == 0 && in.size() >= len) {
    body = in.first(len);  // whole in this piece: no copy
    in = in.subspan(len);
  } else {
    body_.resize(len);
    if (!fill(body_.data(), body_have_, len, in))
      return std::optional<Message>();
    body = body_;
  }
  in_body_ = false;
  header_have_ = 0;
  body_have_ = 0;
  Result<Message> m = decode_body(*header_, body);
  if (!m.is_ok()) return fail(m.status());
  return std::optional<Message>(std::move(*m));
}

}  // namespace mirrorfs::replicator::wire

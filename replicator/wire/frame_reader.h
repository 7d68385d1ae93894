// FrameReader: turns a byte stream arriving in arbitrary pieces (what a
// socket read returns) into Messages, one frame at a time. Pure: the
// caller reads the socket and hands the bytes over; it never buffers more
// than one frame (kFrameHeaderLen + kMaxFrameBody), and a frame that
// arrives whole in one piece is decoded where it lies, without a copy.
//
// Use:
//   std::span<const uint8_t> in(buf, n);       // what a read returned
//   for (;;) {
//     Result<std::optional<Message>> r = reader.next(in);
//     if (!r.is_ok()) { send Error if possible; close; }
//     if (!*r) break;                          // `in` used up: read more
//     handle(std::move(**r));
//   }
//   // at EOF: reader.mid_frame() true means the peer cut a frame short.
//
// Thread-safety: none; one reader per connection, used by its reading
// coroutine only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/status.h"
#include "replicator/wire/codec.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::wire {

class FrameReader {
 public:
  FrameReader() = default;
  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Takes bytes from the front of `in` (advancing it), never past the end
  // of the frame under way. Returns that frame's Message once it is
  // complete, with `in` holding the bytes after it (call again to get the
  // next frame); nullopt once `in` is empty and the frame is not (what was
  // taken is kept for the next call).
  // Errors are those of decode_header / decode_body: kCorrupt, or
  // kUnsupported for a Hello/HelloOk of another protocol version. An
  // error is final: the stream cannot be resynchronised, so every later
  // call returns the same Status and takes nothing.
  Result<std::optional<Message>> next(std::span<const uint8_t>& in);

  // True while part of a frame has been taken (EOF now cuts a frame).
  bool mid_frame() const { return header_have_ > 0; }
  // The header of the frame under way or just decoded (for an error
  // response that names the request); nullopt before the first header.
  const std::optional<FrameHeader>& last_header() const { return header_; }

 private:
  Result<std::optional<Message>> fail(Status st);

  std::array<uint8_t, kFrameHeaderLen> header_buf_{};
  size_t header_have_ = 0;             // bytes of the header taken
  std::optional<FrameHeader> header_;  // set once a header is accepted
  bool in_body_ = false;               // header_ is the frame under way
  std::vector<uint8_t> body_;          // the body when it came in pieces
  size_t body_have_ = 0;
  Status error_;  // sticky
};

}  // namespace mirrorfs::replicator::wire

// What both content writers share (the temporary-file writer of
// content_writer.cc and the in-place writer of in_place_writer.cc): the
// delta decoder loop, the first-error-sticks rule, and the checks at the
// start of write() and finish(). Private to replicator/mirror/.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/patch.h"
#include "core/status.h"
#include "replicator/mirror/applier.h"

namespace mirrorfs::replicator::mirror {

class DeltaWriter : public ContentWriter {
 protected:
  explicit DeltaWriter(std::string path) : path_(std::move(path)) {}

  // Records the first error, calls discard() and returns the error.
  Status fail(const Status& st) {
    if (failed_.is_ok()) failed_ = st;
    discard();
    return failed_;
  }
  // fail() with kCorrupt "content of PATH: why".
  Status corrupt(const std::string& why) {
    return fail(Status::corrupt("content of " + path_ + ": " + why));
  }
  // What a failed writer gives up at once (default: nothing).
  virtual void discard() {}

  // The start of write(): the sticky error, or a write after finish.
  Status check_write() const;
  // The start of finish(): the sticky error, a second finish, a delta
  // that did not reach its END. Marks finish as called.
  Status start_finish();

  // Runs the decoder over bytes: each LITERAL piece goes to literal(),
  // each COPY to copy(); room() is asked before each step for the largest
  // literal piece to accept (> 0; it may flush). Decoder errors and bytes
  // after END become corrupt(); errors of the callbacks are returned as
  // they are (they call fail() themselves).
  template <typename Room, typename Literal, typename Copy>
  Status feed(std::span<const uint8_t> bytes, Room room, Literal literal,
              Copy copy) {
    core::JobBuffers b;
    b.next_in = bytes.data();
    b.avail_in = bytes.size();
    for (;;) {
      Result<size_t> max = room();
      if (!max.is_ok()) return max.status();
      Result<core::DeltaDecoder::Event> ev = decoder_.next(b, *max);
      if (!ev.is_ok()) return corrupt(ev.status().message());
      Status st;
      switch (ev->kind) {
        case core::DeltaDecoder::Kind::kNeedInput:
          return Status::ok();
        case core::DeltaDecoder::Kind::kEnd:
          if (b.avail_in > 0) return corrupt("bytes after the delta's END");
          return Status::ok();
        case core::DeltaDecoder::Kind::kLiteral:
          st = literal(ev->data, ev->len);
          break;
        case core::DeltaDecoder::Kind::kCopy:
          st = copy(ev->pos, ev->len);
          break;
      }
      if (!st.is_ok()) return st;
    }
  }

  const std::string path_;  // the client path, for messages
  core::DeltaDecoder decoder_;
  Status failed_;
  bool finish_called_ = false;
};

}  // namespace mirrorfs::replicator::mirror

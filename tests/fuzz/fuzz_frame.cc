// Fuzz target: arbitrary bytes as a stream of wire frames.
//
// Input layout: the bytes a peer sends, frames back to back (the corpus
// holds one frame per file, a whole conversation, and broken frames).
//
// Oracle:
//  - decode_header + decode_body, frame by frame, never crash, and fail
//    only with kCorrupt (kUnsupported for a Hello/HelloOk version);
//  - FrameReader, fed the same bytes in uneven pieces (seeded from the
//    input), yields the same messages and ends the same way (same error,
//    or mid_frame() exactly when the input ends inside a frame);
//  - every message that decodes re-encodes (compressed or not), decodes
//    back equal, and an uncompressed frame re-encodes to the very bytes it
//    came from: each message has exactly one encoding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "replicator/wire/codec.h"
#include "replicator/wire/frame_reader.h"

namespace {

using namespace mirrorfs;
using namespace mirrorfs::replicator::wire;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_frame: %s\n", what);
  std::abort();
}

struct Outcome {
  std::vector<Message> messages;
  Code error = Code::kOk;  // the decode error that ended the stream
  bool cut = false;        // the input ended inside a frame
};

void check_error(const Status& st) {
  if (st.code() != Code::kCorrupt && st.code() != Code::kUnsupported)
    fail(("unexpected error kind: " + st.to_string()).c_str());
}

void check_reencode(const Message& m, std::span<const uint8_t> original) {
  std::vector<uint8_t> raw;
  if (!encode(m, raw, {.compress = false}).is_ok())
    fail("a decoded message does not encode");
  const bool was_compressed = original[5] & kFlagZstd;
  if (!was_compressed &&
      (raw.size() != original.size() ||
       std::memcmp(raw.data(), original.data(), raw.size()) != 0))
    fail("re-encoding gives other bytes");
  std::vector<uint8_t> packed;
  if (!encode(m, packed, {.zstd_level = 1}).is_ok())
    fail("a decoded message does not encode compressed");
  for (const std::vector<uint8_t>* f : {&raw, &packed}) {
    auto h = decode_header(std::span(*f).first(kFrameHeaderLen));
    if (!h.is_ok()) fail("own header refused");
    auto back = decode_body(*h, std::span(*f).subspan(kFrameHeaderLen));
    if (!back.is_ok())
      fail(("own frame refused: " + back.status().to_string()).c_str());
    if (!(*back == m)) fail("decode(encode(m)) != m");
  }
}

Outcome decode_whole(std::span<const uint8_t> in) {
  Outcome out;
  while (!in.empty()) {
    if (in.size() < kFrameHeaderLen) {
      out.cut = true;
      break;
    }
    auto h = decode_header(in.first(kFrameHeaderLen));
    if (!h.is_ok()) {
      check_error(h.status());
      out.error = h.status().code();
      break;
    }
    if (in.size() < kFrameHeaderLen + h->body_len) {
      out.cut = true;
      break;
    }
    const auto frame = in.first(kFrameHeaderLen + h->body_len);
    auto m = decode_body(*h, frame.subspan(kFrameHeaderLen));
    if (!m.is_ok()) {
      check_error(m.status());
      out.error = m.status().code();
      break;
    }
    check_reencode(*m, frame);
    out.messages.push_back(std::move(*m));
    in = in.subspan(frame.size());
  }
  return out;
}

Outcome read_in_pieces(std::span<const uint8_t> in, uint32_t seed) {
  Outcome out;
  std::minstd_rand rng(seed);
  FrameReader reader;
  while (!in.empty() && out.error == Code::kOk) {
    const size_t n =
        std::min<size_t>(in.size(), 1 + rng() % (rng() % 2 ? 17 : 70000));
    std::span<const uint8_t> piece = in.first(n);
    in = in.subspan(n);
    for (;;) {
      auto r = reader.next(piece);
      if (!r.is_ok()) {
        out.error = r.status().code();
        break;
      }
      if (!*r) break;
      out.messages.push_back(std::move(**r));
    }
  }
  out.cut = out.error == Code::kOk && reader.mid_frame();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  const Outcome whole = decode_whole(in);
  uint32_t seed = 2166136261u;  // FNV-1a of the input: repeatable pieces
  for (uint8_t b : in) seed = (seed ^ b) * 16777619u;
  const Outcome pieces = read_in_pieces(in, seed);
  if (pieces.messages != whole.messages)
    fail("FrameReader and decode_body disagree on the messages");
  if (pieces.error != whole.error)
    fail("FrameReader and decode_body disagree on the error");
  if (pieces.cut != whole.cut)
    fail("FrameReader and decode_body disagree on a cut frame");
  return 0;
}

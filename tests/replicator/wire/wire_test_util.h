// Helpers of the wire tests and of the fuzz corpus generator: one sample
// message of every type, a hand-written frame builder that follows
// docs/protocol.md independently of the codec, and a whole-frame decoder.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/wire/codec.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::wire::testing {

// One message of every frame type (every entry operation too), each with
// every field it carries set to something other than its default, and
// request ids 0 (handshake) or 1, 2, 3, ...
std::vector<Message> sample_messages();

Hash hash_of(uint8_t seed);  // 32 bytes seed, seed+1, ...

// Decodes one whole frame: header, then body.
// REQUIRES nothing: a frame shorter than its header is kCorrupt.
Result<Message> decode_frame(std::span<const uint8_t> frame);

// decode_frame(f).status().code().
Code decode_code(std::span<const uint8_t> f);

// The code encode(m) returns; fails the current test if an encode that
// failed changed its output vector.
Code encode_code(const Message& m);

// Encodes `m`; fails the current test (and returns {}) if encode does.
std::vector<uint8_t> encoded(const Message& m, const EncodeOptions& opt = {});

// Builds bodies and frames byte by byte, as docs/protocol.md says.
class Bytes {
 public:
  Bytes& u8(uint8_t v);
  Bytes& u16(uint16_t v);
  Bytes& u32(uint32_t v);
  Bytes& u64(uint64_t v);
  Bytes& str(const std::string& s);  // le32 length + bytes
  Bytes& hash(const Hash& h);
  Bytes& attrs(const Attrs& a);
  Bytes& raw(std::span<const uint8_t> b);
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  std::vector<uint8_t> b_;
};

// A frame: header (body_len = body.size() unless given) + body.
std::vector<uint8_t> frame(uint8_t type, uint64_t request_id,
                           const std::vector<uint8_t>& body, uint8_t flags = 0);

}  // namespace mirrorfs::replicator::wire::testing

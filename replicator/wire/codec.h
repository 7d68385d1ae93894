// The codec of the mirrorfs wire protocol: frames (16-byte header + body)
// to Messages and back. Pure: buffers in, buffers out, no socket, no
// clock. The byte layout is specified in docs/protocol.md; the messages
// and limits are in wire/messages.h. For bytes arriving in pieces from a
// socket, see wire/frame_reader.h.
//
// Everything that comes from the peer is checked before it is used or
// allocated: a frame that breaks a limit or a rule is kCorrupt (a Hello or
// HelloOk of another protocol version is kUnsupported). The encoder applies
// the same rules (kInvalidArgument), so we never send what the peer must
// refuse.
//
// Thread-safety: every function here may be called from any thread at
// once (zstd contexts are cached per thread).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::wire {

struct FrameHeader {
  uint32_t body_len = 0;
  Type type = Type::kOk;
  uint8_t flags = 0;
  uint64_t request_id = 0;
};

// Parses the 16-byte header. kCorrupt for: a size other than
// kFrameHeaderLen, body_len > kMaxFrameBody, an unknown type, reserved
// flag bits or reserved bytes not zero, a flag not allowed for the type
// (kFlagZstd only on FileData, SigData, FetchSig and FetchData).
Result<FrameHeader> decode_header(std::span<const uint8_t> header);

// Parses a body whose header decode_header() accepted.
// REQUIRES: body.size() == header.body_len (else kCorrupt).
// Decompresses zstd bodies without ever holding more than kMaxChunk of
// output (a zstd bomb is kCorrupt), checks every length against the
// limits, rejects trailing bytes and checks each type's rules
// (docs/protocol.md, "Rules"). The Message carries header.request_id.
Result<Message> decode_body(const FrameHeader& header,
                            std::span<const uint8_t> body);

struct EncodeOptions {
  int zstd_level = 3;    // ZSTD_minCLevel() .. ZSTD_maxCLevel()
  bool compress = true;  // false: FileData/SigData always sent as is
};

// Appends the header and body of one frame holding `m` to `out`.
// FileData/SigData bytes are zstd-compressed at opt.zstd_level and sent
// compressed only when that is smaller. kInvalidArgument, with `out`
// unchanged, if `m` breaks a limit or rule, or its body would not fit in
// kMaxFrameBody (a FileEnd with many long link names can: send the extra
// names as Link entry operations).
Status encode(const Message& m, std::vector<uint8_t>& out,
              const EncodeOptions& opt = {});

// The frame type of `m` (for an EntryOp, its `type`).
Type type_of(const Message& m);

// "FileBegin", "Mkdir", ... for logs; "Unknown" for a value not in Type.
const char* type_name(Type t);

}  // namespace mirrorfs::replicator::wire

// Private to wire/: the body layout of every message but FileData and
// SigData (whose body is their bytes, see codec.cc), and the table of
// which fields each entry operation carries. Spec: docs/protocol.md.
#pragma once

#include "core/status.h"
#include "replicator/wire/field_io.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::wire {

// What `path2` of an entry operation names, if it is on the wire.
enum class Path2 : uint8_t { kNone, kPath, kXattrName };

// The fields an entry operation type carries besides seq and path.
struct EntryFields {
  Path2 path2 = Path2::kNone;
  bool flags = false;
  bool attrs = false;
  bool value = false;
};

bool is_entry_type(Type t);
// REQUIRES: is_entry_type(t).
EntryFields entry_fields(Type t);

// Appends the body of `body` (sent as frame type `type`).
// REQUIRES: body holds neither FileData nor SigData; type == type_of(body);
// the rules hold (check_message), so every length fits its le32.
void encode_fields(Type type, const Body& body, FieldWriter& w);

// Reads the body of a frame of type `type` (not FileData or SigData).
// kCorrupt for a short, over-limit or over-long body; kUnsupported for a
// Hello or HelloOk of another protocol version. Does not check the rules.
Result<Body> decode_fields(Type type, std::span<const uint8_t> body);

}  // namespace mirrorfs::replicator::wire

// Private to wire/: the rules every message obeys beyond its layout
// (docs/protocol.md, "Rules"): lengths within the limits of messages.h,
// names non-empty and free of NUL, fields an entry operation does not use
// left at their defaults, request id 0 only where allowed. The decoder and
// the encoder check the same rules, so we never send what the peer must
// refuse.
#pragma once

#include "core/status.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::wire {

// OK, or a Status with `code` naming the first rule `m` breaks.
Status check_message(const Message& m, Code code);

}  // namespace mirrorfs::replicator::wire

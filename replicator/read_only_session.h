// The handshake of a read-only session (docs/protocol.md, kCapReadOnly),
// which `mirrorfs restore` and `mirrorfs verify` open with a mirror: it
// takes no per-client lock on the mirror (a running replicate neither
// blocks it nor is blocked by it) and the mirror refuses every change in
// it. What they share is "a connected channel and a checked HelloOk";
// restore then drives the channel itself, verify wraps it in a
// ClientSession (ClientSession::adopt).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "replicator/channel.h"
#include "replicator/replicate.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

struct ReadOnlyHello {
  std::string client_suffix;  // after this host's name in the mirror's log,
                              // e.g. " (verify)"
  std::string journal_id;     // the client's journal id; empty when it has none
};

struct ReadOnlyChannel {
  std::unique_ptr<Channel> channel;  // handshake done; nothing received since
  wire::HelloOk hello_ok;            // echoes kCapReadOnly
};

// Connects to `mirror` with the key in `state_dir`, says Hello with
// kCapReadOnly and checks the answer. kNotFound (saying to run keygen) if
// `state_dir` holds no key; the mirror's refusal or absence as its Status
// (say_hello); kUnsupported if the mirror does not echo kCapReadOnly
// (an older serve, which would treat the session as a replicating one).
Result<ReadOnlyChannel> open_read_only(const std::string& state_dir,
                                       const MirrorTarget& mirror,
                                       const ReadOnlyHello& hello);

}  // namespace mirrorfs::replicator

// The client's side of one fetch (docs/protocol.md, "Fetch"): brings the
// mirror's version of one regular file into a destination directory as
// a delta against what that directory already holds under the name.
//
// The new version is patched into an unnamed temporary file in the
// destination directory (O_TMPFILE; a hidden named one where the file
// system lacks it), checked against the mirror's content hash and size,
// given its mode, owner (as root) and times, fsynced, and only then
// renamed over the name: an interrupted or failed fetch leaves the old
// file (or none) there, never a torn one.
//
// Memory: the signature of the old version is streamed out as it is
// made; the delta is patched as it arrives. Thread-safety: the caller
// owns the channel; nothing else may receive from it meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "replicator/channel.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

struct FetchFileArgs {
  uint64_t request_id = 0;      // fresh, non-zero
  std::string mirror_path;      // the file on the mirror
  int dir_fd = -1;              // the destination directory, open
  std::string name;             // the name in it (one component)
  bool set_owner = false;       // apply uid/gid (root only)
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};  // per frame
};

struct FetchFileResult {
  bool had_basis = false;   // a regular file was there and was the basis
  uint64_t size = 0;        // of the version restored
  uint64_t literal_bytes = 0;  // sent by the mirror as literals
  uint64_t copied_bytes = 0;   // taken from the old version (saved)
};

// Errors: the mirror's Error (kNotFound, a file that changed while it was
// read: kIoError EAGAIN...), kCorrupt for a delta or content that does
// not give the announced hash and size, a local I/O error naming the
// path. The connection stays usable after any of them except a
// connection error.
Result<FetchFileResult> fetch_file(Channel& ch, const FetchFileArgs& args);

}  // namespace mirrorfs::replicator

// The commit rendezvous between a running mount and its readers
// (docs/durability.md, "The commit rendezvous"). The mount replies to
// entry operations before their journal rows are committed (group commit
// runs a few milliseconds later); a reader that must see everything
// completed so far (`mirrorfs replicate` at the start of each cycle) asks
// the mount, through the Unix socket DIR/mount.sock, to commit what it
// holds, and waits for "committed up to seq N".
//
// This header holds the message format (shared by the mount's server in
// fs/commit_server.h and the client here) and the client. Pure functions
// and one blocking call; no state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace mirrorfs::db {

// The socket's name inside the state directory.
inline constexpr char kMountSocketName[] = "mount.sock";

// Request: magic "MFCR", version, three zero bytes. Reply: magic "MFCA",
// version, status, two zero bytes, seq (u64 big-endian).
inline constexpr size_t kCommitRequestSize = 8;
inline constexpr size_t kCommitReplySize = 16;
inline constexpr uint8_t kCommitVersion = 1;

enum class CommitStatus : uint8_t {
  kCommitted = 0,     // everything completed before the request: seq <= N
  kNotJournaling = 1,  // the mount records nothing (--no-journal)
};

struct CommitReply {
  CommitStatus status = CommitStatus::kCommitted;
  uint64_t seq = 0;  // the journal's last committed seq (0: none yet)
};

void encode_commit_request(uint8_t out[kCommitRequestSize]);
// OK, or kCorrupt naming what is wrong (magic, version, reserved bytes).
Status decode_commit_request(const uint8_t* in, size_t n);
void encode_commit_reply(const CommitReply& r, uint8_t out[kCommitReplySize]);
Result<CommitReply> decode_commit_reply(const uint8_t* in, size_t n);

// "/proc/self/fd/<dir_fd>/mount.sock": the socket's address, reached
// through an open descriptor of the state directory, so that a state
// path longer than sockaddr_un allows still works.
std::string mount_socket_address(int state_dir_fd);

struct CommitRequestOptions {
  // How long to wait for the mount's answer (a big batch may take a
  // while to commit).
  std::chrono::milliseconds timeout{30000};
};

struct CommitOutcome {
  bool attached = false;  // a mount answered; false: none is running
  CommitReply reply;      // when attached
};

// Asks the mount serving `state_dir` to commit everything it completed
// before this call, and returns once it has. No socket, or nobody
// listening on it (a mount that was killed), means no mount is running:
// attached = false, nothing to wait for. An error: the state directory
// cannot be opened, the mount did not answer in time, or answered
// something malformed.
Result<CommitOutcome> request_commit(const std::string& state_dir,
                                     const CommitRequestOptions& opt = {});

}  // namespace mirrorfs::db

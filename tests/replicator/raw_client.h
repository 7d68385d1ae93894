// A test-only replicator connection that can send what the codec refuses
// to encode: raw bytes over a real TLS 1.3 connection, authenticated with
// a real key (replicator/tls contexts), so a test can play a hostile
// client that holds an allowed key. Blocking, one thread, a receive
// deadline on the socket.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::testing {

class RawClient {
 public:
  // Connects to 127.0.0.1:port with the identity in state_dir, pinning
  // `mirror_fp`, and says Hello (journal id `journal_id`, `capabilities`,
  // e.g. wire::kCapReadOnly). Fails if the
  // mirror answers anything but HelloOk.
  static Result<std::unique_ptr<RawClient>> connect(const std::string& state_dir,
                                                    const std::string& mirror_fp,
                                                    uint16_t port,
                                                    const std::string& journal_id,
                                                    uint64_t capabilities = 0);
  ~RawClient();

  // Bytes as they are: no codec, no rules.
  Status write_raw(std::span<const uint8_t> bytes);
  // Encodes m (the codec's rules hold) and writes it.
  Status send(const wire::Message& m);
  // The next frame from the mirror, decoded; kNotFound once the mirror
  // closed the connection; kIoError after 20 s without one.
  Result<wire::Message> receive();
  // Receives frames until a final answer (Ok, Error, BasisMismatch,
  // SigEnd, ListEnd, Ack); all of them, the final one last.
  Result<std::vector<wire::Message>> answer();

 private:
  struct Impl;
  explicit RawClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One frame: a 16-byte header (body_len = body.size() unless given)
// and the body, as docs/protocol.md lays it out.
std::vector<uint8_t> raw_frame(wire::Type type, uint64_t id, std::span<const uint8_t> body,
                               uint8_t flags = 0, int64_t body_len = -1);

}  // namespace mirrorfs::replicator::testing

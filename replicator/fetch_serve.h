// The mirror's side of a fetch (docs/protocol.md, "Fetch"): takes the
// client's signature of the version it holds (FetchSig*, bounded by
// wire::kMaxFetchSignature), reads the mirror's file once and answers
// with a librsync delta against that signature (FetchData*, all literal
// without one) and FetchEnd (content hash, size and attributes of the
// version read). A file that changed while it was read is answered
// Error (EAGAIN): the client never gets a mix of two versions.
//
// Memory: the client's signature plus fixed buffers, whatever the size
// of the file. Thread-safety: one per session, used by its thread only;
// it touches the Applier only through open_read (safe from any thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/signature.h"
#include "core/status.h"
#include "replicator/mirror/applier.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

class FetchServer {
 public:
  using Send = std::function<Status(const wire::Message&)>;
  // REQUIRES: applier outlives this.
  FetchServer(mirror::Applier& applier, Send send)
      : applier_(applier), send_(std::move(send)) {}

  // Each returns an error only for a protocol violation (the session
  // ends); a fetch that fails is answered with Error and the session
  // goes on.
  Status begin(uint64_t id, const wire::FetchBegin& b);
  Status sig(uint64_t id, const wire::FetchSig& d);
  Status sig_end(uint64_t id);

  // Bytes of files read for fetches, and of deltas sent (for the log).
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t delta_bytes() const { return delta_bytes_; }

 private:
  Status serve(uint64_t id, const std::string& path, const core::Signature* sig);
  Status answer_error(uint64_t id, const Status& s);

  mirror::Applier& applier_;
  Send send_;
  uint64_t id_ = 0;  // the fetch whose signature is arriving, 0: none
  std::string path_;
  std::unique_ptr<core::SignatureLoader> loader_;
  uint64_t sig_bytes_ = 0;
  Status failed_;  // why the arriving signature is refused (answered at its end)
  uint64_t file_bytes_ = 0, delta_bytes_ = 0;
};

}  // namespace mirrorfs::replicator

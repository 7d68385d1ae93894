// Sends one planned batch to a mirror over a session and collects what
// the mirror acknowledged: the seq it is now complete up to, the versions
// it now holds, and why it stopped short, if it did.
//
// The ack is the largest seq such that every change up to it is on the
// mirror: the mirror's Ack (which stops before the first entry operation
// it failed to apply) lowered to just before the first change of any file
// whose content could not be shipped (changed while read, gone since the
// snapshot, refused by the mirror). The next batch starts there; entry
// operations the mirror already applied are skipped by it (by seq), and
// content updates are idempotent by hash.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "db/catalog.h"
#include "db/mirror_state.h"
#include "db/signature_cache.h"
#include "replicator/client_session.h"
#include "replicator/plan.h"
#include "replicator/progress.h"

namespace mirrorfs::replicator {

struct BatchResult {
  uint64_t acked = 0;
  std::vector<std::pair<db::FileId, std::vector<uint8_t>>> versions;
  uint64_t files_sent = 0;
  uint64_t bytes_saved = 0;  // file bytes COPYed from a basis, not sent
  std::string first_error;   // empty: everything went through
};

struct BatchContext {
  ClientSession* session = nullptr;
  db::MirrorState* state = nullptr;
  db::SignatureCache* signatures = nullptr;
  db::MirrorId mirror = 0;
  int backing_dir_fd = -1;
  // Not null: advanced by each file the mirror took (a full plan's
  // initial sync shows its progress). Not owned.
  ProgressMeter* progress = nullptr;
};

// Sends `plan` and waits for the mirror to acknowledge it. An error return
// means the connection failed (nothing can be concluded about the batch);
// problems with single operations are reported in BatchResult.
Result<BatchResult> send_batch(const BatchContext& ctx, const Plan& plan);

}  // namespace mirrorfs::replicator

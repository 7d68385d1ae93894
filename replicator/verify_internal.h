// What verify.cc and verify_repair.cc share; private to replicator/.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "replicator/client_session.h"
#include "replicator/state_store.h"
#include "replicator/verify.h"

namespace mirrorfs::replicator {

// The state directory as verify uses it: one connection, this thread's.
using VerifyState = StateStore;

// A read-only session with opt.mirror under this client's key, for
// listings only (open_read_only, read_only_session.h).
Result<std::unique_ptr<ClientSession>> open_verify_session(const VerifyOptions& opt,
                                                           const VerifyState& st);

}  // namespace mirrorfs::replicator

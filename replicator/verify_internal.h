// What verify.cc and verify_repair.cc share; private to replicator/.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "db/catalog.h"
#include "db/journal.h"
#include "db/mirror_state.h"
#include "db/sqlite.h"
#include "replicator/client_session.h"
#include "replicator/verify.h"

namespace mirrorfs::replicator {

// The state directory as verify uses it: one connection, this thread's.
struct VerifyState {
  std::unique_ptr<db::Database> db;
  std::unique_ptr<db::Catalog> catalog;
  std::unique_ptr<db::Journal> journal;
  std::unique_ptr<db::MirrorState> state;
  std::string backing, journal_id;

  // kNotFound, with what to do, if no mount ever recorded its BACKING.
  static Result<VerifyState> open(const std::string& state_dir);
  // The mirror's acknowledged seq; 0 if the state does not know it yet.
  Result<uint64_t> acked_seq(const std::string& mirror);
};

// A read-only session with opt.mirror under this client's key, for
// listings only (open_read_only, read_only_session.h).
Result<std::unique_ptr<ClientSession>> open_verify_session(const VerifyOptions& opt,
                                                           const VerifyState& st);

}  // namespace mirrorfs::replicator

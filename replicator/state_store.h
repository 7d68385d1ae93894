// The state directory (DIR/state.db) as the replicator's commands use it:
// one database connection and the repositories over it, with the BACKING
// and journal id a mount recorded. replicate, verify and verify --repair
// each open one.
//
// Thread-safety: none; one per thread (SQLite connections are per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "db/catalog.h"
#include "db/journal.h"
#include "db/mirror_state.h"
#include "db/signature_cache.h"
#include "db/sqlite.h"

namespace mirrorfs::replicator {

struct StateStore {
  std::unique_ptr<db::Database> db;
  std::unique_ptr<db::Catalog> catalog;
  std::unique_ptr<db::Journal> journal;
  std::unique_ptr<db::MirrorState> state;
  std::unique_ptr<db::SignatureCache> signatures;
  std::string backing;     // the BACKING the mount recorded
  std::string journal_id;  // this journal's id (made once, then kept)

  // Opens DIR/state.db. kNotFound, saying to run the mount first, if no
  // mount ever recorded its BACKING there.
  static Result<StateStore> open(const std::string& state_dir);

  // The acknowledged seq of the mirror named `mirror`; 0 if the state
  // does not know it yet.
  Result<uint64_t> acked_seq_of(const std::string& mirror);
};

}  // namespace mirrorfs::replicator

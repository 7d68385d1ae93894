#include "replicator/state_store.h"

#include "db/schema.h"
#include "db/settings.h"

namespace mirrorfs::replicator {

Result<StateStore> StateStore::open(const std::string& state_dir) {
  StateStore s;
  MIRRORFS_ASSIGN_OR_RETURN(db, db::open_state_db(state_dir + "/state.db"));
  s.db = std::move(db);
  MIRRORFS_ASSIGN_OR_RETURN(catalog, db::Catalog::open(*s.db));
  MIRRORFS_ASSIGN_OR_RETURN(journal, db::Journal::open(*s.db));
  MIRRORFS_ASSIGN_OR_RETURN(state, db::MirrorState::open(*s.db));
  MIRRORFS_ASSIGN_OR_RETURN(sigs, db::SignatureCache::open(*s.db));
  MIRRORFS_ASSIGN_OR_RETURN(settings, db::Settings::open(*s.db));
  s.catalog = std::move(catalog);
  s.journal = std::move(journal);
  s.state = std::move(state);
  s.signatures = std::move(sigs);
  MIRRORFS_ASSIGN_OR_RETURN(backing, settings->get(db::kSettingBacking));
  if (!backing) {
    return Status(Code::kNotFound,
                  state_dir +
                      " records no BACKING (no mount's journal yet): run "
                      "'mirrorfs mount BACKING MOUNTPOINT --state " +
                      state_dir + "' first");
  }
  s.backing = *backing;
  MIRRORFS_ASSIGN_OR_RETURN(jid, db::random_hex_id());
  MIRRORFS_ASSIGN_OR_RETURN(journal_id,
                            settings->get_or_set(db::kSettingJournalId, jid));
  s.journal_id = journal_id;
  return s;
}

Result<uint64_t> StateStore::acked_seq_of(const std::string& mirror) {
  MIRRORFS_ASSIGN_OR_RETURN(all, state->list());
  for (const db::MirrorInfo& m : all) {
    if (m.name == mirror) return m.acked_seq;
  }
  return uint64_t{0};
}

}  // namespace mirrorfs::replicator

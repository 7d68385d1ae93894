// `mirrorfs verify`: compares the source (the BACKING a mount records in
// DIR/state.db) with one mirror by content hashes that both sides compute
// by reading the files now (no catalog, signature cache or mirror catalog
// is trusted), and with repair makes the replicator converge what differs.
//
// Repair is not a second replicator: for each differing path it journals,
// in one state.db transaction, what makes the normal replication path
// converge it (a dirty mark for content, a setattr for attributes, an
// unlink for what only the mirror has, the entry creation for what it
// lacks) and drops the version the state believes that mirror holds (so
// no cached signature is trusted as its basis). Those rows are shipped by
// the replicator like any other: by a running `mirrorfs replicate`, or,
// when none is, by one run of it for that mirror in this process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/replicate.h"

namespace mirrorfs::replicator {

struct VerifyOptions {
  std::string state_dir;
  MirrorTarget mirror;
  // Directories (relative to the root) to compare beneath; empty: all.
  std::vector<std::string> paths;
  // How long a repair waits for a running replicator to ship it.
  std::chrono::seconds repair_wait{120};
  std::chrono::milliseconds list_timeout{std::chrono::minutes(30)};
};

struct Difference {
  // "content", "missing" (not on the mirror), "extra" (only on the
  // mirror), "type", "mode", "mtime", "owner", "target" (symlink text),
  // "link" (hard-link groups differ).
  std::string kind;
  std::string path;  // relative to the root
  uint32_t mirror_mode = 0;  // st_mode of what the mirror holds, 0 if nothing
  bool operator==(const Difference&) const = default;
};

struct VerifyReport {
  std::vector<Difference> differences;  // in listing order; pending left out
  std::vector<std::string> pending;     // differing, but journaled and not
                                        // yet acknowledged by the mirror
  uint64_t entries = 0;                 // entries compared (both sides' union)
  uint64_t source_bytes = 0;            // bytes hashed in BACKING
  uint64_t mirror_bytes = 0;            // bytes hashed on the mirror
};

// Compares. kNotFound if DIR holds no BACKING; the mirror's refusal or
// absence as its Status.
Result<VerifyReport> verify_mirror(const VerifyOptions& opt);

// Journals the repair of `report`'s differences (see above) and waits
// until the mirror acknowledged it: a running replicator is given a few
// seconds, then one replication runs here; if the mirror is busy with
// another session of this client, up to opt.repair_wait more. An error
// names what could not be repaired or shipped.
Status repair_mirror(const VerifyOptions& opt, const VerifyReport& report,
                     const std::atomic<bool>& stop);

}  // namespace mirrorfs::replicator

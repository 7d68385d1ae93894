// `mirrorfs restore`: brings files back from a mirror into DEST, as
// deltas against whatever DEST already holds.
//
// One read-only session (wire::kCapReadOnly: it runs beside the client's
// replicate, changes nothing on the mirror) with this host's key; no
// journal or catalog is needed, so a rebuilt host with only its key can
// restore. For each PATH (relative to the mirror's root; "." for all) the
// mirror's listing is rebuilt beneath DEST at the same relative paths:
// directories, regular files (fetched as deltas against DEST's file of
// that name, or skipped when DEST's content hash is the mirror's),
// symlinks, hard links (names of one inode on the mirror are linked),
// fifos and sockets, device nodes as root; mode and mtime (to the ns),
// owners as root. What DEST holds that the mirror does not is left alone;
// a name holding another file type is replaced. Extended attributes are
// not restored (the listing does not carry them yet).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/progress.h"
#include "replicator/replicate.h"

namespace mirrorfs::replicator {

struct RestoreOptions {
  std::string state_dir;  // this host's identity (identity.key/.crt)
  MirrorTarget mirror;
  std::vector<std::string> paths;  // relative to the mirror's root; empty: "."
  std::string dest;                // created if missing
  bool set_owner = (::geteuid() == 0);
  ProgressOptions progress;        // what = "restore"
};

struct RestoreStats {
  uint64_t files = 0;          // regular files brought to the mirror's version
  uint64_t files_fetched = 0;  // ... of which were transferred
  uint64_t bytes = 0;          // bytes of those files
  uint64_t saved_bytes = 0;    // file bytes not sent (DEST had them)
  uint64_t wire_bytes = 0;     // TCP bytes sent and received
  uint64_t dirs = 0, symlinks = 0, links = 0, nodes = 0;
  uint64_t skipped_nodes = 0;  // device nodes, when not root
  uint64_t failed = 0;         // entries not restored (first_error says why)
  std::string first_error;
};

// Restores; stops between files once `stop` is set (kIoError
// "interrupted"). An error for what stops the whole restore (no key,
// the mirror away or refusing, a PATH not on the mirror, DEST not
// usable); entries that fail one by one are counted in `failed`.
Result<RestoreStats> run_restore(const RestoreOptions& opt, const std::atomic<bool>& stop);

}  // namespace mirrorfs::replicator

// What the mirror daemon (`mirrorfs serve ROOT`) does with each request,
// beneath ROOT only. No networking: the TLS session decodes frames and
// calls this API; every path it passes is checked and confined here
// (mirror_root.h: openat2 beneath ROOT, no symlink followed anywhere).
//
// Errors are Status values naming the path, with the errno kept
// (errno_value()): kInvalidArgument for a refused path or name (err
// ELOOP for a symlink on the way, EXDEV for an escape), kNotFound for a
// missing parent or source (ENOENT/ENOTDIR), kAlreadyExists when a name
// holds something an operation may not replace (a directory), kCorrupt
// for a delta that does not produce the announced file, kIoError for the
// rest (ENOSPC and EDQUOT among them).
//
// Needs Linux >= 5.6 (openat2) and /proc mounted (xattrs, chmod and the
// O_TMPFILE link go through /proc/self/fd, so a final symlink is never
// followed). Runs best as root: otherwise owners are not applied, device
// nodes and trusted.* xattrs are refused, and a directory the source made
// read-only blocks later changes inside it.
//
// Thread-safety: an Applier may be called from several threads (its
// database is behind a mutex); requests that touch the same names from
// two threads take effect in no defined order. A ContentWriter is used
// by one thread at a time and must not outlive its Applier.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/fd_io.h"
#include "core/status.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::mirror {

struct ApplierOptions {
  bool set_owner = (::geteuid() == 0);  // apply uid/gid (chown) only as root
  bool use_o_tmpfile = true;  // false: always a named temporary (tests)
  // Reserve FileBegin.new_size (fallocate) before the delta is read, so a
  // full disk is reported at begin_file. false: tests of a write error.
  bool reserve_space = true;
  // A FileBegin with kFileInPlace (a dirty-range delta) is applied in
  // place, through an undo log in the state directory
  // (docs/undo-log.md), when the target is a regular file with one link
  // of at least this many bytes, the catalog knows its leaf digests, and
  // the bytes it changes (literal_bytes plus any cut off by a shrink) are
  // at most in_place_max_share of new_size. Otherwise, and for every
  // other delta, the temporary-file writer. UINT64_MAX: never in place.
  uint64_t in_place_min_size = uint64_t{64} << 20;
  double in_place_max_share = 0.25;
  // Literal bytes of an in-place update held in memory; beyond that they
  // are staged in an unnamed file in the state directory.
  size_t in_place_memory = size_t{4} << 20;
  // Tests only: called at each step of an in-place finish(); returning
  // true makes finish() stop there as if the process had died (kInternal
  // "simulated crash", nothing cleaned up, no rollback).
  enum class InPlaceStep { kLogDurable, kHalfWritten, kDataDurable,
                           kCommitted };
  std::function<bool(InPlaceStep)> crash_at;
  // The machine's boot id for progress records (mirror_catalog.h); empty:
  // /proc/sys/kernel/random/boot_id. Tests set it to simulate a reboot.
  std::string boot_id;
  // false: no progress is recorded, so every replay is applied again, as
  // after a reboot (tests of the operations' idempotency by state).
  bool remember_progress = true;
  // Descriptors a barrier may hold for what it must fsync (one per
  // directory or inode changed since the last barrier); a batch that
  // changes more is made durable by one syncfs() instead. At most half
  // the soft RLIMIT_NOFILE is used (512 under the usual 1024), so the
  // sessions and temporaries never run out of descriptors. 4096 fsyncs,
  // each about a journal commit, still cost far less than a syncfs()
  // behind other writers' gigabytes; a batch touching more directories
  // is large enough for one syncfs() to be amortized.
  size_t barrier_max_fds = 4096;
};

// What barriers did so far (serve's metrics, tests).
struct BarrierCounts {
  uint64_t fsyncs = 0;   // directories and inodes fsynced by barriers
  uint64_t syncfs = 0;   // barriers that fell back to syncfs() of ROOT's fs
  uint64_t pending = 0;  // descriptors waiting for the next barrier
  bool syncfs_due = false;  // the next barrier will be a syncfs()
};

// One content update in progress: the new file is written to an unnamed
// (O_TMPFILE) or hidden temporary in the target's directory; nothing is
// visible under the target's name before finish() succeeds. In place
// (ApplierOptions::in_place_min_size), write() only stages the literals
// and finish() writes them into the target itself after its undo log is
// durable: a reader may then see a mix of the two versions until finish()
// returns; a crash never leaves one (Applier::open rolls back).
class ContentWriter {
 public:
  // Not finished (or failed): the temporary is gone, the target untouched.
  virtual ~ContentWriter() = default;

  // The next piece of the librsync delta stream, in any piece sizes.
  // kCorrupt for a malformed delta, a COPY outside the basis (or any COPY
  // without a basis), bytes after END, or output beyond
  // FileBegin.new_size; kIoError for a write error (a full disk: the
  // temporary is removed at once). After an error every later call
  // returns it again.
  virtual Status write(std::span<const uint8_t> delta_bytes) = 0;

  // Checks the delta ended (END seen), the result has FileBegin.new_size
  // bytes and content hash end.new_hash (else kCorrupt, nothing changes),
  // copies the old target's xattrs onto it (a content update keeps
  // them; entry ops keep them current), applies end.attrs (mode; owner
  // when set_owner; atime/mtime to the ns; unset mode and owner are kept
  // from the old target), fsyncs it, renames it over the target, makes
  // each of end.links a hard link to it (replacing what is there,
  // atomically: temporary link + rename), notes the directories touched
  // for the next barrier (which fsyncs them) and records the new file in the mirror catalog. Link paths are
  // checked and their parents opened before the target is replaced; a
  // link that still fails afterwards returns its error with the target
  // already updated (a retry repairs the links). Call at most once.
  virtual Status finish(const wire::FileEnd& end) = 0;

  // True if this update writes into the target itself (serve's metrics
  // count them).
  virtual bool in_place() const { return false; }
};

struct BeginResult {  // exactly one is set
  std::unique_ptr<ContentWriter> writer;
  std::optional<wire::BasisMismatch> mismatch;
};

class Applier {
 public:
  // Opens ROOT and the state directory (created, mode 0700, if missing;
  // refused inside ROOT, where a client could overwrite it), whose
  // mirror.db (db/mirror_catalog.h) is created on first open with a
  // random mirror id. Before it returns, every undo log an interrupted
  // in-place update left in the state directory is resolved: the update
  // kept if it committed, else rolled back (docs/undo-log.md); an error
  // there fails the open.
  static Result<std::unique_ptr<Applier>> open(const std::string& root,
                                               const std::string& state_dir,
                                               const ApplierOptions& opt = {});
  virtual ~Applier() = default;

  // Random 128-bit hex, made on first open and kept in mirror.db.
  virtual const std::string& mirror_id() const = 0;

  // The highest seq barrier() recorded for `client` (its key
  // fingerprint); 0 if none.
  virtual Result<uint64_t> applied_seq(std::string_view client) = 0;

  // Applies an entry operation as the source did. Skips it (OK) if
  // op.seq <= applied_seq(client). Idempotent by state, since a
  // reconnect replays what no barrier covered: mkdir of an existing
  // directory sets its attrs; unlink/rmdir of a missing name, rename
  // whose source is missing while its target exists, link whose new
  // name is already that inode (or whose source is gone while the new
  // name exists), symlink with the same text, mknod of a same-type node:
  // all OK. A symlink or node of another text/type, and a link name
  // holding another file, are replaced atomically (never a directory:
  // kAlreadyExists). Rename flag NOREPLACE is applied as a plain rename
  // (the source already checked; the mirror converges on its state);
  // EXCHANGE swaps and so is not idempotent: a replay of one the
  // client had no barrier for swaps back. Char/block devices need root
  // (kUnsupported, err EPERM, otherwise).
  virtual Status apply(std::string_view client, const wire::EntryOp& op) = 0;

  // Starts a content update of fb.path (never skipped by seq: a replay
  // writes the same version again). Checks the target path and that its
  // directory exists (kNotFound) and that it is not a directory
  // (kAlreadyExists, err EISDIR). With fb.has_basis, checks that
  // fb.basis_path is a regular file whose content hash is fb.basis_hash:
  // cheap (a stat) when the mirror catalog has a row matching its
  // (ino, size, mtime_ns, ctime_ns), else the file is read and hashed
  // once and the row stored. A missing, non-regular or different basis
  // gives `mismatch` (no writer).
  virtual Result<BeginResult> begin_file(std::string_view client,
                                         const wire::FileBegin& fb) = 0;

  // The librsync signature (BLAKE2, RabinKarp: rdiff 2.3's default
  // format, parameters chosen for the file's size by
  // resolve_signature_params as rdiff does) of the regular file at path,
  // passed to sink in pieces of at most wire::kMaxChunk bytes, and its
  // SigEnd (content hash and size, computed in the same read).
  // exists=false, sink never called, if there is no regular file there.
  // A sink error stops it and is returned. kIoError (EAGAIN) if the file
  // changed while it was read.
  virtual Result<wire::SigEnd> signature(
      std::string_view path,
      const std::function<Status(std::span<const uint8_t>)>& sink) = 0;

  // Opens the regular file at `path` for reading (a fetch), confined
  // like every path, never following a final symlink; *st gets its
  // fstat. kNotFound if nothing is there, kInvalidArgument (err EINVAL)
  // if what is there is no regular file.
  virtual Result<core::UniqueFd> open_read(std::string_view path, struct stat* st) = 0;

  // Lists the entries beneath `path` ("." for ROOT; `path` itself is not
  // listed), passing each to `sink` as it is found, in pre-order (a
  // directory before its contents), paths relative to ROOT. Never follows
  // a symlink, never leaves ROOT; memory and open descriptors grow with
  // the depth of the tree only (one open directory per level). A regular
  // file's hash is given when the mirror catalog has a row matching it
  // (no file is read), or, with `rehash`, computed by reading the file
  // (left out if it cannot be read whole: gone, or changed while read).
  // Entries that vanish while listed are left out.
  // kInvalidArgument for a refused path (as everywhere), kNotFound if
  // `path` is missing or not a directory; a sink error stops the walk and
  // is returned.
  virtual Status list(std::string_view path, bool rehash,
                      const std::function<Status(const wire::ListEntry&)>& sink) = 0;

  // Makes everything applied so far durable and then records seq as
  // applied for client (durably, forward only: a lower seq changes
  // nothing). Durable means: every directory whose entries an entry
  // operation or content update changed since the last barrier, and
  // every inode whose attributes or xattrs changed, is fsynced (content
  // is fsynced by ContentWriter::finish already); what cannot be fsynced
  // safely (a symlink, device, FIFO or socket, an unreadable directory,
  // more than barrier_max_fds of them) makes it one syncfs() of ROOT's
  // file system instead, as does the first barrier after open. May
  // make other clients' pending changes durable too.
  virtual Status barrier(std::string_view client, uint64_t seq) = 0;

  virtual BarrierCounts barrier_counts() const = 0;

  // Forgets how far `client`'s operations were applied past its last
  // barrier: it is about to send a plan made from the tree's state (a
  // seed), whose operations must not be skipped as replays.
  virtual void forget_progress(std::string_view client) = 0;
};

}  // namespace mirrorfs::replicator::mirror

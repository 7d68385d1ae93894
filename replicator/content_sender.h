// One content update on the wire: reads a file of BACKING once and, from
// that one read, streams the delta (FileBegin, FileData..., FileEnd) and
// computes the whole-file content hash and the signature of the new
// version (the next cached signature for this mirror).
//
// A version is shipped only if it was stable while it was read: if the
// file's size, mtime or ctime moved during the read, the update is
// abandoned (FileAbort) and the caller tries again later. A mix of two
// versions never reaches a mirror.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/content_hash.h"
#include "core/fd_io.h"
#include "core/signature.h"
#include "core/stats.h"
#include "core/status.h"
#include "replicator/channel.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

struct ContentBasis {
  bool has_basis = false;  // false: literal (a new file on the mirror)
  std::string path;        // the mirror's basis path
  wire::Hash hash{};       // what the mirror must hold there
  const core::Signature* sig = nullptr;  // REQUIRES non-null if has_basis
};

struct ContentResult {
  enum class Outcome {
    kSent,        // FileEnd sent: the answer decides
    kVanished,    // no regular file at the path any more: nothing sent
    kUnstable,    // changed while read: FileAbort sent
    kNotApplicable,  // the strategy asked for does not fit: nothing sent
  };
  Outcome outcome = Outcome::kSent;
  wire::Hash hash{};
  std::vector<uint8_t> signature;  // of the new version, librsync format
  std::vector<core::ContentHash> leaves;  // its content-hash leaf digests
  uint64_t size = 0;
  core::Stats delta;  // literal and copied bytes of the delta sent
};

struct SendContentArgs {
  uint64_t request_id = 0;
  uint64_t seq = 0;            // FileBegin.seq
  std::string mirror_path;     // target on the mirror
  std::vector<std::string> links;
  int backing_dir_fd = -1;     // BACKING, open
  std::string backing_path;    // relative to BACKING
  // The file's st_ino as of the plan (its catalog row); 0 = unknown. A
  // different file found at backing_path (a rename reused the name
  // since) is kVanished: its content is not this file's.
  uint64_t backing_ino = 0;
};

Result<ContentResult> send_content(Channel& ch, const SendContentArgs& args,
                                   const ContentBasis& basis);

// Where an update's messages go: Channel::send in production, a
// collector in tests.
using MessageSink = std::function<Status(const wire::Message&)>;

// Opens the regular file at `path` (relative to BACKING) for reading,
// with O_NOATIME where allowed, never following a final symlink, and
// fstats it into *st. An empty UniqueFd (and OK) when no regular file is
// there any more.
Result<core::UniqueFd> open_backing_file(int backing_dir_fd, const std::string& path,
                                         struct stat* st);

// Whether two stats of one file describe the same version: inode, size,
// mtime and ctime all equal.
bool same_version(const struct stat& a, const struct stat& b);

// The FileBegin of an update as SendContentArgs describe it.
wire::Message file_begin(const SendContentArgs& args, uint64_t new_size);

// The FileEnd of an update whose new version has `hash`, read while the
// file had stat `st`: its attributes and args.links.
wire::Message file_end(const SendContentArgs& args, const wire::Hash& hash,
                       const struct stat& st);

// What a mirror is told to set from a BACKING entry's lstat: mode (not
// for symlinks, which have none to set), owner (applied only by a mirror
// running as root), atime and mtime to the nanosecond.
wire::Attrs attrs_of_stat(const struct stat& st);

// The signature parameters mirrorfs uses for a file of `size` bytes: what
// rdiff chooses by default (BLAKE2, RabinKarp), so the mirror's own
// signatures and the cached ones agree.
core::SignatureParams mirror_signature_params(uint64_t size);

}  // namespace mirrorfs::replicator

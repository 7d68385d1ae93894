#include "cli/help.h"

#ifndef MIRRORFS_VERSION
#define MIRRORFS_VERSION "unknown"
#endif

namespace mirrorfs::cli {

namespace {

constexpr std::string_view kTopLevel =
    R"(Usage: mirrorfs [OPTIONS] COMMAND [ARGS]
       mirrorfs help COMMAND

mirrorfs is a replicating filesystem: a mount journals every change made
through it, and the replicator ships those changes to mirrors as rsync
deltas over TLS. It also provides the rsync engine as rdiff-compatible
commands that read and write librsync 2.x signature and delta files.

Commands:
  mount      mount a directory, journaling every change made through it
  replicate  ship the journaled changes to mirrors
  serve      the mirror daemon: apply what replicators send beneath ROOT
  status     what each mirror acknowledged, what is pending, last errors
  forget     drop a mirror that is gone for good, so the journal is trimmed
  restore    bring files back from a mirror, as deltas against DEST
  verify     compare a mirror with the source by content hashes; --repair
  keygen     make this host's key for replication; print its fingerprint
  signature  write the signature of a basis file
  delta      write the delta that turns a signature's basis into a new file
  patch      apply a delta to a basis file, writing the new file

Options:
  -h, --help     show this help; 'mirrorfs COMMAND --help' for a command's
  -V, --version  show the version

Exit status:
  0  success
  1  usage error or environment problem: a bad option, a missing file,
     an I/O error, an output file that exists without -f
  2  corrupt input: a malformed signature or delta, a COPY outside the
     basis, damaged identity files (keygen)
  3  internal error
)";

constexpr std::string_view kSignature =
    R"(Usage: mirrorfs signature [OPTIONS] [BASIS [SIGNATURE]]

Writes the signature of BASIS to SIGNATURE in librsync 2.x format: the same
bytes as 'rdiff signature' with the same options. BASIS defaults to standard
input and SIGNATURE to standard output; '-' names either explicitly.

Options:
  -b, --block-size=BYTES  block length; 0 (the default) chooses as rdiff
                          does: 256 for a basis of at most 64 KiB, else
                          sqrt(size) rounded down to a multiple of 128,
                          and 2048 when the size is unknown (a pipe)
  -S, --sum-size=BYTES    strong sum length; 0 (the default) for the
                          maximum (32 for blake2, 16 for md4), -1 for the
                          minimum safe length for the basis size (12 when
                          the size is unknown)
  -H, --hash=ALG          strong hash: blake2 (default) or md4
  -R, --rollsum=ALG       rolling checksum: rabinkarp (default) or rollsum
  -s, --statistics        print statistics to standard error
  -f, --force             overwrite SIGNATURE if it exists (never BASIS)
  -v, --verbose           say what is being done, on standard error
  -h, --help              show this help

Options may come before or after the command. Put '--' before a file name
that begins with '-'. Output is written beside its name and renamed into
place at the end: a run that fails leaves no partial file, and with -f the
old file stays whole until the new one is complete.
Exit status: 0 success, 1 usage or environment, 2 corrupt input, 3 internal.
)";

constexpr std::string_view kDelta =
    R"(Usage: mirrorfs delta [OPTIONS] SIGNATURE [NEWFILE [DELTA]]

Reads SIGNATURE (any librsync 2.x signature: rabinkarp or rollsum, blake2
or md4) and writes to DELTA a librsync delta that turns the file the
signature was made from into NEWFILE. NEWFILE defaults to standard input and
DELTA to standard output; '-' names either explicitly. rdiff applies our
deltas and we apply rdiff's.

Options:
  -s, --statistics        print statistics to standard error
  -f, --force             overwrite DELTA if it exists (never an input)
  -v, --verbose           say what is being done, on standard error
  -h, --help              show this help

The signature options (-b, -S, -H, -R) are refused here: the signature file
fixes them. Options may come before or after the command. Put '--' before a
file name that begins with '-'. Output is written beside its name and
renamed into place at the end: a run that fails leaves no partial file, and
with -f the old file stays whole until the new one is complete.
Exit status: 0 success, 1 usage or environment, 2 corrupt input, 3 internal.
)";

constexpr std::string_view kPatch =
    R"(Usage: mirrorfs patch [OPTIONS] BASIS [DELTA [NEWFILE]]

Applies DELTA to BASIS and writes the result to NEWFILE. BASIS must be a
regular file or a block device: a delta may copy from anywhere in it, so
standard input and pipes are refused. DELTA defaults to standard input and
NEWFILE to standard output; '-' names either explicitly. Where BASIS and
NEWFILE share a file system with reflinks (XFS, btrfs), copied ranges
aligned to its blocks are shared with BASIS instead of written.

Options:
  -s, --statistics        print statistics to standard error
  -f, --force             overwrite NEWFILE if it exists (never BASIS or
                          DELTA themselves)
  -v, --verbose           say what is being done, on standard error
  -h, --help              show this help

The signature options (-b, -S, -H, -R) are refused here. Options may come
before or after the command. Put '--' before a file name that begins with
'-'. Output is written beside its name and renamed into place at the end:
a run that fails leaves no partial file, and with -f the old file stays
whole until the new one is complete.
Exit status: 0 success, 1 usage or environment, 2 corrupt input, 3 internal.
)";

constexpr std::string_view kMount =
    R"(Usage: mirrorfs mount BACKING MOUNTPOINT --state DIR [-f] [-o OPTIONS]
                      [--metrics HOST:PORT]

Shows the directory BACKING at MOUNTPOINT (FUSE). Applications use
MOUNTPOINT like a local directory; every change they make is recorded in
the journal of DIR/state.db for the replicator. At start, BACKING is
compared with the catalog in DIR/state.db, and what changed while the
mount was down (or behind it) is journaled too; on the first start, all of
BACKING is.

Options:
  --state DIR      the state directory (created if missing; must not be
                   inside MOUNTPOINT or BACKING)
  -f, --foreground stay in the foreground and log to standard error;
                   otherwise return once mounted and log to DIR/mount.log
  -o OPTIONS       FUSE mount options, comma-separated, e.g. allow_other
                   (for other users: needs user_allow_other in
                   /etc/fuse.conf unless root). default_permissions is
                   always on: the kernel checks access from the mode bits.
  --no-journal     for benchmarks only: record nothing (changes made
                   then are never replicated)
  --fd-cache N     inode descriptors kept open beyond those in use
                   (default 4096, at most half the open-file limit). The
                   mount reopens inodes by file handle when run as root;
                   an ordinary user's mount keeps one descriptor per inode
                   the kernel knows (see docs/fs.md)
  --commit-delay MS  entry operations and closes are journaled at most
                   MS milliseconds after they completed (default 5);
                   'mirrorfs replicate' asks the mount to commit before
                   it reads, so it never misses one
  --config FILE    take settings from FILE: state, [mount] (backing and
                   mountpoint stand for the operands; options = [...] for
                   -o); flags win (see docs/config.md)
  --metrics HOST:PORT  serve Prometheus metrics at
                   http://HOST:PORT/metrics: FUSE operation counts,
                   errors and latencies, journal depth (docs/metrics.md).
                   Use 127.0.0.1 unless the network may read them
  -h, --help       show this help

Unmount with 'fusermount3 -u MOUNTPOINT' or 'umount MOUNTPOINT', or send
SIGTERM or SIGINT: the journal is committed before the daemon exits.
Exit status: 0 unmounted cleanly, 1 usage or environment (a refused path,
mounting failed), 3 internal.
)";

constexpr std::string_view kServe =
    R"(Usage: mirrorfs serve ROOT --listen HOST:PORT --state DIR --allow FINGERPRINT
                      [--allow FINGERPRINT]... [--in-place-min SIZE]
                      [--metrics HOST:PORT]

The mirror daemon. Accepts TLS 1.3 connections from replicators whose key
fingerprint is allowed (checked during the handshake, before any request)
and applies what they send beneath ROOT only: new content goes into a
temporary file that is fsynced, checked against the sender's BLAKE2b and
renamed over its target, so no reader ever sees a torn file (large files
changed in a few places excepted: see --in-place-min). Runs in the
foreground and logs to standard error.

Options:
  --listen HOST:PORT     address to listen on ([ADDR]:PORT for IPv6; port
                         0 picks a free one, logged at start)
  --state DIR            this host's key (made on first start if missing,
                         see 'mirrorfs keygen') and the mirror's own
                         database (DIR/mirror.db)
  --allow FINGERPRINT    a replicator key allowed in ('sha256:<hex>', as
                         'mirrorfs keygen --state DIR' prints it on that
                         host); repeat for several
  --in-place-min SIZE    files at least this large (default 64M) that
                         changed in a few places are updated in place,
                         through an undo log in DIR, instead of rebuilt
                         in a temporary file (see below)
  --config FILE          take settings from FILE: state, [serve] (root
                         for ROOT, allow = [...]); flags win, and --allow
                         given here replaces the file's list
                         (see docs/config.md)
  --metrics HOST:PORT    serve Prometheus metrics at
                         http://HOST:PORT/metrics: sessions, operations
                         and contents applied, bytes received, errors
                         (docs/metrics.md)
  -h, --help             show this help

A large file updated in place (a dirty-range delta: a few changed ranges)
is crash-safe — after a crash serve rolls it back from its undo log before
serving — but a reader on the mirror may see it half updated while it is
being written. Set --in-place-min above your largest file to never do so.
Owners are applied only when serve runs as root.
SIGTERM or SIGINT: stops accepting, lets sessions end, exits 0.
Exit status: 0 stopped cleanly, 1 usage or environment (no ROOT, address in
use, unreadable key), 3 internal.
)";

constexpr std::string_view kReplicate =
    R"(Usage: mirrorfs replicate --state DIR --mirror NAME=HOST:PORT --pin NAME=FINGERPRINT
                          [--mirror ... --pin ...] [--once] [--bwlimit RATE]
                          [--metrics HOST:PORT]

Reads the journal a mount writes in DIR/state.db and ships the changes to
every mirror: entry operations in journal order, and file content as rsync
deltas against the version the mirror holds (its signature cached in
DIR/state.db, or asked from the mirror), literal for new files, over TLS
with this host's key (DIR/identity.key, see 'mirrorfs keygen'). Journal
records are deleted once every mirror acknowledged them. A mirror that is
away is retried with backoff; the journal keeps everything meanwhile.

Options:
  --state DIR               the state directory of the mount
  --mirror NAME=HOST:PORT   a mirror ('mirrorfs serve' there); NAME is how
                            status and the state know it
  --pin NAME=FINGERPRINT    the key the mirror NAME must present
                            ('mirrorfs keygen --state DIR' on the mirror)
  --once                    exit 0 as soon as every mirror acknowledged
                            everything journaled when replicate started;
                            exit 1 with the reason if one cannot get there
                            (after a few attempts)
  --bwlimit RATE            bytes per second per mirror, e.g. 500k, 10M
  --config FILE             take settings from FILE: state, [replicate] and
                            every [mirrors.NAME] (address, pin); flags win,
                            and a --mirror NAME=HOST:PORT given here
                            replaces the file's mirrors (docs/config.md)
  --metrics HOST:PORT       serve Prometheus metrics at
                            http://HOST:PORT/metrics: per mirror pending
                            rows, lag in seconds, bytes sent and saved,
                            errors, connected (docs/metrics.md)
  -h, --help                show this help

SIGTERM or SIGINT: stops after the current step; nothing is lost.
Exit status: 0 done (or stopped), 1 usage, environment, or a mirror that
could not be brought up to date with --once, 3 internal.
)";

constexpr std::string_view kStatus =
    R"(Usage: mirrorfs status --state DIR [--json]

For each mirror replicate has served from DIR/state.db: the journal seq it
acknowledged, operations and written bytes still pending, the last contact
and the last successful one, the last error, bytes sent on the wire and
bytes saved by deltas.

Options:
  --state DIR   the state directory of the mount and replicator
  --json        one JSON object: {"backing", "journal_seq", "mirrors": [{
                "name", "acked_seq", "pending_operations", "pending_bytes",
                "last_contact", "last_success", "last_error", "bytes_sent",
                "bytes_saved"}]}; times are UTC ISO 8601 or null
  --config FILE take settings from FILE: state, [status]; flags win
                (see docs/config.md)
  -h, --help    show this help

Exit status: 0 printed, 1 no state in DIR or an I/O error.
)";

constexpr std::string_view kForget =
    R"(Usage: mirrorfs forget --state DIR NAME

Forgets mirror NAME in DIR/state.db: what it acknowledged, which file
versions it holds. The journal is kept until every mirror known there has
acknowledged it, so a mirror that is gone for good (renamed in the config,
its host retired) keeps it growing until it is forgotten. Then the journal
is trimmed to what the remaining mirrors acknowledged, and cached
signatures nothing refers to any more are dropped.

Stop the replicator and take the mirror out of its configuration first: a
replicator still configured with NAME registers it again and syncs it in
full at its next start.

Options:
  --state DIR   the state directory of the mount and replicator
  --config FILE take settings from FILE: state, [forget]; flags win
                (see docs/config.md)
  -h, --help    show this help

Exit status: 0 forgotten, 1 usage, no such mirror (the known ones are
listed), no state in DIR or an I/O error.
)";

constexpr std::string_view kRestore =
    R"(Usage: mirrorfs restore --state DIR --mirror NAME=HOST:PORT --pin NAME=FINGERPRINT
                        [PATH...] --to DEST
       mirrorfs restore --state DIR --mirror NAME [PATH...] --to DEST

Brings files back from a mirror into DEST: the mirror's tree beneath each
PATH (relative to the mirror's root; default: everything) is rebuilt at
the same relative path beneath DEST (created if missing): directories,
regular files, symlinks, hard links, fifos, device nodes (as root), mode
and mtime, owners (as root). Extended attributes are not restored yet.
A file DEST already holds is updated by an rsync delta against it (only
what differs crosses the network) or left as it is when its content is
the mirror's; each file is written beside its name, checked against the
mirror's content hash, fsynced and renamed into place, so an interrupted
restore never leaves a torn file. Files in DEST the mirror does not have
are left alone; a name holding another file type is replaced.

The session is read-only: it runs while 'mirrorfs replicate' of the same
host is connected and changes nothing on the mirror. Only this host's
key (DIR/identity.key, see 'mirrorfs keygen') is needed, no journal: a
rebuilt host restores with a fresh DIR whose key the mirror allows.

Progress (files, bytes, rate, ETA) is redrawn on standard error when it
is a terminal, else written as a line every 10 s. At the end, one line on
standard output: "restored N files, X bytes, Y on the wire (Z saved by
deltas); ...".

Options:
  --state DIR               this host's state directory (its key)
  --mirror NAME=HOST:PORT   the mirror ('mirrorfs serve' there); or
  --mirror NAME             one defined in the configuration
  --pin NAME=FINGERPRINT    the key the mirror NAME must present
  --to DEST                 where to restore
  --config FILE             take settings from FILE: state, [restore] and
                            [mirrors.NAME]; flags win (see docs/config.md)
  -h, --help                show this help

SIGTERM or SIGINT: stops between files; every file in DEST is whole.
Exit status: 0 restored, 1 usage, environment, a PATH not on the mirror
or a file that could not be restored (the first is named), 3 internal.
)";

constexpr std::string_view kVerify =
    R"(Usage: mirrorfs verify --state DIR --mirror NAME=HOST:PORT --pin NAME=FINGERPRINT
                       [--repair] [PATH...]
       mirrorfs verify --state DIR --mirror NAME ... (one of several defined)

Compares the mirror with the source (the BACKING the mount recorded in
DIR/state.db) by content hashes both sides compute by reading every file
now: no catalog or cache is trusted. Only the directories PATH (relative
to the root) are compared when given. One line per difference on
standard output, KIND, two spaces, then the path:
  content  the file's bytes differ (or could not be read whole)
  missing  the mirror lacks it        extra   only the mirror has it
  type     another file type          mode    permission bits
  mtime    modification time          target  a symlink's text
  owner    uid or gid (unless every mirror entry has one owner the source
           does not share: a mirror not running as root)
  link     the names of a hard-linked file differ
  pending  differs, but the journal holds a change of it the mirror has
           not acknowledged yet (in flight: not a difference)
then 'summary  entries=N source_hashed=BYTES mirror_hashed=BYTES
differences=N pending=N'.

Options:
  --state DIR               the state directory of the mount
  --mirror NAME=HOST:PORT   the mirror; --mirror NAME selects one of
                            several defined
  --pin NAME=FINGERPRINT    the key the mirror NAME must present
  --repair                  re-sync what differs through the replicator
                            (journaled, shipped by a running replicate or
                            by one run here), then compare again and print
                            'after repair' and the new result
  --config FILE             take settings from FILE: state, [verify] and
                            [mirrors.NAME]; flags win (see docs/config.md)
  -h, --help                show this help

Exit status: 0 identical (after --repair: repaired), 1 differences
(after --repair: some remain), 2 usage error or could not compare (no
BACKING recorded, mirror unreachable), 3 internal.
)";

constexpr std::string_view kKeygen =
    R"(Usage: mirrorfs keygen --state DIR

Makes this host's identity for replication, unless it has one, and prints
its fingerprint, e.g. sha256:3f1c...e09a (64 hex digits), as the only line
on standard output. The fingerprint is what the other end is given: a
mirror's for 'mirrorfs replicate --pin', a replicator's for 'mirrorfs
serve --allow'. Running it again prints the same fingerprint.

The identity is an Ed25519 key in DIR/identity.key (mode 0600; refused if
group or others can access it, as ssh does) and a self-signed certificate
for it in DIR/identity.crt. When a new one is made, one line on standard
error says so. A key without its certificate gets a new certificate (the
fingerprint, which names the key, stays). A certificate without its key is
refused: keygen never replaces a lost key by itself, since every peer
would have to be given the new fingerprint.

Options:
  --state DIR  the state directory (created, mode 0700, if missing)
  --config FILE  take settings from FILE: state, [keygen]; flags win
               (see docs/config.md)
  -h, --help   show this help

Exit status: 0 success; 1 usage or environment (no --state, a directory
that cannot be created or written); 2 the identity files are damaged, do
not match, or the key is readable by others; 3 internal.
)";

constexpr std::string_view kVersion =
    "mirrorfs " MIRRORFS_VERSION
    "\nsignature and delta formats: librsync 2.x (rdiff 2.3 compatible)\n";

}  // namespace

std::string_view top_level_help() { return kTopLevel; }

std::string_view command_help(std::string_view command) {
  if (command == "mount") return kMount;
  if (command == "serve") return kServe;
  if (command == "replicate") return kReplicate;
  if (command == "status") return kStatus;
  if (command == "forget") return kForget;
  if (command == "restore") return kRestore;
  if (command == "verify") return kVerify;
  if (command == "keygen") return kKeygen;
  if (command == "signature") return kSignature;
  if (command == "delta") return kDelta;
  if (command == "patch") return kPatch;
  return {};
}

std::string_view version_text() { return kVersion; }

}  // namespace mirrorfs::cli

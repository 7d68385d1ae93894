// The messages of the mirrorfs wire protocol, as C++ values. The byte
// layout of each (and the frame around it) is in docs/protocol.md; the
// codec (wire/codec.h) is the only code that turns bytes into these and
// back, and it checks every length against the limits below.
//
// A connection is a TLS 1.3 stream of frames. The replicator (client)
// sends Hello, then requests; the mirror (server) answers each request
// with exactly one final response carrying the same request id (Ok,
// Error, BasisMismatch, SigEnd, ListEnd, FetchEnd or Ack), possibly
// preceded by SigData, ListData or FetchData frames. Requests are pipelined: the client does not wait for a response
// before sending the next request, and the server applies them in the
// order received.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace mirrorfs::replicator::wire {

inline constexpr uint32_t kProtocolVersion = 1;

// Frame header: le32 body length, u8 type, u8 flags, le16 reserved (0),
// le64 request id. 16 bytes.
inline constexpr size_t kFrameHeaderLen = 16;
// Hard limits. A frame or field over them is a protocol error that ends
// the connection; nothing is allocated before the check.
inline constexpr uint32_t kMaxFrameBody = (1u << 20) + 64 * 1024;
inline constexpr size_t kMaxChunk = 1u << 20;  // FileData/SigData bytes,
                                               // after decompression too
inline constexpr size_t kMaxPath = 4096;       // bytes, relative path
inline constexpr size_t kMaxXattrName = 255;
inline constexpr size_t kMaxXattrValue = 64 * 1024;
inline constexpr size_t kMaxLinks = 1024;  // FileEnd::links entries
inline constexpr size_t kMaxText = 4096;   // names, error messages
inline constexpr size_t kMaxListEntries = 1024;  // ListData::entries
// The most signature bytes (all FetchSig chunks of one fetch) a mirror
// takes: a 1 TiB file's rdiff signature is about 37 MiB.
inline constexpr uint64_t kMaxFetchSignature = uint64_t{64} << 20;

// Hello/HelloOk capabilities. kCapReadOnly in Hello: this session only
// reads (restore, verify): it takes no per-client session lock, never
// resets the client's progress, and every journal or content operation
// in it is refused with Error. A mirror that honours it echoes it in
// HelloOk.
inline constexpr uint64_t kCapReadOnly = 1;

// Frame flags.
inline constexpr uint8_t kFlagZstd = 1;  // body of FileData/SigData/
                                         // FetchSig/FetchData is zstd

// Setattr and Setxattr flags: a state fix — values the replicator read
// from the source just now, not a journal record. Applied whatever its seq
// (it is idempotent by state), so a batch that is sent again still puts
// every attribute right after the content it re-sent.
inline constexpr uint32_t kOpStateFix = 4;

// ListRequest flags: hash every listed regular file by reading it, never
// from the mirror's catalog (`mirrorfs verify`: trust no cache).
inline constexpr uint32_t kListRehash = 1;

// FileBegin flags.
inline constexpr uint32_t kFileInPlace = 1;

enum class Type : uint8_t {
  kHello = 1,
  kHelloOk = 2,
  // Entry operations (client -> server), each answered by Ok or Error.
  kMkdir = 10,
  kMknod = 11,
  kSymlink = 12,
  kLink = 13,
  kUnlink = 14,
  kRmdir = 15,
  kRename = 16,
  kSetattr = 17,
  kSetxattr = 18,
  kRemovexattr = 19,
  // Content (client -> server): FileBegin, FileData*, FileEnd under one
  // request id, answered by Ok, BasisMismatch or Error.
  kFileBegin = 30,
  kFileData = 31,
  kFileEnd = 32,
  kFileAbort = 33,  // the sender gives the update up (the file changed
                    // while read): the mirror drops it, answers Ok
  // Signature of what the mirror holds: answered by SigData* then SigEnd
  // (or Error).
  kSigRequest = 40,
  kSigData = 41,
  kSigEnd = 42,
  // Barrier: answered by Ack once everything before it is applied and
  // durable on the mirror.
  kBarrier = 50,
  kAck = 51,
  // Listing of a subtree the mirror holds: answered by ListData* then
  // ListEnd (or Error).
  kListRequest = 70,
  kListData = 71,
  kListEnd = 72,
  // Fetch of a regular file the mirror holds (restore): FetchBegin, then,
  // with a basis, FetchSig* and FetchSigEnd (client -> server) under one
  // request id; answered by FetchData* (a librsync delta against that
  // signature) then FetchEnd, or Error.
  kFetchBegin = 80,
  kFetchSig = 81,
  kFetchSigEnd = 82,
  kFetchData = 83,
  kFetchEnd = 84,
  // Final responses (server -> client).
  kOk = 60,
  kError = 61,
  kBasisMismatch = 62,
};

using Hash = std::array<uint8_t, 32>;  // core/content_hash.h

// Attributes to set. Bits of `valid` say which fields carry meaning
// (values as db/attr_payload.h: 1 mode, 2 uid, 4 gid, 16 atime, 32 mtime,
// 64 rdev; 8, size, is never sent: size is content).
struct Attrs {
  uint32_t valid = 0;
  uint32_t mode = 0;  // st_mode, type bits included
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  uint64_t rdev = 0;
  bool operator==(const Attrs&) const = default;
};

struct Hello {  // client -> server, first frame, request id 0
  uint32_t version = kProtocolVersion;
  uint64_t capabilities = 0;  // none defined in version 1
  std::string client_name;    // free text for logs (host name)
  // The id of the journal whose seqs this client sends (32 hex digits): a
  // mirror keeps applied_seq per (client key, journal id), so a client
  // whose state was rebuilt (a new journal counting from 1 again) is
  // never mistaken for one that already sent those seqs.
  std::string journal_id;
  bool operator==(const Hello&) const = default;
};

struct HelloOk {  // server -> client, request id 0
  uint32_t version = kProtocolVersion;
  uint64_t capabilities = 0;
  std::string mirror_id;     // stable id of this mirror root (hex)
  uint64_t applied_seq = 0;  // highest journal seq of this client applied
                             // and durable here (0: none)
  bool operator==(const HelloOk&) const = default;
};

// An entry operation. Which fields are on the wire depends on the type:
//   Mkdir      seq path attrs
//   Mknod      seq path attrs (mode holds the type; rdev)
//   Symlink    seq path path2 (the link's text) attrs
//   Link       seq path (existing) path2 (new name)
//   Unlink     seq path
//   Rmdir      seq path
//   Rename     seq path path2 flags (1 NOREPLACE, 2 EXCHANGE)
//   Setattr    seq path attrs flags (kOpStateFix)
//   Setxattr   seq path path2 (attribute name) value flags (kOpStateFix)
//   Removexattr seq path path2 (attribute name)
// Other fields stay at their defaults and are not encoded.
struct EntryOp {
  Type type = Type::kMkdir;
  uint64_t seq = 0;  // journal seq of the change; strictly increasing
                     // over the entry operations of a connection
  std::string path;
  std::string path2;
  uint32_t flags = 0;
  Attrs attrs;
  std::vector<uint8_t> value;
  bool operator==(const EntryOp&) const = default;
};

// Starts a content update of `path`: the new content is the result of
// applying the delta that follows (FileData) to the basis. The basis is
// `basis_path` (usually `path` itself; another path for copies and
// save-by-rename), which the mirror must hold with content hash
// `basis_hash`, else it answers BasisMismatch. `has_basis` false: no
// basis, the delta holds literals only (a new file).
struct FileBegin {
  uint64_t seq = 0;  // journal seq this content is at least as new as
  std::string path;
  bool has_basis = false;
  std::string basis_path;
  Hash basis_hash{};
  uint64_t new_size = 0;
  // kFileInPlace: the delta is a dirty-range delta — every COPY copies
  // basis bytes to the same offset of the new content — so a mirror may
  // apply it in place (through its undo log) instead of rebuilding the
  // file. Requires has_basis and basis_path == path. `literal_bytes` is
  // the number of LITERAL bytes the delta holds (a hint for choosing).
  uint32_t flags = 0;
  uint64_t literal_bytes = 0;
  bool operator==(const FileBegin&) const = default;
};

struct FileData {  // a piece of the librsync delta stream, in order
  std::vector<uint8_t> bytes;  // decompressed, at most kMaxChunk
  bool operator==(const FileData&) const = default;
};

// Ends a content update: the mirror checks the result has `new_hash`,
// applies `attrs`, renames it over `path` and makes each of `links`
// (other names of the same file) a hard link to it.
struct FileEnd {
  Hash new_hash{};
  Attrs attrs;
  std::vector<std::string> links;
  bool operator==(const FileEnd&) const = default;
};

struct FileAbort {  // ends a content update without a result
  bool operator==(const FileAbort&) const = default;
};

struct SigRequest {  // the signature of the mirror's file at path
  std::string path;
  bool operator==(const SigRequest&) const = default;
};

struct SigData {  // a piece of the signature file (librsync format)
  std::vector<uint8_t> bytes;
  bool operator==(const SigData&) const = default;
};

struct SigEnd {
  bool exists = false;  // false: no regular file at path (no SigData sent)
  Hash hash{};          // content hash of the file signed
  uint64_t size = 0;
  bool operator==(const SigEnd&) const = default;
};

// The entries beneath `path` ("." for the whole root; `path` itself is
// not listed), streamed in pre-order (a directory before what it holds),
// never following a symlink. For `mirrorfs verify`, `restore` and the
// seeding of a mirror that already holds data.
struct ListRequest {
  std::string path;
  uint32_t flags = 0;  // kListRehash; other bits are a protocol violation
  bool operator==(const ListRequest&) const = default;
};

struct ListEntry {
  std::string path;  // relative to the mirror's root, as every wire path
  uint32_t mode = 0;  // st_mode, type bits included
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t ino = 0;   // with nlink: which names are one file (hard links)
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string target;  // a symlink's text; empty for every other type
  bool has_hash = false;  // regular files whose content hash the mirror
  Hash hash{};            // catalog knows without reading them
  bool operator==(const ListEntry&) const = default;
};

struct ListData {  // 1 to kMaxListEntries entries, in listing order
  std::vector<ListEntry> entries;
  bool operator==(const ListData&) const = default;
};

struct ListEnd {
  uint64_t count = 0;  // entries sent in this listing's ListData frames
  bool operator==(const ListEnd&) const = default;
};

// Asks for the content of the regular file at `path`. has_basis: the
// client holds an older version and sends its signature (FetchSig*,
// FetchSigEnd) under the same request id; the mirror answers with a delta
// against it. has_basis false: nothing follows, the delta is all literal.
struct FetchBegin {
  std::string path;
  bool has_basis = false;
  bool operator==(const FetchBegin&) const = default;
};

struct FetchSig {  // a piece of the client's signature (librsync format)
  std::vector<uint8_t> bytes;
  bool operator==(const FetchSig&) const = default;
};

struct FetchSigEnd {  // the signature is complete
  bool operator==(const FetchSigEnd&) const = default;
};

struct FetchData {  // a piece of the delta, in order
  std::vector<uint8_t> bytes;
  bool operator==(const FetchData&) const = default;
};

// Ends a fetch: the content hash and size of the version the delta
// gives (read once, stable while read), and its attributes (mode, uid,
// gid, mtime; valid says which).
struct FetchEnd {
  Hash hash{};
  uint64_t size = 0;
  Attrs attrs;
  bool operator==(const FetchEnd&) const = default;
};

struct Barrier {
  uint64_t seq = 0;  // every change up to seq has been sent
  bool operator==(const Barrier&) const = default;
};

struct Ack {
  uint64_t seq = 0;  // every change up to seq is applied and durable
  bool operator==(const Ack&) const = default;
};

struct Ok {
  bool operator==(const Ok&) const = default;
};

struct Error {
  uint32_t code = 0;   // mirrorfs::Code
  int32_t err = 0;     // errno on the mirror, 0 if none
  std::string message;  // one line
  bool operator==(const Error&) const = default;
};

struct BasisMismatch {
  bool exists = false;  // the mirror holds a regular file at basis_path
  Hash actual_hash{};
  bool operator==(const BasisMismatch&) const = default;
};

using Body = std::variant<Hello, HelloOk, EntryOp, FileBegin, FileData, FileEnd,
                          FileAbort, SigRequest, SigData, SigEnd, Barrier, Ack, Ok, Error,
                          BasisMismatch, ListRequest, ListData, ListEnd, FetchBegin,
                          FetchSig, FetchSigEnd, FetchData, FetchEnd>;

struct Message {
  uint64_t request_id = 0;
  Body body;
  bool operator==(const Message&) const = default;
};

}  // namespace mirrorfs::replicator::wire

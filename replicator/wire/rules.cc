#include "replicator/wire/rules.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <variant>

#include "replicator/wire/codec.h"
#include "replicator/wire/layout.h"

namespace mirrorfs::replicator::wire {
namespace {

// The bits of Attrs::valid that may be sent: mode, uid, gid, atime,
// mtime, rdev (db/attr_payload.h); size (8) is content, never an attribute.
constexpr uint32_t kValidAttrBits = 1 | 2 | 4 | 16 | 32 | 64;
// Rename flags: RENAME_NOREPLACE, RENAME_EXCHANGE, at most one of them
// (renameat2 refuses both at once).
constexpr uint32_t kRenameNoreplace = 1;
constexpr uint32_t kRenameExchange = 2;

bool is_zero(const Hash& h) {
  return std::all_of(h.begin(), h.end(), [](uint8_t b) { return b == 0; });
}

// Why `s` is no valid name of at most `max` bytes, or null.
const char* bad_name(std::string_view s, size_t max) {
  if (s.empty()) return "is empty";
  if (s.size() > max) return "is longer than its limit";
  if (s.find('\0') != std::string_view::npos) return "holds a NUL byte";
  return nullptr;
}

// The first broken rule as "<field> <why>", or "" if none.
std::string field_error(const char* field, const char* why) {
  return why ? std::string(field) + " " + why : std::string();
}

std::string check_attrs(const Attrs& a) {
  return (a.valid & ~kValidAttrBits) ? "attrs.valid has an unknown bit" : "";
}

std::string check_entry(const EntryOp& op) {
  if (!is_entry_type(op.type)) return "type is not an entry operation";
  if (op.seq == 0) return "seq is 0 (journal sequence numbers start at 1)";
  std::string e = field_error("path", bad_name(op.path, kMaxPath));
  if (!e.empty()) return e;
  const EntryFields f = entry_fields(op.type);
  switch (f.path2) {
    case Path2::kNone:
      if (!op.path2.empty()) return "path2 is set but not used";
      break;
    case Path2::kPath:
      e = field_error("path2", bad_name(op.path2, kMaxPath));
      break;
    case Path2::kXattrName:
      e = field_error("attribute name", bad_name(op.path2, kMaxXattrName));
      break;
  }
  if (!e.empty()) return e;
  if (f.flags && op.type != Type::kRename) {
    if (op.flags & ~kOpStateFix) return "flags has an unknown bit";
  } else if (f.flags) {
    if (op.flags & ~(kRenameNoreplace | kRenameExchange))
      return "flags has an unknown bit";
    if (op.flags == (kRenameNoreplace | kRenameExchange))
      return "flags has both NOREPLACE and EXCHANGE";
  } else if (op.flags != 0) {
    return "flags is set but not used";
  }
  if (f.attrs) {
    e = check_attrs(op.attrs);
    if (!e.empty()) return e;
  } else if (op.attrs != Attrs{}) {
    return "attrs is set but not used";
  }
  if (!f.value && !op.value.empty()) return "value is set but not used";
  if (op.value.size() > kMaxXattrValue) return "value is longer than its limit";
  return "";
}

std::string check_list_entry(const ListEntry& e) {
  std::string err = field_error("an entry's path", bad_name(e.path, kMaxPath));
  if (!err.empty()) return err;
  switch (e.mode & S_IFMT) {
    case S_IFLNK:
      err = field_error("a symlink's target", bad_name(e.target, kMaxPath));
      if (!err.empty()) return err;
      break;
    case S_IFREG: case S_IFDIR: case S_IFCHR: case S_IFBLK: case S_IFIFO:
    case S_IFSOCK:
      if (!e.target.empty()) return "a target is given for an entry that is no symlink";
      break;
    default:
      return "an entry's mode has no file type";
  }
  if (e.has_hash && (e.mode & S_IFMT) != S_IFREG) return "a hash is given for an entry that is no regular file";
  if (!e.has_hash && !is_zero(e.hash)) return "a hash is given but has_hash is 0";
  return "";
}

std::string check_body(const Body& body) {
  struct Checker {
    std::string operator()(const Hello& h) const {
      if (h.version != kProtocolVersion) return "version is not 1";
      if (h.client_name.size() > kMaxText)
        return "client_name is longer than its limit";
      if (h.journal_id.size() > kMaxText)
        return "journal_id is longer than its limit";
      return "";
    }
    std::string operator()(const HelloOk& h) const {
      if (h.version != kProtocolVersion) return "version is not 1";
      return field_error("mirror_id", bad_name(h.mirror_id, kMaxText));
    }
    std::string operator()(const EntryOp& op) const { return check_entry(op); }
    std::string operator()(const FileBegin& b) const {
      std::string e = field_error("path", bad_name(b.path, kMaxPath));
      if (!e.empty()) return e;
      if ((b.flags & ~kFileInPlace) != 0) return "unknown FileBegin flags";
      if ((b.flags & kFileInPlace) && (!b.has_basis || b.basis_path != b.path))
        return "an in-place update needs the file itself as its basis";
      if (b.literal_bytes > b.new_size) return "more literal bytes than the new size";
      if (b.has_basis)
        return field_error("basis_path", bad_name(b.basis_path, kMaxPath));
      if (!b.basis_path.empty() || !is_zero(b.basis_hash))
        return "a basis is given but has_basis is 0";
      return "";
    }
    std::string operator()(const FileData& d) const {
      return d.bytes.size() > kMaxChunk ? "more bytes than kMaxChunk" : "";
    }
    std::string operator()(const FileEnd& e) const {
      std::string err = check_attrs(e.attrs);
      if (!err.empty()) return err;
      if (e.links.size() > kMaxLinks) return "more links than kMaxLinks";
      for (const std::string& l : e.links) {
        err = field_error("a link", bad_name(l, kMaxPath));
        if (!err.empty()) return err;
      }
      return "";
    }
    std::string operator()(const SigRequest& s) const {
      return field_error("path", bad_name(s.path, kMaxPath));
    }
    std::string operator()(const SigData& d) const {
      return d.bytes.size() > kMaxChunk ? "more bytes than kMaxChunk" : "";
    }
    std::string operator()(const SigEnd& e) const {
      if (!e.exists && (!is_zero(e.hash) || e.size != 0))
        return "a hash or size is given but exists is 0";
      return "";
    }
    std::string operator()(const Barrier&) const { return ""; }
    std::string operator()(const Ack&) const { return ""; }
    std::string operator()(const Ok&) const { return ""; }
    std::string operator()(const FileAbort&) const { return ""; }
    std::string operator()(const Error& e) const {
      if (e.code == 0 || e.code > static_cast<uint32_t>(Code::kInternal))
        return "code is not an error code";
      if (e.err < 0) return "err is negative";
      if (e.message.size() > kMaxText)
        return "message is longer than its limit";
      return "";
    }
    std::string operator()(const ListRequest& l) const {
      if ((l.flags & ~kListRehash) != 0) return "unknown flags";
      return field_error("path", bad_name(l.path, kMaxPath));
    }
    std::string operator()(const ListData& d) const {
      if (d.entries.empty()) return "no entries";
      if (d.entries.size() > kMaxListEntries) return "more entries than kMaxListEntries";
      for (const ListEntry& e : d.entries) {
        std::string err = check_list_entry(e);
        if (!err.empty()) return err;
      }
      return "";
    }
    std::string operator()(const ListEnd&) const { return ""; }
    std::string operator()(const FetchBegin& b) const {
      return field_error("path", bad_name(b.path, kMaxPath));
    }
    std::string operator()(const FetchSig& d) const {
      return d.bytes.size() > kMaxChunk ? "more bytes than kMaxChunk" : "";
    }
    std::string operator()(const FetchSigEnd&) const { return ""; }
    std::string operator()(const FetchData& d) const {
      return d.bytes.size() > kMaxChunk ? "more bytes than kMaxChunk" : "";
    }
    std::string operator()(const FetchEnd& e) const { return check_attrs(e.attrs); }
    std::string operator()(const BasisMismatch& b) const {
      if (!b.exists && !is_zero(b.actual_hash))
        return "a hash is given but exists is 0";
      return "";
    }
  };
  return std::visit(Checker{}, body);
}

}  // namespace

Status check_message(const Message& m, Code code) {
  const Type type = type_of(m);
  std::string why;
  // Request id 0 belongs to the connection: the handshake, and an Error
  // that ends the connection. Every request has an id of its own.
  const bool handshake = type == Type::kHello || type == Type::kHelloOk;
  if (handshake && m.request_id != 0) {
    why = "request id is not 0";
  } else if (!handshake && type != Type::kError && m.request_id == 0) {
    why = "request id is 0";
  } else {
    why = check_body(m.body);
  }
  if (why.empty()) return Status::ok();
  return Status(code, std::string(type_name(type)) + ": " + why);
}

}  // namespace mirrorfs::replicator::wire

#include "replicator/wire/layout.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <variant>

#include "replicator/wire/codec.h"

namespace mirrorfs::replicator::wire {
namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

// The smallest encoded link name (its le32 length): bounds the reserve()
// of FileEnd::links by the bytes actually present.
constexpr size_t kMinLinkLen = 4;

size_t path2_max(Path2 p) {
  return p == Path2::kXattrName ? kMaxXattrName : kMaxPath;
}

EntryOp read_entry(Type type, FieldReader& r) {
  EntryOp op;
  op.type = type;
  op.seq = r.u64();
  op.path = r.str(kMaxPath);
  const EntryFields f = entry_fields(type);
  if (f.path2 != Path2::kNone) op.path2 = r.str(path2_max(f.path2));
  if (f.flags) op.flags = r.u32();
  if (f.attrs) op.attrs = r.attrs();
  if (f.value) op.value = r.bytes(kMaxXattrValue);
  return op;
}

FileEnd read_file_end(FieldReader& r) {
  FileEnd e;
  e.new_hash = r.hash();
  e.attrs = r.attrs();
  const uint32_t n = r.u32();
  if (n > kMaxLinks) {
    r.fail("more links than kMaxLinks");
    return e;
  }
  e.links.reserve(std::min<size_t>(n, r.remaining() / kMinLinkLen));
  for (uint32_t i = 0; i < n && r.ok() && r.remaining() > 0; ++i)
    e.links.push_back(r.str(kMaxPath));
  if (e.links.size() < n) r.fail("truncated");
  return e;
}

// The smallest encoded ListEntry: empty path and target (their le32
// lengths), the fixed fields, has_hash and the hash. Bounds the reserve()
// of ListData::entries by the bytes actually present.
constexpr size_t kMinListEntryLen = 4 + 4 * 4 + 3 * 8 + 4 + 1 + 32;

ListData read_list_data(FieldReader& r) {
  ListData d;
  const uint32_t n = r.u32();
  if (n > kMaxListEntries) {
    r.fail("more entries than kMaxListEntries");
    return d;
  }
  d.entries.reserve(std::min<size_t>(n, r.remaining() / kMinListEntryLen));
  for (uint32_t i = 0; i < n && r.ok() && r.remaining() > 0; ++i) {
    ListEntry e;
    e.path = r.str(kMaxPath);
    e.mode = r.u32();
    e.uid = r.u32();
    e.gid = r.u32();
    e.nlink = r.u32();
    e.ino = r.u64();
    e.size = r.u64();
    e.mtime_ns = static_cast<int64_t>(r.u64());
    e.target = r.str(kMaxPath);
    e.has_hash = r.boolean();
    e.hash = r.hash();
    d.entries.push_back(std::move(e));
  }
  if (d.entries.size() < n) r.fail("truncated");
  return d;
}

Result<Body> read_body(Type type, FieldReader& r) {
  switch (type) {
    case Type::kHello:
    case Type::kHelloOk: {
      // The version comes first in every version of the protocol, so a
      // peer speaking another one is told so rather than "corrupt".
      const uint32_t version = r.u32();
      if (r.ok() && version != kProtocolVersion) {
        return Status::unsupported(
            std::string(type_name(type)) + ": protocol version " +
            std::to_string(version) + ", this build speaks " +
            std::to_string(kProtocolVersion));
      }
      if (type == Type::kHello) {
        Hello h;
        h.version = version;
        h.capabilities = r.u64();
        h.client_name = r.str(kMaxText);
        h.journal_id = r.str(kMaxText);
        return Body(std::move(h));
      }
      HelloOk h;
      h.version = version;
      h.capabilities = r.u64();
      h.mirror_id = r.str(kMaxText);
      h.applied_seq = r.u64();
      return Body(std::move(h));
    }
    case Type::kFileBegin: {
      FileBegin b;
      b.seq = r.u64();
      b.path = r.str(kMaxPath);
      b.has_basis = r.boolean();
      b.basis_path = r.str(kMaxPath);
      b.basis_hash = r.hash();
      b.new_size = r.u64();
      b.flags = r.u32();
      b.literal_bytes = r.u64();
      return Body(std::move(b));
    }
    case Type::kFileEnd:
      return Body(read_file_end(r));
    case Type::kFileAbort:
      return Body(FileAbort{});
    case Type::kSigRequest:
      return Body(SigRequest{r.str(kMaxPath)});
    case Type::kSigEnd: {
      SigEnd e;
      e.exists = r.boolean();
      e.hash = r.hash();
      e.size = r.u64();
      return Body(e);
    }
    case Type::kBarrier:
      return Body(Barrier{r.u64()});
    case Type::kAck:
      return Body(Ack{r.u64()});
    case Type::kOk:
      return Body(Ok{});
    case Type::kError: {
      Error e;
      e.code = r.u32();
      e.err = static_cast<int32_t>(r.u32());
      e.message = r.str(kMaxText);
      return Body(std::move(e));
    }
    case Type::kBasisMismatch: {
      BasisMismatch b;
      b.exists = r.boolean();
      b.actual_hash = r.hash();
      return Body(b);
    }
    case Type::kListRequest: {
      ListRequest l;
      l.path = r.str(kMaxPath);
      l.flags = r.u32();
      return Body(std::move(l));
    }
    case Type::kListData:
      return Body(read_list_data(r));
    case Type::kListEnd:
      return Body(ListEnd{r.u64()});
    case Type::kFetchBegin: {
      FetchBegin b;
      b.path = r.str(kMaxPath);
      b.has_basis = r.boolean();
      return Body(std::move(b));
    }
    case Type::kFetchSigEnd:
      return Body(FetchSigEnd{});
    case Type::kFetchEnd: {
      FetchEnd e;
      e.hash = r.hash();
      e.size = r.u64();
      e.attrs = r.attrs();
      return Body(e);
    }
    default:
      if (is_entry_type(type)) return Body(read_entry(type, r));
      return Status::internal(std::string("no layout for frame type ") +
                              type_name(type));
  }
}

}  // namespace

bool is_entry_type(Type t) {
  return t >= Type::kMkdir && t <= Type::kRemovexattr;
}

EntryFields entry_fields(Type t) {
  assert(is_entry_type(t));
  switch (t) {
    case Type::kMkdir:
    case Type::kMknod:
      return {.attrs = true};
    case Type::kSetattr:
      return {.flags = true, .attrs = true};
    case Type::kSymlink:
      return {.path2 = Path2::kPath, .attrs = true};
    case Type::kLink:
      return {.path2 = Path2::kPath};
    case Type::kRename:
      return {.path2 = Path2::kPath, .flags = true};
    case Type::kSetxattr:
      return {.path2 = Path2::kXattrName, .flags = true, .value = true};
    case Type::kRemovexattr:
      return {.path2 = Path2::kXattrName};
    default:  // Unlink, Rmdir
      return {};
  }
}

void encode_fields(Type type, const Body& body, FieldWriter& w) {
  std::visit(
      Overload{
          [&](const Hello& h) {
            w.u32(h.version);
            w.u64(h.capabilities);
            w.str(h.client_name);
            w.str(h.journal_id);
          },
          [&](const HelloOk& h) {
            w.u32(h.version);
            w.u64(h.capabilities);
            w.str(h.mirror_id);
            w.u64(h.applied_seq);
          },
          [&](const EntryOp& op) {
            w.u64(op.seq);
            w.str(op.path);
            const EntryFields f = entry_fields(type);
            if (f.path2 != Path2::kNone) w.str(op.path2);
            if (f.flags) w.u32(op.flags);
            if (f.attrs) w.attrs(op.attrs);
            if (f.value) w.bytes(op.value);
          },
          [&](const FileBegin& b) {
            w.u64(b.seq);
            w.str(b.path);
            w.boolean(b.has_basis);
            w.str(b.basis_path);
            w.hash(b.basis_hash);
            w.u64(b.new_size);
            w.u32(b.flags);
            w.u64(b.literal_bytes);
          },
          [&](const FileEnd& e) {
            w.hash(e.new_hash);
            w.attrs(e.attrs);
            w.u32(static_cast<uint32_t>(e.links.size()));
            for (const std::string& l : e.links) w.str(l);
          },
          [&](const SigRequest& s) { w.str(s.path); },
          [&](const SigEnd& e) {
            w.boolean(e.exists);
            w.hash(e.hash);
            w.u64(e.size);
          },
          [&](const Barrier& b) { w.u64(b.seq); },
          [&](const Ack& a) { w.u64(a.seq); },
          [&](const Ok&) {},
          [&](const FileAbort&) {},
          [&](const Error& e) {
            w.u32(e.code);
            w.u32(static_cast<uint32_t>(e.err));
            w.str(e.message);
          },
          [&](const BasisMismatch& b) {
            w.boolean(b.exists);
            w.hash(b.actual_hash);
          },
          [&](const ListRequest& l) {
            w.str(l.path);
            w.u32(l.flags);
          },
          [&](const ListData& d) {
            w.u32(static_cast<uint32_t>(d.entries.size()));
            for (const ListEntry& e : d.entries) {
              w.str(e.path);
              for (uint32_t v : {e.mode, e.uid, e.gid, e.nlink}) w.u32(v);
              w.u64(e.ino);
              w.u64(e.size);
              w.u64(static_cast<uint64_t>(e.mtime_ns));
              w.str(e.target);
              w.boolean(e.has_hash);
              w.hash(e.hash);
            }
          },
          [&](const ListEnd& e) { w.u64(e.count); },
          [&](const FetchBegin& b) {
            w.str(b.path);
            w.boolean(b.has_basis);
          },
          [&](const FetchSigEnd&) {},
          [&](const FetchEnd& e) {
            w.hash(e.hash);
            w.u64(e.size);
            w.attrs(e.attrs);
          },
          [&](const FetchSig&) { assert(false && "FetchSig has no fields"); },
          [&](const FetchData&) { assert(false && "FetchData has no fields"); },
          [&](const FileData&) { assert(false && "FileData has no fields"); },
          [&](const SigData&) { assert(false && "SigData has no fields"); },
      },
      body);
}

Result<Body> decode_fields(Type type, std::span<const uint8_t> body) {
  FieldReader r(body);
  Result<Body> b = read_body(type, r);
  if (!b.is_ok()) return b;
  MIRRORFS_RETURN_IF_ERROR(r.finish(type_name(type)));
  return b;
}

}  // namespace mirrorfs::replicator::wire

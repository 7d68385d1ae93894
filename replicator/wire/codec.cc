#include "replicator/wire/codec.h"

#include <string>
#include <variant>

#include "core/coding.h"
#include "replicator/wire/field_io.h"
#include "replicator/wire/layout.h"
#include "replicator/wire/rules.h"
#include "replicator/wire/zstd_chunk.h"

namespace mirrorfs::replicator::wire {
namespace {

// Header layout (docs/protocol.md, "Frame"):
//   0 le32 body_len   4 u8 type   5 u8 flags   6 le16 reserved   8 le64 id
constexpr size_t kTypeAt = 4;
constexpr size_t kFlagsAt = 5;
constexpr size_t kReservedAt = 6;
constexpr size_t kRequestIdAt = 8;

bool is_chunk_type(Type t) {
  return t == Type::kFileData || t == Type::kSigData || t == Type::kFetchSig ||
         t == Type::kFetchData;
}

const std::vector<uint8_t>* chunk_bytes(const Body& b) {
  if (const auto* d = std::get_if<FileData>(&b)) return &d->bytes;
  if (const auto* d = std::get_if<SigData>(&b)) return &d->bytes;
  if (const auto* d = std::get_if<FetchSig>(&b)) return &d->bytes;
  if (const auto* d = std::get_if<FetchData>(&b)) return &d->bytes;
  return nullptr;
}

constexpr const char* kUnknownType = "Unknown";

Status corrupt_header(const std::string& why) {
  return Status::corrupt("frame header: " + why);
}

// Builds a FileData, SigData, FetchSig or FetchData from the
// (decompressed) chunk.
Body chunk_body(Type type, std::vector<uint8_t> bytes) {
  switch (type) {
    case Type::kFileData:
      return FileData{std::move(bytes)};
    case Type::kFetchSig:
      return FetchSig{std::move(bytes)};
    case Type::kFetchData:
      return FetchData{std::move(bytes)};
    default:
      return SigData{std::move(bytes)};
  }
}

// Appends the body of `m` (type `type`) to `out`; sets *flags.
Status encode_body(const Message& m, Type type, std::vector<uint8_t>& out,
                   const EncodeOptions& opt, uint8_t* flags) {
  *flags = 0;
  const std::vector<uint8_t>* chunk = chunk_bytes(m.body);
  if (!chunk) {
    FieldWriter w(out);
    encode_fields(type, m.body, w);
    return Status::ok();
  }
  if (opt.compress) {
    MIRRORFS_ASSIGN_OR_RETURN(smaller,
                              compress_if_smaller(*chunk, opt.zstd_level, out));
    if (smaller) {
      *flags = kFlagZstd;
      return Status::ok();
    }
  }
  out.insert(out.end(), chunk->begin(), chunk->end());
  return Status::ok();
}

}  // namespace

Type type_of(const Message& m) {
  struct Of {
    Type operator()(const Hello&) const { return Type::kHello; }
    Type operator()(const HelloOk&) const { return Type::kHelloOk; }
    Type operator()(const EntryOp& op) const { return op.type; }
    Type operator()(const FileBegin&) const { return Type::kFileBegin; }
    Type operator()(const FileData&) const { return Type::kFileData; }
    Type operator()(const FileEnd&) const { return Type::kFileEnd; }
    Type operator()(const FileAbort&) const { return Type::kFileAbort; }
    Type operator()(const SigRequest&) const { return Type::kSigRequest; }
    Type operator()(const SigData&) const { return Type::kSigData; }
    Type operator()(const SigEnd&) const { return Type::kSigEnd; }
    Type operator()(const Barrier&) const { return Type::kBarrier; }
    Type operator()(const Ack&) const { return Type::kAck; }
    Type operator()(const Ok&) const { return Type::kOk; }
    Type operator()(const Error&) const { return Type::kError; }
    Type operator()(const BasisMismatch&) const { return Type::kBasisMismatch; }
    Type operator()(const ListRequest&) const { return Type::kListRequest; }
    Type operator()(const ListData&) const { return Type::kListData; }
    Type operator()(const ListEnd&) const { return Type::kListEnd; }
    Type operator()(const FetchBegin&) const { return Type::kFetchBegin; }
    Type operator()(const FetchSig&) const { return Type::kFetchSig; }
    Type operator()(const FetchSigEnd&) const { return Type::kFetchSigEnd; }
    Type operator()(const FetchData&) const { return Type::kFetchData; }
    Type operator()(const FetchEnd&) const { return Type::kFetchEnd; }
  };
  return std::visit(Of{}, m.body);
}

const char* type_name(Type t) {
  switch (t) {
    case Type::kHello:
      return "Hello";
    case Type::kHelloOk:
      return "HelloOk";
    case Type::kMkdir:
      return "Mkdir";
    case Type::kMknod:
      return "Mknod";
    case Type::kSymlink:
      return "Symlink";
    case Type::kLink:
      return "Link";
    case Type::kUnlink:
      return "Unlink";
    case Type::kRmdir:
      return "Rmdir";
    case Type::kRename:
      return "Rename";
    case Type::kSetattr:
      return "Setattr";
    case Type::kSetxattr:
      return "Setxattr";
    case Type::kRemovexattr:
      return "Removexattr";
    case Type::kFileBegin:
      return "FileBegin";
    case Type::kFileData:
      return "FileData";
    case Type::kFileEnd:
      return "FileEnd";
    case Type::kFileAbort:
      return "FileAbort";
    case Type::kSigRequest:
      return "SigRequest";
    case Type::kSigData:
      return "SigData";
    case Type::kSigEnd:
      return "SigEnd";
    case Type::kBarrier:
      return "Barrier";
    case Type::kAck:
      return "Ack";
    case Type::kOk:
      return "Ok";
    case Type::kError:
      return "Error";
    case Type::kBasisMismatch:
      return "BasisMismatch";
    case Type::kListRequest:
      return "ListRequest";
    case Type::kListData:
      return "ListData";
    case Type::kListEnd:
      return "ListEnd";
    case Type::kFetchBegin:
      return "FetchBegin";
    case Type::kFetchSig:
      return "FetchSig";
    case Type::kFetchSigEnd:
      return "FetchSigEnd";
    case Type::kFetchData:
      return "FetchData";
    case Type::kFetchEnd:
      return "FetchEnd";
  }
  return kUnknownType;
}

Result<FrameHeader> decode_header(std::span<const uint8_t> header) {
  if (header.size() != kFrameHeaderLen)
    return corrupt_header("length " + std::to_string(header.size()) + ", not " +
                          std::to_string(kFrameHeaderLen));
  const uint8_t* p = header.data();
  FrameHeader h;
  h.body_len = static_cast<uint32_t>(get_le(p, 4));
  if (h.body_len > kMaxFrameBody)
    return corrupt_header("body of " + std::to_string(h.body_len) +
                          " bytes is over kMaxFrameBody");
  h.type = static_cast<Type>(p[kTypeAt]);
  if (type_name(h.type) == kUnknownType)
    return corrupt_header("unknown type " + std::to_string(p[kTypeAt]));
  h.flags = p[kFlagsAt];
  if (h.flags & ~kFlagZstd) return corrupt_header("reserved flag bits set");
  if ((h.flags & kFlagZstd) && !is_chunk_type(h.type))
    return corrupt_header(std::string("zstd flag on ") + type_name(h.type));
  if (get_le(p + kReservedAt, 2) != 0)
    return corrupt_header("reserved bytes not zero");
  h.request_id = get_le(p + kRequestIdAt, 8);
  return h;
}

Result<Message> decode_body(const FrameHeader& header,
                            std::span<const uint8_t> body) {
  if (body.size() != header.body_len)
    return Status::corrupt("frame body: " + std::to_string(body.size()) +
                           " bytes, header says " +
                           std::to_string(header.body_len));
  Message m;
  m.request_id = header.request_id;
  if (is_chunk_type(header.type)) {
    if (header.flags & kFlagZstd) {
      MIRRORFS_ASSIGN_OR_RETURN(bytes, decompress_chunk(body));
      m.body = chunk_body(header.type, std::move(bytes));
    } else {
      if (body.size() > kMaxChunk)
        return Status::corrupt(std::string(type_name(header.type)) +
                               ": more bytes than kMaxChunk");
      m.body = chunk_body(header.type, {body.begin(), body.end()});
    }
  } else {
    MIRRORFS_ASSIGN_OR_RETURN(fields, decode_fields(header.type, body));
    m.body = std::move(fields);
  }
  MIRRORFS_RETURN_IF_ERROR(check_message(m, Code::kCorrupt));
  return m;
}

Status encode(const Message& m, std::vector<uint8_t>& out,
              const EncodeOptions& opt) {
  const Type type = type_of(m);
  MIRRORFS_RETURN_IF_ERROR(check_message(m, Code::kInvalidArgument));
  const size_t start = out.size();
  out.resize(start + kFrameHeaderLen);
  uint8_t flags = 0;
  Status st = encode_body(m, type, out, opt, &flags);
  const size_t body_len = out.size() - start - kFrameHeaderLen;
  if (st.is_ok() && body_len > kMaxFrameBody)
    st = Status::invalid_argument(std::string(type_name(type)) + ": body of " +
                                  std::to_string(body_len) +
                                  " bytes does not fit in kMaxFrameBody");
  if (!st.is_ok()) {
    out.resize(start);
    return st;
  }
  uint8_t* p = out.data() + start;
  put_le(p, body_len, 4);
  p[kTypeAt] = static_cast<uint8_t>(type);
  p[kFlagsAt] = flags;
  put_le(p + kReservedAt, 0, 2);
  put_le(p + kRequestIdAt, m.request_id, 8);
  return Status::ok();
}

}  // namespace mirrorfs::replicator::wire

#include "tests/replicator/wire/wire_test_util.h"

#include <gtest/gtest.h>

namespace mirrorfs::replicator::wire::testing {

Hash hash_of(uint8_t seed) {
  Hash h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(seed + i);
  return h;
}

std::vector<Message> sample_messages() {
  Attrs attrs;
  attrs.valid = 1 | 2 | 4 | 16 | 32 | 64;
  attrs.mode = 0100644;
  attrs.uid = 1000;
  attrs.gid = 100;
  attrs.atime_ns = -1;  // before 1970: negative times survive
  attrs.mtime_ns = 1700000000123456789;
  attrs.rdev = 0x0801;

  auto op = [&](Type t) {
    EntryOp e;
    e.type = t;
    e.seq = 1000 + static_cast<uint64_t>(t);
    e.path = "dir/file name \xc3\xa9";
    return e;
  };
  std::vector<Body> bodies;
  bodies.push_back(Hello{kProtocolVersion, 0, "client.example",
                         "00112233445566778899aabbccddeeff"});
  bodies.push_back(HelloOk{kProtocolVersion, 0, "6d6972726f72", 77});
  EntryOp e = op(Type::kMkdir);
  e.attrs = attrs;
  e.attrs.mode = 040755;
  bodies.push_back(e);
  e = op(Type::kMknod);
  e.attrs = attrs;
  e.attrs.mode = 060600;
  bodies.push_back(e);
  e = op(Type::kSymlink);
  e.path2 = "../target";
  e.attrs.valid = 2 | 4 | 32;
  e.attrs.uid = 5;
  e.attrs.gid = 6;
  e.attrs.mtime_ns = 7;
  bodies.push_back(e);
  e = op(Type::kLink);
  e.path2 = "other/name";
  bodies.push_back(e);
  bodies.push_back(op(Type::kUnlink));
  bodies.push_back(op(Type::kRmdir));
  e = op(Type::kRename);
  e.path2 = "renamed";
  e.flags = 1;
  bodies.push_back(e);
  e = op(Type::kSetattr);
  e.attrs = attrs;
  bodies.push_back(e);
  e.flags = kOpStateFix;
  bodies.push_back(e);
  e = op(Type::kSetxattr);
  e.path2 = "user.comment";
  e.value = {0, 1, 2, 0xff};
  bodies.push_back(e);
  e = op(Type::kRemovexattr);
  e.path2 = "user.comment";
  bodies.push_back(e);
  bodies.push_back(
      FileBegin{2000, "big.bin", true, "big.bin~", hash_of(1), 1u << 30, 0, 0});
  bodies.push_back(FileBegin{2001, "vm.img", true, "vm.img", hash_of(3), 4ull << 30,
                             kFileInPlace, 409600});
  std::vector<uint8_t> text;
  for (int i = 0; i < 2000; ++i) text.push_back("delta "[i % 6]);
  bodies.push_back(FileData{text});  // compressible: sent zstd
  bodies.push_back(FileData{{0x72, 0x73, 0x02, 0x36, 0x00}});  // raw
  bodies.push_back(FileEnd{hash_of(2), attrs, {"hard/link1", "link2"}});
  bodies.push_back(FileAbort{});
  bodies.push_back(SigRequest{"big.bin"});
  bodies.push_back(SigData{text});
  bodies.push_back(SigEnd{true, hash_of(3), 12345});
  bodies.push_back(Barrier{2001});
  bodies.push_back(Ack{2001});
  bodies.push_back(Ok{});
  bodies.push_back(Error{static_cast<uint32_t>(Code::kIoError), 28,
                         "write big.bin: No space left on device"});
  bodies.push_back(BasisMismatch{true, hash_of(4)});
  bodies.push_back(ListRequest{"."});
  bodies.push_back(ListRequest{"dir", kListRehash});
  ListData list;
  list.entries.push_back(ListEntry{"dir", 040755, 1000, 100, 2, 11, 4096,
                                   1700000000123456789, "", false, {}});
  list.entries.push_back(ListEntry{"dir/file", 0100600, 0, 0, 2, 12, 12345, -1,
                                   "", true, hash_of(5)});
  list.entries.push_back(ListEntry{"dir/link", 0120777, 5, 6, 1, 13, 9, 7,
                                   "../target", false, {}});
  bodies.push_back(list);
  bodies.push_back(ListEnd{3});
  bodies.push_back(FetchBegin{"dir/file", true});
  bodies.push_back(FetchSig{text});
  bodies.push_back(FetchSigEnd{});
  bodies.push_back(FetchData{text});
  bodies.push_back(FetchEnd{hash_of(6), 12345, Attrs{1 | 2 | 4 | 32, 0100640, 7, 8, 0, 1700000000000000009, 0}});

  std::vector<Message> out;
  uint64_t id = 1;
  for (Body& b : bodies) {
    const bool handshake =
        std::holds_alternative<Hello>(b) || std::holds_alternative<HelloOk>(b);
    out.push_back(Message{handshake ? 0 : id++, std::move(b)});
  }
  return out;
}

Result<Message> decode_frame(std::span<const uint8_t> frame) {
  if (frame.size() < kFrameHeaderLen) return decode_header(frame).status();
  MIRRORFS_ASSIGN_OR_RETURN(h, decode_header(frame.first(kFrameHeaderLen)));
  return decode_body(h, frame.subspan(kFrameHeaderLen));
}

Code decode_code(std::span<const uint8_t> f) {
  return decode_frame(f).status().code();
}

Code encode_code(const Message& m) {
  std::vector<uint8_t> out{9, 9};
  const Status st = encode(m, out);
  if (!st.is_ok()) {
    EXPECT_EQ(out.size(), 2u) << "a failed encode changed out";
  }
  return st.code();
}

std::vector<uint8_t> encoded(const Message& m, const EncodeOptions& opt) {
  std::vector<uint8_t> out;
  const Status st = encode(m, out, opt);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return out;
}

Bytes& Bytes::u8(uint8_t v) {
  b_.push_back(v);
  return *this;
}
Bytes& Bytes::u16(uint16_t v) {
  for (int i = 0; i < 2; ++i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}
Bytes& Bytes::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}
Bytes& Bytes::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) b_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}
Bytes& Bytes::str(const std::string& s) {
  u32(static_cast<uint32_t>(s.size()));
  b_.insert(b_.end(), s.begin(), s.end());
  return *this;
}
Bytes& Bytes::hash(const Hash& h) { return raw(h); }
Bytes& Bytes::attrs(const Attrs& a) {
  u32(a.valid).u32(a.mode).u32(a.uid).u32(a.gid);
  return u64(static_cast<uint64_t>(a.atime_ns))
      .u64(static_cast<uint64_t>(a.mtime_ns))
      .u64(a.rdev);
}
Bytes& Bytes::raw(std::span<const uint8_t> b) {
  b_.insert(b_.end(), b.begin(), b.end());
  return *this;
}

std::vector<uint8_t> frame(uint8_t type, uint64_t request_id,
                           const std::vector<uint8_t>& body, uint8_t flags) {
  Bytes f;
  f.u32(static_cast<uint32_t>(body.size())).u8(type).u8(flags).u16(0);
  f.u64(request_id).raw(body);
  return f.bytes();
}

}  // namespace mirrorfs::replicator::wire::testing

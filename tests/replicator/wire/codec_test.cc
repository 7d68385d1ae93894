#include "replicator/wire/codec.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/replicator/wire/wire_test_util.h"

namespace mirrorfs::replicator::wire {
namespace {

using namespace testing;

std::string hex(std::span<const uint8_t> b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

// The worked example of docs/protocol.md.
Message mkdir_example() {
  EntryOp op;
  op.type = Type::kMkdir;
  op.seq = 42;
  op.path = "docs";
  op.attrs.valid = 1 | 32;  // mode, mtime
  op.attrs.mode = 040755;
  op.attrs.mtime_ns = 1700000000000000000;
  return Message{7, op};
}

TEST(CodecTest, RoundTripEveryType) {
  std::set<Type> types;
  for (const Message& m : sample_messages()) {
    SCOPED_TRACE(type_name(type_of(m)));
    types.insert(type_of(m));
    for (bool compress : {true, false}) {
      const std::vector<uint8_t> f = encoded(m, {.compress = compress});
      Result<Message> back = decode_frame(f);
      ASSERT_TRUE(back.is_ok()) << back.status().to_string();
      EXPECT_EQ(*back, m);
    }
  }
  EXPECT_EQ(types.size(), 32u) << "a frame type has no sample";
}

TEST(CodecTest, GoldenMkdirFrame) {
  const std::vector<uint8_t> f = encoded(mkdir_example());
  EXPECT_EQ(hex(f),
            "38000000"
            "0a"
            "00"
            "0000"
            "0700000000000000"  // header
            "2a00000000000000"  // seq 42
            "04000000"
            "646f6373"  // "docs"
            "21000000"
            "ed410000"
            "00000000"
            "00000000"            // valid mode uid gid
            "0000000000000000"    // atime
            "00002a36fe9c9717"    // mtime
            "0000000000000000");  // rdev
  Result<Message> back = decode_frame(f);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, mkdir_example());
}

TEST(CodecTest, EncodeAppends) {
  std::vector<uint8_t> out{1, 2, 3};
  ASSERT_TRUE(encode(Message{5, Ok{}}, out).is_ok());
  EXPECT_EQ(hex(out),
            "010203"
            "00000000"
            "3c"
            "00"
            "0000"
            "0500000000000000");
}

TEST(CodecTest, HeaderChecks) {
  const std::vector<uint8_t> ok = frame(60, 1, {});
  EXPECT_TRUE(decode_header(ok).is_ok());
  EXPECT_EQ(decode_header(std::span(ok).first(15)).status().code(),
            Code::kCorrupt);
  std::vector<uint8_t> longer = ok;
  longer.push_back(0);
  EXPECT_EQ(decode_header(longer).status().code(), Code::kCorrupt);

  std::vector<uint8_t> h = ok;
  for (int bit = 1; bit < 8; ++bit) {  // reserved flag bits
    h[5] = static_cast<uint8_t>(1u << bit);
    EXPECT_EQ(decode_header(h).status().code(), Code::kCorrupt) << bit;
  }
  h = ok;
  h[5] = kFlagZstd;  // on Ok: not allowed
  EXPECT_EQ(decode_header(h).status().code(), Code::kCorrupt);
  for (int at : {6, 7}) {  // reserved bytes
    h = ok;
    h[at] = 1;
    EXPECT_EQ(decode_header(h).status().code(), Code::kCorrupt) << at;
  }
}

TEST(CodecTest, UnknownTypesAreCorrupt) {
  int known = 0;
  for (int t = 0; t < 256; ++t) {
    Result<FrameHeader> h =
        decode_header(frame(static_cast<uint8_t>(t), 1, {}));
    if (h.is_ok()) {
      ++known;
      EXPECT_EQ(static_cast<int>(h->type), t);
      EXPECT_STRNE(type_name(h->type), "Unknown");
    } else {
      EXPECT_EQ(h.status().code(), Code::kCorrupt);
      EXPECT_STREQ(type_name(static_cast<Type>(t)), "Unknown");
    }
  }
  EXPECT_EQ(known, 32);
}

TEST(CodecTest, ZstdFlagOnlyOnChunks) {
  for (int t : {31, 41}) {
    std::vector<uint8_t> f = frame(static_cast<uint8_t>(t), 1, {}, kFlagZstd);
    EXPECT_TRUE(decode_header(std::span(f).first(16)).is_ok()) << t;
  }
  for (int t : {1, 2, 10, 19, 30, 32, 40, 42, 50, 51, 60, 61, 62}) {
    std::vector<uint8_t> f = frame(static_cast<uint8_t>(t), 1, {}, kFlagZstd);
    EXPECT_EQ(decode_header(std::span(f).first(16)).status().code(),
              Code::kCorrupt)
        << t;
  }
}

TEST(CodecTest, BodyLengthLimit) {
  Bytes h;
  h.u32(kMaxFrameBody).u8(31).u8(0).u16(0).u64(1);
  EXPECT_TRUE(decode_header(h.bytes()).is_ok());
  Bytes over;
  over.u32(kMaxFrameBody + 1).u8(31).u8(0).u16(0).u64(1);
  EXPECT_EQ(decode_header(over.bytes()).status().code(), Code::kCorrupt);
  Bytes huge;
  huge.u32(0xffffffff).u8(60).u8(0).u16(0).u64(1);
  EXPECT_EQ(decode_header(huge.bytes()).status().code(), Code::kCorrupt);
}

TEST(CodecTest, BodySizeMustMatchHeader) {
  const std::vector<uint8_t> f = encoded(Message{1, Barrier{3}});
  Result<FrameHeader> h = decode_header(std::span(f).first(16));
  ASSERT_TRUE(h.is_ok());
  EXPECT_TRUE(decode_body(*h, std::span(f).subspan(16)).is_ok());
  EXPECT_EQ(decode_body(*h, std::span(f).subspan(17)).status().code(),
            Code::kCorrupt);
}

// Every proper prefix of every sample body, presented as a whole body, is
// kCorrupt (chunks aside: any length of raw chunk is a valid chunk).
TEST(CodecTest, TruncatedBodiesAreCorrupt) {
  for (const Message& m : sample_messages()) {
    const std::vector<uint8_t> f = encoded(m);
    Result<FrameHeader> h = decode_header(std::span(f).first(16));
    ASSERT_TRUE(h.is_ok());
    const bool raw_chunk =
        (type_of(m) == Type::kFileData || type_of(m) == Type::kSigData ||
         type_of(m) == Type::kFetchSig || type_of(m) == Type::kFetchData) &&
        !(h->flags & kFlagZstd);
    for (size_t n = 0; n + 16 < f.size(); ++n) {
      FrameHeader cut = *h;
      cut.body_len = static_cast<uint32_t>(n);
      Result<Message> r = decode_body(cut, std::span(f).subspan(16, n));
      if (raw_chunk) continue;
      EXPECT_EQ(r.status().code(), Code::kCorrupt)
          << type_name(type_of(m)) << " cut at " << n;
    }
    for (size_t n = 0; n < 16; ++n)
      EXPECT_EQ(decode_code(std::span(f).first(n)), Code::kCorrupt);
  }
}

TEST(CodecTest, TrailingBytesAreCorrupt) {
  for (const Message& m : sample_messages()) {
    std::vector<uint8_t> f = encoded(m);
    const Type t = type_of(m);
    if ((t == Type::kFileData || t == Type::kSigData || t == Type::kFetchSig ||
         t == Type::kFetchData) &&
        !(f[5] & kFlagZstd))
      continue;  // a raw chunk is all bytes
    f.push_back(0);
    f[0] = static_cast<uint8_t>(f[0] + 1);  // every sample body < 255 bytes
    EXPECT_EQ(decode_code(f), Code::kCorrupt) << type_name(t);
  }
}

TEST(CodecTest, BoolsAreZeroOrOne) {
  auto begin = [](uint8_t b) {
    return Bytes().u64(1).str("p").u8(b).str("").hash({}).u64(0).u32(0).u64(0).bytes();
  };
  EXPECT_TRUE(decode_frame(frame(30, 1, begin(0))).is_ok());
  auto sig_end = [](uint8_t b) {
    return Bytes().u8(b).hash(b ? hash_of(1) : Hash{}).u64(b ? 9 : 0).bytes();
  };
  auto mismatch = [](uint8_t b) {
    return Bytes().u8(b).hash(b ? hash_of(1) : Hash{}).bytes();
  };
  for (uint8_t v : {0, 1}) {
    EXPECT_TRUE(decode_frame(frame(42, 1, sig_end(v))).is_ok());
    EXPECT_TRUE(decode_frame(frame(62, 1, mismatch(v))).is_ok());
  }
  for (uint8_t v : {2, 0x80, 0xff}) {
    EXPECT_EQ(decode_code(frame(30, 1, begin(v))), Code::kCorrupt);
    EXPECT_EQ(decode_code(frame(42, 1, sig_end(v))), Code::kCorrupt);
    EXPECT_EQ(decode_code(frame(62, 1, mismatch(v))), Code::kCorrupt);
  }
}

TEST(CodecTest, HelloOfAnotherVersionIsUnsupported) {
  const std::vector<uint8_t> v2 =
      frame(1, 0, Bytes().u32(2).u64(0).str("x").bytes());
  Result<Message> r = decode_frame(v2);
  EXPECT_EQ(r.status().code(), Code::kUnsupported);
  EXPECT_NE(r.status().message().find("version 2"), std::string::npos);
  // A future version may lay out the rest differently: only the version
  // is read.
  EXPECT_EQ(decode_code(frame(2, 0, Bytes().u32(9).bytes())),
            Code::kUnsupported);
  EXPECT_EQ(decode_code(frame(1, 0, Bytes().u32(0).bytes())),
            Code::kUnsupported);
  EXPECT_EQ(decode_code(frame(1, 0, Bytes().u8(1).bytes())), Code::kCorrupt);
  EXPECT_EQ(encode_code(Message{0, Hello{2, 0, "", ""}}), Code::kInvalidArgument);
}

TEST(CodecTest, RequestIdRules) {
  EXPECT_EQ(encode_code(Message{1, Hello{}}), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(1, 1, Bytes().u32(1).u64(0).str("").bytes())),
            Code::kCorrupt);
  EXPECT_EQ(encode_code(Message{0, Ok{}}), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(60, 0, {})), Code::kCorrupt);
  EXPECT_EQ(decode_code(frame(50, 0, Bytes().u64(1).bytes())), Code::kCorrupt);
  // An Error may end the connection (id 0) or answer a request.
  EXPECT_EQ(encode_code(Message{0, Error{1, 0, "bye"}}), Code::kOk);
  EXPECT_EQ(encode_code(Message{~uint64_t{0}, Error{1, 0, "no"}}), Code::kOk);
}

}  // namespace
}  // namespace mirrorfs::replicator::wire

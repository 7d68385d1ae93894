// The limits and rules of docs/protocol.md, from both sides: what the
// encoder refuses (kInvalidArgument) the decoder refuses too (kCorrupt).
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/coding.h"
#include "replicator/wire/codec.h"
#include "tests/replicator/wire/wire_test_util.h"

namespace mirrorfs::replicator::wire {
namespace {

using namespace testing;

void add_body_len(std::vector<uint8_t>& f, uint32_t n) {
  put_le(f.data(), get_le(f.data(), 4) + n, 4);
}

// In frame `f` (uncompressed), the field of `limit` bytes of 'a' gets one
// more byte: its le32 length if `prefixed`, and the frame's body_len.
std::vector<uint8_t> grow_field(std::vector<uint8_t> f, size_t limit,
                                bool prefixed) {
  if (!prefixed) {
    f.push_back('a');
    add_body_len(f, 1);
    return f;
  }
  uint8_t len[4];
  put_le(len, limit, 4);
  for (size_t i = kFrameHeaderLen; i + 4 + limit <= f.size(); ++i) {
    if (std::equal(len, len + 4, f.begin() + i) &&
        std::all_of(f.begin() + i + 4, f.begin() + i + 4 + limit,
                    [](uint8_t c) { return c == 'a'; })) {
      put_le(f.data() + i, limit + 1, 4);
      f.insert(f.begin() + i + 4, 'a');
      add_body_len(f, 1);
      return f;
    }
  }
  ADD_FAILURE() << "field of " << limit << " bytes not found";
  return f;
}

// `make(s)` puts `s` in the field under test. At `limit` bytes the message
// encodes and comes back equal; at limit + 1 the encoder and the decoder
// both refuse it.
void expect_limit(const std::function<Message(std::string)>& make, size_t limit,
                  bool prefixed = true) {
  const Message at = make(std::string(limit, 'a'));
  Result<Message> back = decode_frame(encoded(at));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, at);
  EXPECT_EQ(encode_code(make(std::string(limit + 1, 'a'))),
            Code::kInvalidArgument);
  const std::vector<uint8_t> over =
      grow_field(encoded(at, {.compress = false}), limit, prefixed);
  Result<Message> r = decode_frame(over);
  EXPECT_EQ(r.status().code(), Code::kCorrupt)
      << (r.is_ok() ? "accepted" : r.status().to_string());
}

EntryOp op(Type t, std::string path, std::string path2 = "") {
  EntryOp e;
  e.type = t;
  e.seq = 1;
  e.path = std::move(path);
  e.path2 = std::move(path2);
  return e;
}

Message msg(Body b) { return Message{1, std::move(b)}; }

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

TEST(RulesTest, PathLimits) {
  expect_limit([](std::string s) { return msg(op(Type::kMkdir, s)); },
               kMaxPath);
  expect_limit([](std::string s) { return msg(op(Type::kLink, "x", s)); },
               kMaxPath);
  expect_limit([](std::string s) { return msg(op(Type::kSymlink, "x", s)); },
               kMaxPath);
  expect_limit([](std::string s) { return msg(op(Type::kRename, s, "y")); },
               kMaxPath);
  expect_limit(
      [](std::string s) {
        return msg(FileBegin{1, s, false, "", {}, 0});
      },
      kMaxPath);
  expect_limit(
      [](std::string s) {
        return msg(FileBegin{1, "x", true, s, {}, 0});
      },
      kMaxPath);
  expect_limit(
      [](std::string s) {
        return msg(FileEnd{{}, {}, {"x", s}});
      },
      kMaxPath);
  expect_limit([](std::string s) { return msg(SigRequest{s}); }, kMaxPath);
}

TEST(RulesTest, XattrLimits) {
  expect_limit([](std::string s) { return msg(op(Type::kSetxattr, "x", s)); },
               kMaxXattrName);
  expect_limit(
      [](std::string s) { return msg(op(Type::kRemovexattr, "x", s)); },
      kMaxXattrName);
  expect_limit(
      [](std::string s) {
        EntryOp e = op(Type::kSetxattr, "x", "user.v");
        e.value = bytes(s);
        return msg(e);
      },
      kMaxXattrValue);
}

TEST(RulesTest, TextLimits) {
  expect_limit(
      [](std::string s) {
        return Message{0, Hello{1, 0, s, ""}};
      },
      kMaxText);
  expect_limit(
      [](std::string s) {
        return Message{0, HelloOk{1, 0, s, 0}};
      },
      kMaxText);
  expect_limit([](std::string s) { return msg(Error{1, 0, s}); }, kMaxText);
}

TEST(RulesTest, ChunkLimits) {
  // 'a' * kMaxChunk compresses well; the frame grown for the decoder is
  // built raw.
  expect_limit([](std::string s) { return msg(FileData{bytes(s)}); }, kMaxChunk,
               /*prefixed=*/false);
  expect_limit([](std::string s) { return msg(SigData{bytes(s)}); }, kMaxChunk,
               /*prefixed=*/false);
}

TEST(RulesTest, LinkCountLimit) {
  FileEnd e{hash_of(1), {}, std::vector<std::string>(kMaxLinks, "l")};
  Result<Message> back = decode_frame(encoded(msg(e)));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, msg(e));
  e.links.push_back("l");
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
  Bytes b;
  b.hash(hash_of(1)).attrs({}).u32(kMaxLinks + 1);
  for (size_t i = 0; i <= kMaxLinks; ++i) b.str("l");
  EXPECT_EQ(decode_frame(frame(32, 1, b.bytes())).status().code(),
            Code::kCorrupt);
  // A huge count with no names behind it: refused before any allocation.
  Bytes huge;
  huge.hash(hash_of(1)).attrs({}).u32(0xffffffff);
  EXPECT_EQ(decode_frame(frame(32, 1, huge.bytes())).status().code(),
            Code::kCorrupt);
}

TEST(RulesTest, FileEndThatDoesNotFitAFrameIsRefused) {
  FileEnd e{hash_of(1),
            {},
            std::vector<std::string>(300, std::string(kMaxPath, 'p'))};
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
}

TEST(RulesTest, NamesAreNonEmptyWithoutNul) {
  for (const std::string& bad : {std::string(), std::string("a\0b", 3)}) {
    EXPECT_EQ(encode_code(msg(op(Type::kUnlink, bad))), Code::kInvalidArgument);
    EXPECT_EQ(encode_code(msg(op(Type::kLink, "x", bad))),
              Code::kInvalidArgument);
    EXPECT_EQ(encode_code(msg(op(Type::kRemovexattr, "x", bad))),
              Code::kInvalidArgument);
    EXPECT_EQ(encode_code(msg(SigRequest{bad})), Code::kInvalidArgument);
    EXPECT_EQ(encode_code(msg(FileEnd{{}, {}, {bad}})), Code::kInvalidArgument);
    EXPECT_EQ(decode_frame(frame(14, 1, Bytes().u64(1).str(bad).bytes()))
                  .status()
                  .code(),
              Code::kCorrupt);
  }
  // Empty is fine where a field is free text or a value.
  EXPECT_EQ(encode_code(Message{0, Hello{1, 0, "", ""}}), Code::kOk);
  EXPECT_EQ(encode_code(msg(Error{1, 0, ""})), Code::kOk);
  EXPECT_EQ(encode_code(msg(op(Type::kSetxattr, "x", "user.empty"))),
            Code::kOk);
  EXPECT_EQ(encode_code(Message{0, HelloOk{1, 0, "", 0}}),
            Code::kInvalidArgument);
}

TEST(RulesTest, EntryOpFieldRules) {
  EntryOp e = op(Type::kMkdir, "d");
  e.seq = 0;
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
  EXPECT_EQ(decode_frame(frame(14, 1, Bytes().u64(0).str("x").bytes()))
                .status()
                .code(),
            Code::kCorrupt);
  // Fields the type does not carry must stay at their defaults, or
  // decode(encode(m)) would differ from m.
  e = op(Type::kUnlink, "x", "y");
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
  e = op(Type::kMkdir, "x");
  e.flags = 1;
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
  e = op(Type::kLink, "x", "y");
  e.attrs.mode = 1;
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
  e = op(Type::kRemovexattr, "x", "user.a");
  e.value = {1};
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
  e = op(Type::kOk, "x");
  EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument);
  // Rename flags: 0, NOREPLACE or EXCHANGE.
  for (uint32_t flags : {0u, 1u, 2u, 3u, 4u, 0x80000000u}) {
    e = op(Type::kRename, "x", "y");
    e.flags = flags;
    const bool ok = flags <= 2;
    EXPECT_EQ(encode_code(msg(e)), ok ? Code::kOk : Code::kInvalidArgument);
    const std::vector<uint8_t> f =
        frame(16, 1, Bytes().u64(1).str("x").str("y").u32(flags).bytes());
    EXPECT_EQ(decode_frame(f).status().code(), ok ? Code::kOk : Code::kCorrupt);
  }
  // Attrs::valid: size (8) and unknown bits are refused.
  for (uint32_t valid : {8u, 128u, 0x80000000u}) {
    e = op(Type::kSetattr, "x");
    e.attrs.valid = valid;
    EXPECT_EQ(encode_code(msg(e)), Code::kInvalidArgument) << valid;
    Attrs a;
    a.valid = valid;
    EXPECT_EQ(
        decode_frame(frame(17, 1, Bytes().u64(1).str("x").attrs(a).bytes()))
            .status()
            .code(),
        Code::kCorrupt);
    EXPECT_EQ(encode_code(msg(FileEnd{{}, a, {}})), Code::kInvalidArgument);
  }
}

TEST(RulesTest, OnlySetattrAndSetxattrAreStateFixes) {
  EntryOp sa;
  sa.type = Type::kSetattr;
  sa.seq = 1;
  sa.path = "x";
  sa.flags = kOpStateFix;
  EXPECT_EQ(encode_code(msg(sa)), Code::kOk);
  sa.flags = 1;
  EXPECT_EQ(encode_code(msg(sa)), Code::kInvalidArgument);
  EntryOp rn = sa;
  rn.type = Type::kRename;
  rn.path2 = "y";
  rn.flags = kOpStateFix;
  EXPECT_EQ(encode_code(msg(rn)), Code::kInvalidArgument);
  EntryOp mk = sa;
  mk.type = Type::kMkdir;
  EXPECT_EQ(encode_code(msg(mk)), Code::kInvalidArgument);
}

TEST(RulesTest, InPlaceUpdatesNameTheFileAsTheirBasis) {
  FileBegin ok{1, "x", true, "x", hash_of(1), 100, kFileInPlace, 10};
  EXPECT_EQ(encode_code(msg(ok)), Code::kOk);
  FileBegin b = ok;
  b.basis_path = "y";  // another file's bytes cannot be updated in place
  EXPECT_EQ(encode_code(msg(b)), Code::kInvalidArgument);
  b = ok;
  b.has_basis = false;
  b.basis_path.clear();
  b.basis_hash = {};
  EXPECT_EQ(encode_code(msg(b)), Code::kInvalidArgument);
  b = ok;
  b.flags = 2;  // unknown
  EXPECT_EQ(encode_code(msg(b)), Code::kInvalidArgument);
  b = ok;
  b.literal_bytes = 101;
  EXPECT_EQ(encode_code(msg(b)), Code::kInvalidArgument);
}

TEST(RulesTest, AbsentMeansZero) {
  EXPECT_EQ(encode_code(msg(FileBegin{1, "x", false, "y", {}, 0})),
            Code::kInvalidArgument);
  EXPECT_EQ(encode_code(msg(FileBegin{1, "x", false, "", hash_of(1), 0})),
            Code::kInvalidArgument);
  EXPECT_EQ(encode_code(msg(FileBegin{1, "x", true, "", {}, 0})),
            Code::kInvalidArgument);
  EXPECT_EQ(
      decode_frame(
          frame(30, 1,
                Bytes().u64(1).str("x").u8(0).str("y").hash({}).u64(0).u32(0).u64(0).bytes()))
          .status()
          .code(),
      Code::kCorrupt);
  EXPECT_EQ(encode_code(msg(SigEnd{false, {}, 1})), Code::kInvalidArgument);
  EXPECT_EQ(encode_code(msg(SigEnd{false, hash_of(1), 0})),
            Code::kInvalidArgument);
  EXPECT_EQ(encode_code(msg(BasisMismatch{false, hash_of(1)})),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_frame(frame(62, 1, Bytes().u8(0).hash(hash_of(1)).bytes()))
                .status()
                .code(),
            Code::kCorrupt);
}

TEST(RulesTest, ErrorFields) {
  EXPECT_EQ(encode_code(msg(Error{0, 0, "ok?"})), Code::kInvalidArgument);
  EXPECT_EQ(
      encode_code(msg(Error{static_cast<uint32_t>(Code::kInternal), 0, ""})),
      Code::kOk);
  EXPECT_EQ(encode_code(
                msg(Error{static_cast<uint32_t>(Code::kInternal) + 1, 0, ""})),
            Code::kInvalidArgument);
  EXPECT_EQ(encode_code(msg(Error{1, -1, ""})), Code::kInvalidArgument);
  EXPECT_EQ(
      decode_frame(frame(61, 1, Bytes().u32(5).u32(0xffffffff).str("").bytes()))
          .status()
          .code(),
      Code::kCorrupt);
}

}  // namespace
}  // namespace mirrorfs::replicator::wire

// The listing messages (ListRequest, ListData, ListEnd) of
// docs/protocol.md: their layout, limits and rules, from both sides.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "replicator/wire/codec.h"
#include "tests/replicator/wire/wire_test_util.h"

namespace mirrorfs::replicator::wire {
namespace {

using namespace testing;

ListEntry file_entry(const std::string& path) {
  ListEntry e;
  e.path = path;
  e.mode = S_IFREG | 0644;
  e.nlink = 1;
  e.ino = 42;
  e.size = 7;
  e.mtime_ns = 1700000000000000001;
  return e;
}

Message list_of(std::vector<ListEntry> entries) {
  return Message{9, ListData{std::move(entries)}};
}

// The bytes of docs/protocol.md, written by hand.
TEST(ListTest, GoldenListDataFrame) {
  ListEntry e = file_entry("a");
  e.has_hash = true;
  e.hash = hash_of(1);
  const std::vector<uint8_t> body = Bytes()
                                        .u32(1)
                                        .str("a")
                                        .u32(S_IFREG | 0644)
                                        .u32(0)
                                        .u32(0)
                                        .u32(1)
                                        .u64(42)
                                        .u64(7)
                                        .u64(1700000000000000001)
                                        .str("")
                                        .u8(1)
                                        .hash(hash_of(1))
                                        .bytes();
  EXPECT_EQ(encoded(list_of({e})), frame(71, 9, body));
  Result<Message> back = decode_frame(frame(71, 9, body));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, list_of({e}));
  EXPECT_EQ(encoded(Message{9, ListRequest{"."}}),
            frame(70, 9, Bytes().str(".").u32(0).bytes()));
  EXPECT_EQ(encoded(Message{9, ListRequest{"a/b", kListRehash}}),
            frame(70, 9, Bytes().str("a/b").u32(1).bytes()));
  Result<Message> rehash = decode_frame(frame(70, 9, Bytes().str("a/b").u32(1).bytes()));
  ASSERT_TRUE(rehash.is_ok()) << rehash.status().to_string();
  EXPECT_EQ(*rehash, (Message{9, ListRequest{"a/b", kListRehash}}));
  EXPECT_EQ(encoded(Message{9, ListEnd{3}}), frame(72, 9, Bytes().u64(3).bytes()));
}

TEST(ListTest, EntryRules) {
  auto refused = [](const ListEntry& e) {
    EXPECT_EQ(encode_code(list_of({e})), Code::kInvalidArgument) << e.path;
    // The same message built by hand, past the encoder's rules.
    Bytes b;
    b.u32(1).str(e.path).u32(e.mode).u32(e.uid).u32(e.gid).u32(e.nlink);
    b.u64(e.ino).u64(e.size).u64(static_cast<uint64_t>(e.mtime_ns));
    b.str(e.target).u8(e.has_hash ? 1 : 0).hash(e.hash);
    EXPECT_EQ(decode_code(frame(71, 9, b.bytes())), Code::kCorrupt) << e.path;
  };
  ListEntry e = file_entry("");
  refused(e);  // empty path
  e = file_entry(std::string("a\0b", 3));
  refused(e);
  e = file_entry("sym");
  e.mode = S_IFLNK | 0777;
  refused(e);  // a symlink without target
  e.target = "t";
  EXPECT_EQ(encode_code(list_of({e})), Code::kOk);
  e.has_hash = true;
  refused(e);  // a hash on a symlink
  e = file_entry("dir");
  e.mode = S_IFDIR | 0755;
  e.target = "t";
  refused(e);  // a target on a directory
  e = file_entry("f");
  e.hash = hash_of(2);
  refused(e);  // a hash without has_hash
  e = file_entry("f");
  e.mode = 0644;
  refused(e);  // no file type
}

TEST(ListTest, EntryCountLimits) {
  EXPECT_EQ(encode_code(list_of({})), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(71, 9, Bytes().u32(0).bytes())), Code::kCorrupt);
  std::vector<ListEntry> many(kMaxListEntries, file_entry("f"));
  Result<Message> back = decode_frame(encoded(list_of(many)));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(std::get<ListData>(back->body).entries.size(), kMaxListEntries);
  many.push_back(file_entry("f"));
  EXPECT_EQ(encode_code(list_of(many)), Code::kInvalidArgument);
  // A count over the limit is refused before anything is read or
  // reserved, and a count larger than the entries present is truncated.
  EXPECT_EQ(decode_code(frame(71, 9, Bytes().u32(0xffffffff).bytes())), Code::kCorrupt);
  std::vector<uint8_t> one = encoded(list_of({file_entry("f")}));
  one[kFrameHeaderLen] = 2;
  EXPECT_EQ(decode_code(one), Code::kCorrupt);
}

// Long paths and targets fill a frame long before kMaxListEntries: the
// encoder refuses a body over kMaxFrameBody rather than send it.
TEST(ListTest, ListDataMustFitInAFrame) {
  ListEntry e = file_entry(std::string(kMaxPath, 'p'));
  e.mode = S_IFLNK | 0777;
  e.target = std::string(kMaxPath, 't');
  std::vector<ListEntry> fits(kMaxFrameBody / (2 * kMaxPath + 128), e);
  EXPECT_EQ(encode_code(list_of(fits)), Code::kOk);
  std::vector<ListEntry> over(kMaxFrameBody / (2 * kMaxPath) + 1, e);
  EXPECT_EQ(encode_code(list_of(over)), Code::kInvalidArgument);
}

TEST(ListTest, RequestPathRules) {
  EXPECT_EQ(encode_code(Message{9, ListRequest{""}}), Code::kInvalidArgument);
  EXPECT_EQ(encode_code(Message{9, ListRequest{std::string(kMaxPath + 1, 'a')}}),
            Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(70, 9, Bytes().str("").u32(0).bytes())), Code::kCorrupt);
  EXPECT_EQ(decode_code(frame(70, 0, Bytes().str(".").u32(0).bytes())), Code::kCorrupt);
  // The flags: only the rehash bit is defined; a body without them is short.
  EXPECT_EQ(encode_code(Message{9, ListRequest{".", 2}}), Code::kInvalidArgument);
  EXPECT_EQ(decode_code(frame(70, 9, Bytes().str(".").u32(2).bytes())), Code::kCorrupt);
  EXPECT_EQ(decode_code(frame(70, 9, Bytes().str(".").bytes())), Code::kCorrupt);
}

}  // namespace
}  // namespace mirrorfs::replicator::wire

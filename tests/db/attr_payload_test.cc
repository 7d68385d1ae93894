// The journal's attribute payload: round trip, fixed size, bad input.
#include "db/attr_payload.h"

#include <gtest/gtest.h>

namespace mirrorfs::db {
namespace {

TEST(AttrPayloadTest, RoundTripsEveryField) {
  AttrPayload a;
  a.valid = AttrPayload::kMode | AttrPayload::kMtime | AttrPayload::kRdev;
  a.mode = 0100644;
  a.uid = 1000;
  a.gid = 0xfffffffe;
  a.size = 1ull << 40;
  a.atime_ns = -5;  // before 1970
  a.mtime_ns = 1795239893123456789;
  a.rdev = 0x0801;
  const std::vector<uint8_t> bytes = a.encode();
  EXPECT_EQ(bytes.size(), 49u);
  EXPECT_EQ(bytes[0], 1);  // version
  Result<AttrPayload> b = AttrPayload::decode(bytes);
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(*b, a);
}

TEST(AttrPayloadTest, WrongLengthOrVersionIsCorrupt) {
  std::vector<uint8_t> bytes = AttrPayload{}.encode();
  for (size_t n : {size_t{0}, size_t{1}, bytes.size() - 1}) {
    EXPECT_EQ(AttrPayload::decode({bytes.data(), n}).status().code(),
              Code::kCorrupt);
  }
  bytes.push_back(0);
  EXPECT_EQ(AttrPayload::decode(bytes).status().code(), Code::kCorrupt);
  bytes.pop_back();
  bytes[0] = 2;
  EXPECT_EQ(AttrPayload::decode(bytes).status().code(), Code::kCorrupt);
}

}  // namespace
}  // namespace mirrorfs::db

// The torn-file checker's rules (versioned_content.h): every state the
// workload passes through on the source is accepted, and a file cut
// short, mixed at another place, or with bytes from nowhere is not.
#include "tests/replicator/faults/versioned_content.h"

#include <gtest/gtest.h>

namespace mirrorfs::replicator::testing {
namespace {

Version fresh(uint64_t size, uint32_t chunk = 5000) {
  Version v;
  v.file_id = 7;
  v.version = 1;
  v.chunk = chunk;
  v.size = size;
  return v;
}

TEST(VersionedContentTest, CompleteVersionsAndEmptyFilesPass) {
  const std::string c = make_content(fresh(20000));
  EXPECT_EQ(check_content(c), "");
  EXPECT_TRUE(is_complete(c));
  EXPECT_EQ(check_content(""), "");
  EXPECT_FALSE(is_complete(""));
}

TEST(VersionedContentTest, AFreshFileCutAtAChunkEndPassesElsewhereFails) {
  const std::string c = make_content(fresh(20000));
  EXPECT_EQ(check_content(c.substr(0, 10000)), "");  // two chunks written
  EXPECT_FALSE(is_complete(c.substr(0, 10000)));
  EXPECT_NE(check_content(c.substr(0, 9999)), "");
  EXPECT_NE(check_content(c.substr(0, 8192)), "");  // a page, not a chunk
  CheckOptions pages;
  pages.allow_page_cuts = true;
  EXPECT_EQ(check_content(c.substr(0, 8192), pages), "");
  EXPECT_NE(check_content(c.substr(0, 8191), pages), "");
  EXPECT_NE(check_content(c.substr(0, 40)), "");  // not even a header
}

TEST(VersionedContentTest, InPlaceRewriteStatesPassOtherMixesFail) {
  const Version old = fresh(30000);
  Version v = old;
  v.version = 2;
  v.prev_version = 1;
  v.prev_size = old.size;
  v.size = 12000;  // shorter: the old tail stays until the ftruncate
  const std::string o = make_content(old);
  const std::string n = make_content(v);
  EXPECT_EQ(check_content(n), "");
  EXPECT_EQ(check_content(n.substr(0, 5000) + o.substr(5000)), "");    // 1 chunk
  EXPECT_EQ(check_content(n + o.substr(12000)), "");                   // before ftruncate
  EXPECT_NE(check_content(n.substr(0, 6000) + o.substr(6000)), "");    // not a chunk end
  EXPECT_NE(check_content(n.substr(0, 5000) + o.substr(5000, 7000)), "");  // old cut short
  std::string flipped = n;
  flipped[11000] ^= 1;
  EXPECT_NE(check_content(flipped), "");
  std::string hole = n;
  std::fill(hole.begin() + 4096, hole.begin() + 8192, '\0');
  EXPECT_NE(check_content(hole), "");
  std::string bad_header = n;
  bad_header[20] ^= 1;
  EXPECT_NE(check_content(bad_header), "");
  // Another file's version at the same place is a mix, not a state.
  Version other = old;
  other.file_id = 8;
  EXPECT_NE(check_content(n.substr(0, 5000) + make_content(other).substr(5000)), "");
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

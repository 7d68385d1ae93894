// Applier::list with and without rehash: the hash a listing gives comes
// from the mirror's catalog only when it matches the file, and with
// rehash from reading the file, whatever the catalog says.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

class ListTreeTest : public MirrorTest {
 protected:
  std::map<std::string, wire::ListEntry> listing(bool rehash) {
    std::map<std::string, wire::ListEntry> out;
    Status s = applier_->list(".", rehash, [&](const wire::ListEntry& e) {
      out[e.path] = e;
      return Status::ok();
    });
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return out;
  }
};

TEST_F(ListTreeTest, RehashReadsFilesTheCatalogDoesNotKnow) {
  const Bytes data = random_bytes(3 << 20, 42);  // several leaves
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  write_file("d/f", data);  // behind the applier: no catalog row
  ASSERT_EQ(::symlink("f", root_path("d/l").c_str()), 0);
  auto plain = listing(false);
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_FALSE(plain["d/f"].has_hash);
  auto rehashed = listing(true);
  ASSERT_EQ(rehashed.size(), 3u);
  EXPECT_TRUE(rehashed["d/f"].has_hash);
  EXPECT_EQ(rehashed["d/f"].hash, hash_of(data));
  EXPECT_FALSE(rehashed["d"].has_hash);
  EXPECT_FALSE(rehashed["d/l"].has_hash);
  EXPECT_EQ(rehashed["d/l"].target, "f");
}

TEST_F(ListTreeTest, RehashSeesAChangeTheCatalogRowWouldHide) {
  const Bytes v1 = to_bytes("version one"), v2 = to_bytes("version two");
  ASSERT_TRUE(put_content("f", v1).is_ok());
  EXPECT_EQ(listing(false)["f"].hash, hash_of(v1));  // from the catalog
  write_file("f", v2);  // same size, behind the applier
  EXPECT_FALSE(listing(false)["f"].has_hash);  // the stale row is not trusted
  EXPECT_EQ(listing(true)["f"].hash, hash_of(v2));
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

// The mirror database: its id kept across opens, forward-only applied seq
// per client, the file catalog rows, and schema versioning.
#include "db/mirror_catalog.h"

#include <gtest/gtest.h>

#include "db/versioned_db.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::db {
namespace {

class MirrorCatalogTest : public ::testing::Test {
 protected:
  std::unique_ptr<MirrorCatalog> open(std::string_view id = "id-a") {
    auto c = MirrorCatalog::open(tmp_.file("mirror.db"), id);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(*c) : nullptr;
  }
  testing::TempDir tmp_;
};

TEST_F(MirrorCatalogTest, IdIsMadeOnceAndKept) {
  auto c = open("first");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mirror_id(), "first");
  c.reset();
  auto again = open("second");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->mirror_id(), "first");
  EXPECT_EQ(MirrorCatalog::open(tmp_.file("other.db"), "").status().code(),
            Code::kInvalidArgument);
}

TEST_F(MirrorCatalogTest, AppliedSeqMovesForwardOnlyAndPersists) {
  auto c = open();
  ASSERT_TRUE(c);
  EXPECT_EQ(*c->applied_seq("client-1"), 0u);
  ASSERT_TRUE(c->set_applied("client-1", 10).is_ok());
  ASSERT_TRUE(c->set_applied("client-2", 3).is_ok());
  EXPECT_EQ(*c->applied_seq("client-1"), 10u);
  // Backwards and equal are no-ops, not errors.
  ASSERT_TRUE(c->set_applied("client-1", 7).is_ok());
  ASSERT_TRUE(c->set_applied("client-1", 10).is_ok());
  EXPECT_EQ(*c->applied_seq("client-1"), 10u);
  ASSERT_TRUE(c->set_applied("client-1", 12).is_ok());
  EXPECT_EQ(c->set_applied("", 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(c->set_applied("client-1", UINT64_MAX).code(),
            Code::kInvalidArgument);
  c.reset();
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->applied_seq("client-1"), 12u);
  EXPECT_EQ(*again->applied_seq("client-2"), 3u);
}

TEST_F(MirrorCatalogTest, FileRowsPutReplaceForget) {
  auto c = open();
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->file(42)->has_value());
  MirrorFileRow row{42, 1000, 123456789012345678, 223456789012345678, {}, {}};
  row.hash.fill(0xab);
  ASSERT_TRUE(c->put_file(row).is_ok());
  auto got = c->file(42);
  ASSERT_TRUE(got.is_ok() && got->has_value());
  EXPECT_EQ(**got, row);
  row.size = 7;
  row.hash.fill(0x01);
  ASSERT_TRUE(c->put_file(row).is_ok());
  EXPECT_EQ(**c->file(42), row);
  // Inode numbers above 2^63 survive the signed column.
  MirrorFileRow big = row;
  big.ino = UINT64_MAX - 5;
  ASSERT_TRUE(c->put_file(big).is_ok());
  EXPECT_EQ(**c->file(UINT64_MAX - 5), big);
  ASSERT_TRUE(c->forget_file(42).is_ok());
  EXPECT_FALSE(c->file(42)->has_value());
  ASSERT_TRUE(c->forget_file(42).is_ok());
}

TEST_F(MirrorCatalogTest, LeavesRoundTripAndBadLeavesAreCorrupt) {
  auto c = open();
  ASSERT_TRUE(c);
  MirrorFileRow row{7, 3u << 20, 1, 2, {}, {}};
  row.hash.fill(0x11);
  row.leaves.resize(3);
  for (size_t i = 0; i < 3; ++i) row.leaves[i].fill(static_cast<uint8_t>(i));
  ASSERT_TRUE(c->put_file(row).is_ok());
  EXPECT_EQ(**c->file(7), row);
  row.leaves.clear();  // back to unknown
  ASSERT_TRUE(c->put_file(row).is_ok());
  EXPECT_EQ(**c->file(7), row);
  c.reset();
  {
    auto db = Database::open(tmp_.file("mirror.db"), {});
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(
        (*db)->exec("UPDATE files SET leaves = x'0102030405' WHERE ino = 7")
            .is_ok());
  }
  c = open();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->file(7).status().code(), Code::kCorrupt);
}

TEST_F(MirrorCatalogTest, MigratesVersionOneKeepingRowsWithUnknownLeaves) {
  {
    auto db = Database::open(tmp_.file("mirror.db"), {});
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(migrate_mirror_db(**db, 1).is_ok());
    ASSERT_TRUE((*db)->exec("INSERT INTO mirror VALUES (1, 'old-id');"
                            "INSERT INTO files VALUES (9, 5, 10, 20, "
                            "x'" + std::string(64, 'a') + "')")
                    .is_ok());
  }
  auto c = open("new-id");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mirror_id(), "old-id");
  auto got = c->file(9);
  ASSERT_TRUE(got.is_ok() && got->has_value()) << got.status().to_string();
  EXPECT_EQ((*got)->size, 5u);
  EXPECT_EQ((*got)->hash[0], 0xaa);
  EXPECT_TRUE((*got)->leaves.empty());
}

TEST_F(MirrorCatalogTest, RefusesNewerSchemaAndCorruptFile) {
  {
    auto db = Database::open(tmp_.file("mirror.db"), {});
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(migrate_mirror_db(**db).is_ok());
    EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), kMirrorSchemaVersion);
    ASSERT_TRUE((*db)->exec("PRAGMA user_version=99").is_ok());
  }
  auto c = MirrorCatalog::open(tmp_.file("mirror.db"), "x");
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), Code::kUnsupported);
  EXPECT_NE(c.status().message().find("newer"), std::string::npos);

  FILE* f = std::fopen(tmp_.file("junk.db").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not an sqlite database, not at all, not even close.....",
             f);
  std::fclose(f);
  auto junk = MirrorCatalog::open(tmp_.file("junk.db"), "x");
  ASSERT_FALSE(junk.is_ok());
  EXPECT_EQ(junk.status().code(), Code::kCorrupt) << junk.status().to_string();
}

}  // namespace
}  // namespace mirrorfs::db

#include "db/catalog.h"
#include "db/journal.h"

#include <gtest/gtest.h>

#include "db/schema.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::db {
namespace {

using testing::TempDir;

struct Fixture {
  TempDir dir;
  std::unique_ptr<Database> db;
  std::unique_ptr<Journal> journal;
  Fixture() {
    auto d = open_state_db(dir.file("state.db"));
    EXPECT_TRUE(d.is_ok()) << d.status().to_string();
    db = std::move(*d);
    auto j = Journal::open(*db);
    EXPECT_TRUE(j.is_ok()) << j.status().to_string();
    journal = std::move(*j);
  }
};

JournalRecord rec(JournalKind kind, std::string path, uint64_t off = 0) {
  JournalRecord r;
  r.kind = kind;
  r.path = std::move(path);
  r.off = off;
  return r;
}

TEST(JournalTest, AppendReadInOrder) {
  Fixture f;
  JournalBatch b;
  b.add(rec(JournalKind::kCreate, "a"));
  b.add_extent(7, 4096, 100);
  JournalRecord ren = rec(JournalKind::kRename, "a");
  ren.path2 = "b";
  ren.data = {1, 2, 3};
  b.add(ren);
  auto last = f.journal->commit(b);
  ASSERT_TRUE(last.is_ok()) << last.status().to_string();
  EXPECT_EQ(*last, 3u);
  EXPECT_TRUE(b.empty());
  auto rows = f.journal->read_after(0, 100);
  ASSERT_TRUE(rows.is_ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].seq, 1u);
  EXPECT_EQ((*rows)[0].kind, JournalKind::kCreate);
  EXPECT_EQ((*rows)[1].kind, JournalKind::kExtent);
  EXPECT_EQ((*rows)[1].file_id, 7u);
  EXPECT_EQ((*rows)[1].off, 4096u);
  EXPECT_EQ((*rows)[1].len, 100u);
  EXPECT_EQ((*rows)[2].path2, "b");
  EXPECT_EQ((*rows)[2].data, (std::vector<uint8_t>{1, 2, 3}));
  auto tail = f.journal->read_after(2, 100);
  ASSERT_TRUE(tail.is_ok());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].seq, 3u);
  auto limited = f.journal->read_after(0, 2);
  ASSERT_TRUE(limited.is_ok());
  EXPECT_EQ(limited->size(), 2u);
}

TEST(JournalTest, TrimKeepsSequenceNumbersMonotonic) {
  Fixture f;
  JournalBatch b;
  for (int i = 0; i < 10; ++i) b.add_extent(1, i, 1);
  ASSERT_TRUE(f.journal->commit(b).is_ok());
  ASSERT_TRUE(f.journal->trim(10).is_ok());
  auto rows = f.journal->read_after(0, 100);
  ASSERT_TRUE(rows.is_ok());
  EXPECT_TRUE(rows->empty());
  EXPECT_EQ(*f.journal->last_seq(), 10u);
  // A mirror that acknowledged 10 must never see a new record numbered 10
  // or less, even after everything was trimmed.
  b.add_extent(1, 0, 1);
  EXPECT_EQ(*f.journal->commit(b), 11u);
  // Partial trim.
  for (int i = 0; i < 5; ++i) b.add_extent(1, i, 1);
  ASSERT_TRUE(f.journal->commit(b).is_ok());
  ASSERT_TRUE(f.journal->trim(13).is_ok());
  rows = f.journal->read_after(0, 100);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].seq, 14u);
}

TEST(JournalTest, PendingCountsRecordsAndExtentBytes) {
  Fixture f;
  JournalBatch b;
  b.add(rec(JournalKind::kCreate, "a"));
  b.add_extent(2, 0, 4096);
  b.add(rec(JournalKind::kTruncate, "a", 1 << 20));  // off is not bytes
  b.add_extent(2, 8192, 100);
  ASSERT_TRUE(f.journal->commit(b).is_ok());
  auto all = f.journal->pending(0);
  ASSERT_TRUE(all.is_ok()) << all.status().to_string();
  EXPECT_EQ(all->records, 4u);
  EXPECT_EQ(all->extent_bytes, 4196u);
  auto tail = f.journal->pending(2);
  EXPECT_EQ(tail->records, 2u);
  EXPECT_EQ(tail->extent_bytes, 100u);
  EXPECT_EQ(f.journal->pending(4)->records, 0u);
}

TEST(JournalTest, EmptyBatchWritesNothing) {
  Fixture f;
  JournalBatch b;
  EXPECT_EQ(*f.journal->commit(b), 0u);
  EXPECT_EQ(*f.journal->last_seq(), 0u);
}

TEST(SchemaTest, MigratesFromVersionOne) {
  TempDir dir;
  {
    auto db = Database::open(dir.file("state.db"), {});
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(migrate(**db, 1).is_ok());
    EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), 1);
    auto j = Journal::open(**db);
    ASSERT_TRUE(j.is_ok());
    JournalBatch b;
    b.add(rec(JournalKind::kMkdir, "kept"));
    ASSERT_TRUE((*j)->commit(b).is_ok());
  }
  auto db = open_state_db(dir.file("state.db"));
  ASSERT_TRUE(db.is_ok()) << db.status().to_string();
  EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), kSchemaVersion);
  auto j = Journal::open(**db);
  auto rows = (*j)->read_after(0, 10);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].path, "kept");
  // Version 2's tables exist, with the root inode.
  EXPECT_EQ(*(*db)->query_int("SELECT count(*) FROM inodes WHERE id = 1"), 1);
  EXPECT_EQ(*(*db)->query_int("SELECT count(*) FROM mirrors"), 0);
}

// N-1 to N: a version 2 catalog keeps its rows and gains the backing
// inode index the mount looks files up by.
TEST(SchemaTest, MigratesFromVersionTwo) {
  TempDir dir;
  {
    auto db = Database::open(dir.file("state.db"), {});
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE(migrate(**db, 2).is_ok());
    ASSERT_TRUE((*db)->exec("INSERT INTO inodes(id, kind, backing_ino) "
                            "VALUES (5, 1, 4242)").is_ok());
  }
  auto db = open_state_db(dir.file("state.db"));
  ASSERT_TRUE(db.is_ok()) << db.status().to_string();
  EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(*(*db)->query_int("SELECT count(*) FROM sqlite_schema WHERE "
                              "name = 'inodes_by_backing'"),
            1);
  auto cat = Catalog::open(**db);
  ASSERT_TRUE(cat.is_ok());
  EXPECT_EQ(*(*cat)->lookup_backing(4242), 5u);
}

TEST(SchemaTest, NewerSchemaIsRefused) {
  TempDir dir;
  {
    auto db = open_state_db(dir.file("state.db"));
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = 99").is_ok());
  }
  auto db = open_state_db(dir.file("state.db"));
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), Code::kUnsupported);
  EXPECT_NE(db.status().message().find("newer"), std::string::npos)
      << db.status().message();
}

TEST(SchemaTest, CorruptFileIsReportedNotUsed) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  {
    auto db = open_state_db(path);
    ASSERT_TRUE(db.is_ok());
    auto j = Journal::open(**db);
    JournalBatch b;
    for (int i = 0; i < 2000; ++i)
      b.add(rec(JournalKind::kCreate, std::string(100, 'x')));
    ASSERT_TRUE((*j)->commit(b).is_ok());
    ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE)").is_ok());
  }
  // Scribble over the middle of the file (pages of the journal's b-tree).
  FILE* f = std::fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, size / 2, SEEK_SET);
  std::vector<char> junk(8192, '\x5a');
  std::fwrite(junk.data(), 1, junk.size(), f);
  std::fclose(f);
  auto db = open_state_db(path);
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), Code::kCorrupt) << db.status().message();
  // Garbage that is not a database at all.
  const std::string junk_path = dir.file("junk.db");
  f = std::fopen(junk_path.c_str(), "wb");
  std::fwrite(junk.data(), 1, junk.size(), f);
  std::fclose(f);
  auto junk_db = open_state_db(junk_path);
  ASSERT_FALSE(junk_db.is_ok());
}

}  // namespace
}  // namespace mirrorfs::db

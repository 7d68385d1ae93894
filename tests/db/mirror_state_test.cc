// Per-mirror state: registration, forward-only acks, file versions, the
// atomic commit_ack, and the trim point over all mirrors.
#include "db/mirror_state.h"

#include <gtest/gtest.h>

#include "db/schema.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::db {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes hash_of(uint8_t tag) { return Bytes(32, tag); }

class MirrorStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = open_state_db(tmp_.file("state.db"));
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    db_ = std::move(*db);
    auto ms = MirrorState::open(*db_);
    ASSERT_TRUE(ms.is_ok()) << ms.status().to_string();
    ms_ = std::move(*ms);
  }
  void TearDown() override {
    ms_.reset();
    db_.reset();
  }

  testing::TempDir tmp_;  // outlives db_: declared first
  std::unique_ptr<Database> db_;
  std::unique_ptr<MirrorState> ms_;
};

TEST_F(MirrorStateTest, AddMirrorIsIdempotent) {
  Result<MirrorId> a = ms_->add_mirror("offsite");
  Result<MirrorId> b = ms_->add_mirror("lab");
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*ms_->add_mirror("offsite"), *a);
  EXPECT_EQ(ms_->add_mirror("").status().code(), Code::kInvalidArgument);
  auto all = ms_->list();
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "offsite");
  EXPECT_EQ((*all)[0].acked_seq, 0u);
}

TEST_F(MirrorStateTest, AckNeverMovesBackwards) {
  const MirrorId m = *ms_->add_mirror("m");
  EXPECT_EQ(*ms_->acked_seq(m), 0u);
  ASSERT_TRUE(ms_->set_acked(m, 10).is_ok());
  ASSERT_TRUE(ms_->set_acked(m, 10).is_ok());  // replay: a no-op
  EXPECT_EQ(ms_->set_acked(m, 9).code(), Code::kInvalidArgument);
  EXPECT_EQ(*ms_->acked_seq(m), 10u);
  ASSERT_TRUE(ms_->set_acked(m, 11).is_ok());
  EXPECT_EQ(*ms_->acked_seq(m), 11u);
  EXPECT_EQ(ms_->set_acked(999, 1).code(), Code::kNotFound);
  EXPECT_EQ(ms_->acked_seq(999).status().code(), Code::kNotFound);
  EXPECT_EQ(ms_->set_acked(m, UINT64_MAX).code(), Code::kInvalidArgument);
}

TEST_F(MirrorStateTest, FileVersions) {
  const MirrorId m = *ms_->add_mirror("m");
  const MirrorId n = *ms_->add_mirror("n");
  auto none = ms_->file_version(m, 5);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(ms_->set_file_version(m, 5, hash_of(1)).is_ok());
  ASSERT_TRUE(ms_->set_file_version(m, 5, hash_of(2)).is_ok());  // replaces
  EXPECT_EQ(**ms_->file_version(m, 5), hash_of(2));
  EXPECT_FALSE(ms_->file_version(n, 5)->has_value());    // per mirror
  ASSERT_TRUE(ms_->set_file_version(m, 5, {}).is_ok());  // holds none
  EXPECT_FALSE(ms_->file_version(m, 5)->has_value());
  EXPECT_EQ(ms_->set_file_version(999, 5, hash_of(1)).code(), Code::kNotFound);
  EXPECT_EQ(ms_->file_version(999, 5).status().code(), Code::kNotFound);
}

TEST_F(MirrorStateTest, RecordContact) {
  const MirrorId m = *ms_->add_mirror("m");
  ASSERT_TRUE(ms_->record_contact(m, 100, "connection refused").is_ok());
  EXPECT_EQ((*ms_->list())[0].last_contact_ns, 100);
  EXPECT_EQ((*ms_->list())[0].last_error, "connection refused");
  ASSERT_TRUE(ms_->record_contact(m, 200, "").is_ok());
  EXPECT_EQ((*ms_->list())[0].last_contact_ns, 200);
  EXPECT_EQ((*ms_->list())[0].last_error, "");
  EXPECT_EQ(ms_->record_contact(999, 1, "").code(), Code::kNotFound);
}

TEST_F(MirrorStateTest, LastSuccessAndTrafficAreKept) {
  const MirrorId m = *ms_->add_mirror("m");
  ASSERT_TRUE(ms_->record_contact(m, 100, "").is_ok());
  ASSERT_TRUE(ms_->record_contact(m, 300, "mirror away").is_ok());
  MirrorInfo info = (*ms_->list())[0];
  EXPECT_EQ(info.last_ok_ns, 100);  // a failure does not move it
  EXPECT_EQ(info.last_contact_ns, 300);

  ASSERT_TRUE(ms_->add_traffic(m, 1000, 50000).is_ok());
  ASSERT_TRUE(ms_->add_traffic(m, 24, 0).is_ok());
  info = (*ms_->list())[0];
  EXPECT_EQ(info.bytes_sent, 1024u);
  EXPECT_EQ(info.bytes_saved, 50000u);
  EXPECT_EQ(ms_->add_traffic(999, 1, 1).code(), Code::kNotFound);
}

TEST_F(MirrorStateTest, CommitAckIsAtomic) {
  const MirrorId m = *ms_->add_mirror("m");
  const std::vector<std::pair<FileId, Bytes>> batch1 = {{2, hash_of(1)},
                                                        {3, hash_of(2)}};
  ASSERT_TRUE(ms_->commit_ack(m, 50, batch1).is_ok());
  EXPECT_EQ(*ms_->acked_seq(m), 50u);
  EXPECT_EQ(**ms_->file_version(m, 2), hash_of(1));
  EXPECT_EQ(**ms_->file_version(m, 3), hash_of(2));

  // A backwards ack refuses the whole batch: no version is recorded.
  const std::vector<std::pair<FileId, Bytes>> batch2 = {
      {2, hash_of(7)}, {3, {}}, {4, hash_of(8)}};
  EXPECT_EQ(ms_->commit_ack(m, 40, batch2).code(), Code::kInvalidArgument);
  EXPECT_EQ(*ms_->acked_seq(m), 50u);
  EXPECT_EQ(**ms_->file_version(m, 2), hash_of(1));
  EXPECT_EQ(**ms_->file_version(m, 3), hash_of(2));
  EXPECT_FALSE(ms_->file_version(m, 4)->has_value());

  // The same batch going forward lands whole (an empty hash drops a row).
  ASSERT_TRUE(ms_->commit_ack(m, 60, batch2).is_ok());
  EXPECT_EQ(*ms_->acked_seq(m), 60u);
  EXPECT_EQ(**ms_->file_version(m, 2), hash_of(7));
  EXPECT_FALSE(ms_->file_version(m, 3)->has_value());
  EXPECT_EQ(**ms_->file_version(m, 4), hash_of(8));
  EXPECT_EQ(ms_->commit_ack(999, 1, batch1).code(), Code::kNotFound);
}

TEST_F(MirrorStateTest, MinAckedSeq) {
  EXPECT_EQ(*ms_->min_acked_seq(), 0u);  // no mirror: trim nothing
  const MirrorId a = *ms_->add_mirror("a");
  const MirrorId b = *ms_->add_mirror("b");
  ASSERT_TRUE(ms_->set_acked(a, 30).is_ok());
  EXPECT_EQ(*ms_->min_acked_seq(), 0u);  // b has nothing yet
  ASSERT_TRUE(ms_->set_acked(b, 20).is_ok());
  EXPECT_EQ(*ms_->min_acked_seq(), 20u);
  ASSERT_TRUE(ms_->set_acked(b, 45).is_ok());
  EXPECT_EQ(*ms_->min_acked_seq(), 30u);
}

// A mirror replaced under its name starts over: nothing acknowledged, no
// versions (so nothing cached is trusted as its basis), the new identity;
// its traffic counters stay, and other mirrors are untouched.
TEST_F(MirrorStateTest, RestartForgetsWhatTheOldMirrorHeld) {
  const MirrorId m = *ms_->add_mirror("m");
  const MirrorId n = *ms_->add_mirror("n");
  EXPECT_EQ(*ms_->identity(m), "");
  ASSERT_TRUE(ms_->set_identity(m, "aaaa").is_ok());
  const std::vector<std::pair<FileId, Bytes>> v{{5, hash_of(1)}, {6, hash_of(2)}};
  ASSERT_TRUE(ms_->commit_ack(m, 40, v).is_ok());
  ASSERT_TRUE(ms_->commit_ack(n, 30, v).is_ok());
  ASSERT_TRUE(ms_->add_traffic(m, 100, 50).is_ok());
  ASSERT_TRUE(ms_->restart(m, "bbbb").is_ok());
  EXPECT_EQ(*ms_->acked_seq(m), 0u);
  EXPECT_EQ(*ms_->identity(m), "bbbb");
  EXPECT_FALSE(ms_->file_version(m, 5)->has_value());
  EXPECT_FALSE(ms_->file_version(m, 6)->has_value());
  EXPECT_EQ(**ms_->file_version(n, 5), hash_of(1));
  EXPECT_EQ(*ms_->acked_seq(n), 30u);
  EXPECT_EQ(*ms_->min_acked_seq(), 0u);  // the journal is kept for m again
  EXPECT_EQ(ms_->list()->at(0).bytes_sent, 100u);
  EXPECT_EQ(ms_->restart(999, "x").code(), Code::kNotFound);
}

// A forgotten mirror no longer holds the journal back.
TEST_F(MirrorStateTest, RemoveMirrorLetsTheJournalGo) {
  const MirrorId old = *ms_->add_mirror("old");
  const MirrorId cur = *ms_->add_mirror("current");
  ASSERT_TRUE(ms_->commit_ack(old, 10, std::vector<std::pair<FileId, Bytes>>{{5, hash_of(1)}})
                  .is_ok());
  ASSERT_TRUE(ms_->set_acked(cur, 90).is_ok());
  EXPECT_EQ(*ms_->min_acked_seq(), 10u);
  ASSERT_TRUE(ms_->remove_mirror("old").is_ok());
  EXPECT_EQ(*ms_->min_acked_seq(), 90u);
  EXPECT_EQ(ms_->find_mirror("old").status().code(), Code::kNotFound);
  EXPECT_EQ(ms_->file_version(old, 5).status().code(), Code::kNotFound);
  EXPECT_EQ(ms_->remove_mirror("old").code(), Code::kNotFound);
  EXPECT_EQ(*db_->query_int("SELECT count(*) FROM mirror_files"), 0);
  // The name can be registered again, afresh.
  const MirrorId again = *ms_->add_mirror("old");
  EXPECT_EQ(*ms_->acked_seq(again), 0u);
}

}  // namespace
}  // namespace mirrorfs::db

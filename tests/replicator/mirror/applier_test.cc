// Applier lifetime: the mirror id, barriers and the applied seq across
// reopen, and ops at or below it skipped.
#include <sys/stat.h>

#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

using wire::Type;

class ApplierTest : public MirrorTest {};

TEST_F(ApplierTest, MirrorIdIsRandomHexAndKept) {
  const std::string id = applier_->mirror_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  reopen();
  EXPECT_EQ(applier_->mirror_id(), id);
  auto other = Applier::open(root_, base_ + "/state2");
  ASSERT_TRUE(other.is_ok());
  EXPECT_NE((*other)->mirror_id(), id);
  struct stat st;
  ASSERT_EQ(::stat((base_ + "/state2").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ApplierTest, BarrierPersistsAndSkipsWhatIsApplied) {
  EXPECT_EQ(*applier_->applied_seq(kClient), 0u);
  ASSERT_TRUE(apply(op(Type::kMkdir, "a")).is_ok());  // seq 1
  seq_ = 9;
  ASSERT_TRUE(apply(op(Type::kMkdir, "b")).is_ok());  // seq 10
  ASSERT_TRUE(applier_->barrier(kClient, 10).is_ok());
  EXPECT_EQ(*applier_->applied_seq(kClient), 10u);
  reopen();
  EXPECT_EQ(*applier_->applied_seq(kClient), 10u);
  EXPECT_EQ(*applier_->applied_seq("SHA256:another"), 0u);
  // Replays at or below 10 change nothing, even where state would.
  wire::EntryOp rm = op(Type::kRmdir, "a");
  for (uint64_t s : {1u, 10u}) {
    rm.seq = s;
    ASSERT_TRUE(apply(rm).is_ok());
    EXPECT_TRUE(exists("a")) << s;
  }
  rm.seq = 11;
  ASSERT_TRUE(apply(rm).is_ok());
  EXPECT_FALSE(exists("a"));
  // Another client's seqs are its own.
  wire::EntryOp mk = op(Type::kMkdir, "c");
  mk.seq = 5;
  ASSERT_TRUE(applier_->apply("SHA256:another", mk).is_ok());
  EXPECT_TRUE(exists("c"));
  // Barriers move forward only.
  ASSERT_TRUE(applier_->barrier(kClient, 7).is_ok());
  EXPECT_EQ(*applier_->applied_seq(kClient), 10u);
  ASSERT_TRUE(applier_->barrier(kClient, 12).is_ok());
  reopen();
  EXPECT_EQ(*applier_->applied_seq(kClient), 12u);
  EXPECT_EQ(applier_->barrier("", 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(applier_->applied_seq(std::string(5000, 'c')).status().code(),
            Code::kInvalidArgument);
}

// A state fix (attributes read from the source just now) is applied even
// at a seq the mirror already applied: a batch sent again after a
// partial failure must still put attributes right after its content.
TEST_F(ApplierTest, StateFixesAreAppliedWhateverTheirSeq) {
  seq_ = 4;
  ASSERT_TRUE(apply(op(Type::kMkdir, "d")).is_ok());  // seq 5
  ASSERT_TRUE(applier_->barrier(kClient, 5).is_ok());
  wire::EntryOp sa = op(Type::kSetattr, "d");
  sa.seq = 5;
  sa.attrs.valid = 1;  // mode
  sa.attrs.mode = S_IFDIR | 0700;
  ASSERT_TRUE(apply(sa).is_ok());
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "a journal replay is skipped";
  sa.flags = wire::kOpStateFix;
  ASSERT_TRUE(apply(sa).is_ok());
  ASSERT_EQ(::stat((root_ + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << "a state fix is not";
}

// Operations applied past the last barrier are remembered (not durably):
// after a dropped connection or a daemon crash the client replays them,
// and replaying a rename chain on a tree that moved on would fail. After a
// reboot (another boot id) the record is not trusted: a power cut may
// have lost the operations it describes.
class ProgressTest : public MirrorTest {
 protected:
  ApplierOptions options() const override {
    ApplierOptions o;
    o.boot_id = boot_;
    return o;
  }
  std::string boot_ = "boot-1";
};

TEST_F(ProgressTest, OperationsAppliedBeforeADaemonCrashAreNotReplayed) {
  ASSERT_TRUE(apply(op(Type::kMkdir, "a")).is_ok());              // seq 1
  ASSERT_TRUE(apply(op(Type::kRename, "a", "b")).is_ok());        // seq 2
  ASSERT_TRUE(apply(op(Type::kRename, "b", "c")).is_ok());        // seq 3
  reopen();  // the daemon died; no barrier was reached
  EXPECT_EQ(*applier_->applied_seq(kClient), 0u);  // durable: nothing
  // The client replays 1..3: all skipped, the tree stays as it was.
  seq_ = 0;
  EXPECT_TRUE(apply(op(Type::kMkdir, "a")).is_ok());
  EXPECT_TRUE(apply(op(Type::kRename, "a", "b")).is_ok());
  EXPECT_TRUE(apply(op(Type::kRename, "b", "c")).is_ok());
  EXPECT_EQ(list(), (std::vector<std::string>{"c"}));
  // A reboot: the record is ignored, operations are applied again.
  boot_ = "boot-2";
  reopen();
  seq_ = 0;
  EXPECT_TRUE(apply(op(Type::kMkdir, "a")).is_ok());
  EXPECT_EQ(list(), (std::vector<std::string>{"a", "c"}));
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

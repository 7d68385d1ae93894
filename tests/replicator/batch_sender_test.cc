// send_batch against a real mirror (run_server in this process, on
// 127.0.0.1) with hand-made plans, for what the kill tests guard only
// statistically: the plan is made from one catalog snapshot, but the
// sender reads BACKING live. When a planned path holds another inode by
// the time it is sent (renamed over since the snapshot), that other file
// must not reach the mirror under the name, and the batch must be
// acknowledged only below the first seq that needed it, so the next batch
// replays from there.
#include "replicator/batch_sender.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "db/schema.h"
#include "replicator/client_session.h"
#include "tests/replicator/in_process_serve.h"

namespace mirrorfs::replicator {
namespace {

namespace stdfs = std::filesystem;

class BatchSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(serve_.status().is_ok()) << serve_.status().to_string();
    base_ = serve_.base();
    stdfs::create_directory(base_ + "/backing");
    Result<std::unique_ptr<ClientSession>> s =
        serve_.connect(std::string(32, 'b'));
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    session_ = std::move(*s);

    Result<std::unique_ptr<db::Database>> db =
        db::open_state_db(base_ + "/client-state/state.db");
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    db_ = std::move(*db);
    Result<std::unique_ptr<db::MirrorState>> state =
        db::MirrorState::open(*db_);
    Result<std::unique_ptr<db::SignatureCache>> sigs =
        db::SignatureCache::open(*db_);
    ASSERT_TRUE(state.is_ok() && sigs.is_ok());
    state_ = std::move(*state);
    signatures_ = std::move(*sigs);
    Result<db::MirrorId> id = state_->add_mirror("m");
    ASSERT_TRUE(id.is_ok());
    mirror_ = *id;
    backing_fd_ = ::open((base_ + "/backing").c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(backing_fd_, 0);
  }

  void TearDown() override {
    session_.reset();
    if (backing_fd_ >= 0) ::close(backing_fd_);
  }

  BatchResult send(const Plan& plan) {
    BatchContext ctx;
    ctx.session = session_.get();
    ctx.state = state_.get();
    ctx.signatures = signatures_.get();
    ctx.mirror = mirror_;
    ctx.backing_dir_fd = backing_fd_;
    Result<BatchResult> r = send_batch(ctx, plan);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? std::move(*r) : BatchResult{};
  }

  static void write(const std::string& path, const std::string& data,
                    mode_t mode) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static struct stat lstat_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }
  // Puts another file (a new inode) at `path`, as an editor's save by
  // rename does after the plan's snapshot.
  static void replace_by_rename(const std::string& path,
                                const std::string& data, mode_t mode) {
    write(path + ".new", data, mode);
    ASSERT_EQ(::rename((path + ".new").c_str(), path.c_str()), 0);
  }

  std::string b(const std::string& rel) const {
    return base_ + "/backing/" + rel;
  }
  std::string m(const std::string& rel) const { return base_ + "/root/" + rel; }

  testing::InProcessServe serve_;  // removes base_ when it goes
  std::string base_;
  std::unique_ptr<ClientSession> session_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<db::MirrorState> state_;
  std::unique_ptr<db::SignatureCache> signatures_;
  db::MirrorId mirror_ = 0;
  int backing_fd_ = -1;
};

// The control: with BACKING as the plan saw it, the fix and the content
// go through and the whole batch is acknowledged (so the tests below fail
// for the inode check, not for the setup).
TEST_F(BatchSenderTest, UnchangedBackingIsSentAndAcknowledgedWhole) {
  write(b("f"), "attrs", 0640);
  write(m("f"), "attrs", 0644);
  write(b("g"), "content", 0600);
  Plan plan;
  plan.first_seq = 1;
  plan.last_seq = 10;
  plan.attrs.push_back(AttrFix{1, "f", false, 5, lstat_of(b("f")).st_ino});
  ContentJob job;
  job.file = 2;
  job.path = "g";
  job.first_seq = 3;
  job.last_seq = 6;
  job.created = true;
  job.catalog.backing_ino = lstat_of(b("g")).st_ino;
  plan.contents.push_back(job);
  const BatchResult r = send(plan);
  EXPECT_EQ(r.acked, 10u) << r.first_error;
  EXPECT_EQ(lstat_of(m("f")).st_mode & 07777, 0640u);
  EXPECT_EQ(read(m("g")), "content");
  EXPECT_EQ(r.files_sent, 1u);
}

TEST_F(BatchSenderTest,
       AttrFixOnAPathNowHoldingAnotherInodeIsNotAppliedNorAcked) {
  write(b("f"), "planned", 0640);
  write(m("f"), "planned", 0644);
  AttrFix fix{1, "f", false, 5, lstat_of(b("f")).st_ino};
  replace_by_rename(b("f"), "another file", 0604);
  ASSERT_NE(lstat_of(b("f")).st_ino, fix.backing_ino);
  Plan plan;
  plan.first_seq = 1;
  plan.last_seq = 10;
  plan.attrs.push_back(fix);
  const BatchResult r = send(plan);
  // The other file's mode is not the planned entry's: the mirror's file
  // keeps what it had, and the next batch replays from the fix's seq.
  EXPECT_EQ(lstat_of(m("f")).st_mode & 07777, 0644u);
  EXPECT_EQ(r.acked, fix.seq - 1);
}

TEST_F(BatchSenderTest, ContentOnAPathNowHoldingAnotherInodeIsNotSentNorAcked) {
  write(b("g"), "planned", 0600);
  ContentJob job;
  job.file = 2;
  job.path = "g";
  job.first_seq = 3;
  job.last_seq = 6;
  job.created = true;  // literal: no basis involved
  job.catalog.backing_ino = lstat_of(b("g")).st_ino;
  replace_by_rename(b("g"), "another file's content", 0600);
  ASSERT_NE(lstat_of(b("g")).st_ino, job.catalog.backing_ino);
  Plan plan;
  plan.first_seq = 1;
  plan.last_seq = 10;
  plan.contents.push_back(job);
  const BatchResult r = send(plan);
  EXPECT_FALSE(stdfs::exists(m("g"))) << "sent as g: " << read(m("g"));
  EXPECT_EQ(r.files_sent, 0u);
  EXPECT_TRUE(r.versions.empty());
  EXPECT_EQ(r.acked, job.first_seq - 1);
}

}  // namespace
}  // namespace mirrorfs::replicator

// The commit rendezvous (db/commit_request.h, fs/commit_server.h): entry
// operations are replied to before they are committed; a reader that
// asks the mount to commit then finds them all; fsync and fsyncdir still
// wait; a SIGKILL in between loses nothing the start-up scan cannot find.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "db/commit_request.h"
#include "db/schema.h"
#include "tests/fs/journal_replay.h"
#include "tests/fs/journal_rows.h"
#include "tests/fs/mount_fixture.h"

namespace mirrorfs::fs::testing {
namespace {

using Rows = std::vector<std::string>;

class CommitTest : public MountTest {
 protected:
  // A group commit bound no test outlives: rows appear only when
  // someone waits for them.
  void mount_lazy() { mount({"--commit-delay", "600000"}); }

  Rows committed_after(uint64_t after) {
    return rows_of(committed_rows(after));
  }
  static void put(const std::string& p, const std::string& data) {
    std::ofstream(p) << data;
  }
};

TEST_F(CommitTest, RequestWaitsForEntryOperationsRepliedBeforeCommit) {
  put(b("old"), "o");
  put(b("gone"), "g");
  mount_lazy();
  const uint64_t start = last_seq();
  put(m("new"), "data");  // create, write, close
  ASSERT_EQ(::mkdir(m("dir").c_str(), 0755), 0);
  ASSERT_EQ(::rename(m("old").c_str(), m("dir/old").c_str()), 0);
  ASSERT_EQ(::unlink(m("gone").c_str()), 0);
  ASSERT_EQ(::chmod(m("new").c_str(), 0600), 0);
  // Every call returned, and nothing is committed yet: nobody waited.
  EXPECT_EQ(committed_after(start), Rows{});

  auto r = db::request_commit(state_);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(r->attached);
  EXPECT_EQ(r->reply.status, db::CommitStatus::kCommitted);
  const Rows want{"create new", "dirty new",  "extent @0+4",
                  "mkdir dir",  "rename old>dir/old", "unlink gone",
                  "setattr new"};
  EXPECT_EQ(committed_after(start), want);
  EXPECT_EQ(r->reply.seq, committed_seq());
  EXPECT_EQ(r->reply.seq, start + want.size());
  // Nothing new: the same seq again, at once.
  auto again = db::request_commit(state_);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->reply.seq, r->reply.seq);
  EXPECT_EQ(unmount(), 0);
}

TEST_F(CommitTest, FsyncAndFsyncdirStillWaitForTheirCommit) {
  mount_lazy();
  const uint64_t start = last_seq();
  const int fd = ::open(m("f").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "abc", 3, 5), 3);
  ASSERT_EQ(::fsync(fd), 0);
  EXPECT_EQ(committed_after(start),
            (Rows{"create f", "dirty f", "extent @5+3"}));
  ::close(fd);
  const uint64_t mid = committed_seq();
  ASSERT_EQ(::mkdir(m("d").c_str(), 0755), 0);
  const int dfd = ::open(m().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dfd, 0);
  ASSERT_EQ(::fsync(dfd), 0);
  ::close(dfd);
  EXPECT_EQ(committed_after(mid), Rows{"mkdir d"});
  EXPECT_EQ(unmount(), 0);
}

TEST_F(CommitTest, NoMountMeansNothingToWaitFor) {
  auto none = db::request_commit(state_);  // no socket yet
  ASSERT_TRUE(none.is_ok()) << none.status().to_string();
  EXPECT_FALSE(none->attached);
  mount();
  struct stat st;
  ASSERT_EQ(::stat((state_ + "/mount.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  kill_daemon();  // leaves its socket behind, with nobody listening
  auto stale = db::request_commit(state_);
  ASSERT_TRUE(stale.is_ok()) << stale.status().to_string();
  EXPECT_FALSE(stale->attached);
  mount();  // replaces the stale socket
  auto live = db::request_commit(state_);
  ASSERT_TRUE(live.is_ok()) << live.status().to_string();
  EXPECT_TRUE(live->attached);
  EXPECT_EQ(unmount(), 0);
  EXPECT_NE(::stat((state_ + "/mount.sock").c_str(), &st), 0);  // removed
}

TEST_F(CommitTest, ASecondMountOnTheSameStateIsRefused) {
  mount();
  const std::string other = root_ + "/other";
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  const auto [status, out] =
      run_mirrorfs({"mount", backing_, other, "--state", state_, "-f"});
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("in use by a running mount"), std::string::npos) << out;
  EXPECT_EQ(unmount(), 0);
}

// Entry operations replied to but not committed when the mount dies: the
// start-up scan journals them, so replaying the journal on a copy of the
// tree as it was still rebuilds BACKING.
TEST_F(CommitTest, SigkillAfterRepliesLosesNothingTheScanCannotFind) {
  namespace stdfs = std::filesystem;
  put(b("ren"), "r");
  put(b("del"), "d");
  put(b("mod"), "m");
  ASSERT_EQ(::mkdir(b("sub").c_str(), 0755), 0);
  mount_lazy();
  const uint64_t start = last_seq();
  const std::string replica = root_ + "/replica";
  stdfs::copy(backing_, replica, stdfs::copy_options::recursive);
  put(m("new"), "fresh");
  ASSERT_EQ(::mkdir(m("sub/d2").c_str(), 0700), 0);
  ASSERT_EQ(::rename(m("ren").c_str(), m("sub/ren2").c_str()), 0);
  ASSERT_EQ(::unlink(m("del").c_str()), 0);
  ASSERT_EQ(::chmod(m("mod").c_str(), 0640), 0);
  ASSERT_EQ(::symlink("new", m("ln").c_str()), 0);
  ASSERT_EQ(committed_after(start), Rows{});  // all in flight
  kill_daemon();
  mount();
  const std::string e = replay_journal(journal_after(start), replica,
                                       backing_, state_ + "/state.db");
  EXPECT_EQ(e, "");
  EXPECT_EQ(compare_trees(replica, backing_), "");
  EXPECT_EQ(unmount(), 0);
}

}  // namespace
}  // namespace mirrorfs::fs::testing

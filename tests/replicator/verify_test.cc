// `mirrorfs verify [--repair]` end to end: a mount, serve on 127.0.0.1,
// replicate --once, then verify against what the mirror holds after it
// was changed behind the replicator's back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/fs/journal_replay.h"
#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::testing::compare_trees;

class VerifyTest : public ReplicationTest {
 protected:
  // A small tree in BACKING, mounted, served and replicated.
  void replicate_tree() {
    stdfs::create_directories(b("d/e"));
    put_file(b("d/e/f"), std::string(100000, 'f'));
    put_file(b("d/g"), "gee");
    put_file(b("top"), "top file");
    ASSERT_EQ(::symlink("d/g", b("ln").c_str()), 0);
    ASSERT_EQ(::link(b("d/g").c_str(), b("d/hard").c_str()), 0);
    mount();
    ASSERT_NO_FATAL_FAILURE(start_serve());
    auto [code, out] = replicate_once();
    ASSERT_EQ(code, 0) << out;
    ASSERT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  }

  // `mirrorfs verify` of the main mirror; its standard output, or with
  // `errors` its standard error too.
  std::pair<int, std::string> verify(const std::vector<std::string>& extra = {},
                                     bool errors = false, const std::string& state = "") {
    std::vector<std::string> args = {"verify",   "--state", state.empty() ? state_ : state,
                                     "--mirror", "m=127.0.0.1:" + std::to_string(port_),
                                     "--pin",    "m=" + mirror_fp_};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_mirrorfs(args, /*stdout_only=*/!errors);
  }

  // verify --repair succeeds, the mirror equals BACKING, and a verify
  // after it finds nothing.
  void repair_and_check() {
    auto [code, out] = verify({"--repair"}, /*errors=*/true);
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("after repair\n"), std::string::npos) << out;
    EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
    auto [again, aout] = verify();
    EXPECT_EQ(again, 0) << aout;
  }

  static bool has_line(const std::string& out, const std::string& line) {
    return ("\n" + out).find("\n" + line + "\n") != std::string::npos;
  }

  // Writes `data` over the start of `path` and puts its mtime back.
  static void rewrite_keeping_mtime(const std::string& path, const std::string& data) {
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    const int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    ASSERT_EQ(::close(fd), 0);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }
};

TEST_F(VerifyTest, AReplicatedTreeIsIdentical) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  auto [code, out] = verify();
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("summary  entries=7 source_hashed=100014 mirror_hashed=100014 "
                     "differences=0 pending=0"),
            std::string::npos)
      << out;
}

TEST_F(VerifyTest, FindsAFileChangedOnTheMirrorAndRepairsIt) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  // Same size, same mtime: only reading the file can see it.
  ASSERT_NO_FATAL_FAILURE(rewrite_keeping_mtime(mirror_ + "/d/e/f", "changed behind its back"));
  auto [code, out] = verify();
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(has_line(out, "content  d/e/f")) << out;
  EXPECT_NE(out.find("differences=1 "), std::string::npos) << out;

  repair_and_check();
}

TEST_F(VerifyTest, ExtraMissingAndModeAreReportedAndRepaired) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  stdfs::create_directories(mirror_ + "/junk/deeper");
  put_file(mirror_ + "/junk/deeper/x", "only on the mirror");
  ASSERT_EQ(::unlink((mirror_ + "/top").c_str()), 0);
  ASSERT_EQ(::chmod((mirror_ + "/d/e/f").c_str(), 0600), 0);
  auto [code, out] = verify();
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(has_line(out, "extra  junk")) << out;
  EXPECT_TRUE(has_line(out, "extra  junk/deeper/x")) << out;
  EXPECT_TRUE(has_line(out, "missing  top")) << out;
  EXPECT_TRUE(has_line(out, "mode  d/e/f")) << out;

  repair_and_check();
  EXPECT_FALSE(stdfs::exists(mirror_ + "/junk"));
}

TEST_F(VerifyTest, TypeTargetOwnerLinksAndAMissingDirectoryAreRepaired) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  ASSERT_EQ(::mkfifo(m("fifo").c_str(), 0640), 0);
  auto [rc, rout] = replicate_once();
  ASSERT_EQ(rc, 0) << rout;
  ASSERT_EQ(::unlink((mirror_ + "/fifo").c_str()), 0);
  ASSERT_EQ(::unlink((mirror_ + "/ln").c_str()), 0);
  ASSERT_EQ(::symlink("elsewhere", (mirror_ + "/ln").c_str()), 0);
  ASSERT_EQ(::unlink((mirror_ + "/d/g").c_str()), 0);  // d/hard loses its twin
  stdfs::create_directories(mirror_ + "/d/g/inside");
  stdfs::remove_all(mirror_ + "/d/e");
  ASSERT_EQ(::lchown((mirror_ + "/top").c_str(), 1234, 1234), 0);
  auto [code, out] = verify();
  EXPECT_EQ(code, 1) << out;
  for (const char* line : {"target  ln", "type  d/g", "extra  d/g/inside", "link  d/hard",
                           "missing  d/e", "missing  d/e/f", "owner  top", "missing  fifo"}) {
    EXPECT_TRUE(has_line(out, line)) << line << "\n" << out;
  }
  repair_and_check();
  struct stat st;
  ASSERT_EQ(::lstat((mirror_ + "/top").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

// With a replicate daemon connected to the mirror, verify still lists
// (a client identity of its own) and the daemon ships the repair.
TEST_F(VerifyTest, ARunningReplicatorShipsTheRepair) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  ASSERT_NO_FATAL_FAILURE(start_replicate());
  ASSERT_NO_FATAL_FAILURE(rewrite_keeping_mtime(mirror_ + "/top", "TOP"));
  auto [code, out] = verify();
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(has_line(out, "content  top")) << out;
  repair_and_check();
  EXPECT_EQ(stop_replicate(), 0);
}

TEST_F(VerifyTest, AChangeBehindTheMountIsFoundAndShipped) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  // Directly in BACKING while mounted: no journal row.
  put_file(b("d/g"), "GEE");
  auto [code, out] = verify();
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(has_line(out, "content  d/g")) << out;
  repair_and_check();
}

// A new name made in BACKING behind a running mount is not in its
// catalog, which the replicator plans from: found, and refused by repair
// with what to do (the mount's start-up scan records it).
TEST_F(VerifyTest, ANewFileBehindTheMountIsFoundButNeedsARemount) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  put_file(b("stranger"), "made in BACKING");
  auto [code, out] = verify();
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(has_line(out, "missing  stranger")) << out;
  auto [rcode, rout] = verify({"--repair"}, /*errors=*/true);
  EXPECT_EQ(rcode, 1) << rout;
  EXPECT_NE(rout.find("stranger is not in the mount's catalog"), std::string::npos) << rout;
  // After a remount the scan has journaled it: in flight, then shipped.
  ASSERT_EQ(unmount(), 0);
  mount();
  auto [again, aout] = verify();
  EXPECT_EQ(again, 0) << aout;
  EXPECT_TRUE(has_line(aout, "pending  stranger")) << aout;
  auto [rc, rout2] = replicate_once();
  ASSERT_EQ(rc, 0) << rout2;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
}

TEST_F(VerifyTest, AJournaledChangeInFlightIsPendingNotADifference) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  put_file(m("top"), "changed through the mount");
  auto [code, out] = verify();
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(has_line(out, "pending  top")) << out;
  EXPECT_NE(out.find("differences=0 pending=1"), std::string::npos) << out;
  auto [rc, rout] = replicate_once();
  ASSERT_EQ(rc, 0) << rout;
  auto [again, aout] = verify();
  EXPECT_EQ(again, 0) << aout;
  EXPECT_NE(aout.find("differences=0 pending=0"), std::string::npos) << aout;
}

TEST_F(VerifyTest, BadInputIsOneClearLine) {
  ASSERT_NO_FATAL_FAILURE(replicate_tree());
  {
    auto [code, out] = verify({"--mirror", "nosuch"}, /*errors=*/true);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("nosuch"), std::string::npos) << out;
  }
  {
    // A state directory no mount ever used.
    const std::string empty = root_ + "/empty-state";
    stdfs::create_directories(empty);
    auto [code, out] = verify({}, /*errors=*/true, empty);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("records no BACKING"), std::string::npos) << out;
  }
  {
    auto [code, out] = verify({"../outside"}, /*errors=*/true);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("'../outside' is not a relative path"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

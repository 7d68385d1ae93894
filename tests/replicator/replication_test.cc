// End-to-end replication (issue 5, point 1): a mount, serve on 127.0.0.1
// and replicate --once as real processes; the mirror must end identical
// to BACKING — content, type, mode, mtime to the nanosecond, symlink
// targets, hard-link groups, user xattrs and owners.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "tests/fs/journal_replay.h"
#include "tests/fs/random_workload.h"
#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

using fs::testing::compare_trees;

std::string random_text(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

// BACKING already holds a tree when first mounted: the start-up scan
// journals it and the first replicate sends all of it.
TEST_F(ReplicationTest, ExistingTreeIsReplicatedInFull) {
  namespace stdfs = std::filesystem;
  stdfs::create_directories(b("src/lib/deep"));
  put_file(b("src/a.c"), random_text(100000, 1));
  put_file(b("src/lib/deep/b.h"), "header\n");
  put_file(b("empty"), "");
  ASSERT_EQ(::symlink("src/a.c", b("link").c_str()), 0);
  ASSERT_EQ(::link(b("src/a.c").c_str(), b("src/lib/a-again.c").c_str()), 0);
  ASSERT_EQ(::setxattr(b("src/a.c").c_str(), "user.tag", "v1", 2, 0), 0);
  ASSERT_EQ(::chmod(b("src/lib/deep/b.h").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(b("fifo").c_str(), 0640), 0);
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [code, out] = replicate_once();
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  const std::string st = status_json();
  EXPECT_EQ(json_number(st, "acked_seq"), json_number(st, "journal_seq")) << st;
  EXPECT_EQ(json_number(st, "pending_operations"), 0u) << st;
}

// Seeded random operations of every kind through the mount, replicated
// in two rounds (the second against the versions and signatures the
// first left).
TEST_F(ReplicationTest, RandomOperationsConverge) {
  const unsigned seed = fs::testing::seed_from_env("MIRRORFS_REPLICATION_SEED");
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay: MIRRORFS_REPLICATION_SEED=" + std::to_string(seed) + ")");
  std::filesystem::create_directories(b("old/deep"));
  put_file(b("old/a"), random_text(10000, 2));
  put_file(b("top"), random_text(70000, 3));
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  fs::testing::WorkloadTree tree;
  tree.dirs = {"", "old", "old/deep"};
  tree.files = {"old/a", "top"};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    fs::testing::run_random_workload(m(), seed + round, 600, tree);
    auto [code, out] = replicate_once();
    ASSERT_EQ(code, 0) << out;
    ASSERT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  }
  const std::string st = status_json();
  EXPECT_EQ(json_number(st, "pending_operations"), 0u) << st;
  EXPECT_GT(json_number(st, "bytes_sent"), 0u) << st;
}

// A small change to a big file costs a delta, not the file.
TEST_F(ReplicationTest, AChangedFileIsSentAsADelta) {
  const size_t kSize = 8u << 20;
  put_file(b("big"), random_text(kSize, 4));
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [c1, o1] = replicate_once();
  ASSERT_EQ(c1, 0) << o1;
  const uint64_t sent_first = json_number(status_json(), "bytes_sent");
  EXPECT_GT(sent_first, kSize / 2);  // random letters: zstd saves ~40%

  const int fd = ::open(m("big").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  const std::string patch(4096, '#');
  ASSERT_EQ(::pwrite(fd, patch.data(), patch.size(), 3 << 20), 4096);
  ASSERT_EQ(::close(fd), 0);
  auto [c2, o2] = replicate_once();
  ASSERT_EQ(c2, 0) << o2;
  const std::string st = status_json();
  const uint64_t sent_second = json_number(st, "bytes_sent") - sent_first;
  EXPECT_LT(sent_second, 256u << 10) << st;  // the signature is cached
  EXPECT_GT(json_number(st, "bytes_saved"), kSize - (64u << 10)) << st;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
}

// Security: a mirror that does not know our key refuses us during the
// handshake; a mirror whose key is not the pinned one is refused by us.
// Either way nothing reaches the mirror's root.
TEST_F(ReplicationTest, UnknownKeysAreRefusedBeforeAnyOperation) {
  put_file(b("secret"), "data");
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve({"sha256:" + std::string(64, 'a')}));  // another key
  auto [c1, o1] = replicate_once();
  EXPECT_NE(c1, 0) << o1;
  EXPECT_TRUE(std::filesystem::is_empty(mirror_)) << o1;
  stop_serve();

  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [c2, o2] = replicate_once("sha256:" + std::string(64, 'b'));
  EXPECT_NE(c2, 0) << o2;
  EXPECT_NE(o2.find("sha256:" + std::string(64, 'b')), std::string::npos) << o2;
  EXPECT_TRUE(std::filesystem::is_empty(mirror_)) << o2;
  // The status says why.
  const std::string st = status_json();
  EXPECT_EQ(json_number(st, "acked_seq"), 0u) << st;
  EXPECT_EQ(st.find("\"last_error\":null"), std::string::npos) << st;
}

// Replicate is told about a mirror that is not there: --once gives up
// with a clear message naming it, and the journal keeps everything.
TEST_F(ReplicationTest, AMirrorThatIsAwayFailsOnceClearly) {
  put_file(b("f"), "x");
  mount();
  port_ = 1;  // nothing listens on port 1
  auto [code, out] = replicate_once();
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("mirror m"), std::string::npos) << out;
  const std::string st = status_json();
  EXPECT_GT(json_number(st, "pending_operations"), 0u) << st;
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

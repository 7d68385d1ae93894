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

// A batch that changes more files than one window of content updates
// (256) is sent in several windows, the first sync and a later one alike.
TEST_F(ReplicationTest, ManyFilesAreSentInWindows) {
  for (int i = 0; i < 700; ++i) {
    std::filesystem::create_directories(b("d" + std::to_string(i % 7)));
    put_file(b("d" + std::to_string(i % 7) + "/f" + std::to_string(i)),
               random_text(100 + static_cast<size_t>(i) * 37, static_cast<unsigned>(i)));
  }
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [c1, o1] = replicate_once();
  ASSERT_EQ(c1, 0) << o1;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  for (int i = 0; i < 700; i += 2) {
    const std::string p = m("d" + std::to_string(i % 7) + "/f" + std::to_string(i));
    const int fd = ::open(p.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0) << p;
    ASSERT_EQ(::write(fd, "more\n", 5), 5);
    ASSERT_EQ(::close(fd), 0);
  }
  auto [c2, o2] = replicate_once();
  ASSERT_EQ(c2, 0) << o2;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
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

// Writes through the mount are shipped as exactly the bytes written (the
// dirty-range path): the journal's extents are the literals, everything
// else is COPYed, round after round (each round builds on the leaves and
// signature the previous one derived without a full read). A rolling
// delta would send whole signature blocks instead, so bytes_saved tells
// the two apart to the byte.
TEST_F(ReplicationTest, WritesThroughTheMountShipOnlyTheBytesWritten) {
  const size_t kSize = 8u << 20;
  put_file(b("img"), random_text(kSize, 5));
  ASSERT_EQ(::link(b("img").c_str(), b("img.link").c_str()), 0);
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [c0, o0] = replicate_once();
  ASSERT_EQ(c0, 0) << o0;
  uint64_t saved = json_number(status_json(), "bytes_saved");
  uint64_t size = kSize;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int fd = ::open(m("img").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::string patch(1000, static_cast<char>('a' + round));
    uint64_t written = 0;
    for (uint64_t off : {uint64_t{12345}, uint64_t{(3u << 20) + 77 * static_cast<unsigned>(round)},
                         uint64_t{size - 500}}) {
      ASSERT_EQ(::pwrite(fd, patch.data(), patch.size(), static_cast<off_t>(off)), 1000);
      written += 1000;
    }
    size += 500;  // the last write ran 500 bytes past the end
    ASSERT_EQ(::close(fd), 0);
    auto [c, o] = replicate_once();
    ASSERT_EQ(c, 0) << o;
    const uint64_t now = json_number(status_json(), "bytes_saved");
    EXPECT_EQ(now - saved, size - written) << "not shipped as the bytes written";
    saved = now;
    EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  }
  struct stat a, l;
  ASSERT_EQ(::stat((mirror_ + "/img").c_str(), &a), 0);
  ASSERT_EQ(::stat((mirror_ + "/img.link").c_str(), &l), 0);
  EXPECT_EQ(a.st_ino, l.st_ino) << "the hard link was broken on the mirror";
}

// A large file changed in a few places is updated in place on the mirror
// (same inode, only the changed ranges written, through the undo log), and
// ends identical.
TEST_F(ReplicationTest, LargeFilesChangedInFewPlacesAreUpdatedInPlace) {
  const size_t kSize = 6u << 20;
  put_file(b("vm.img"), random_text(kSize, 6));
  mount();
  serve_args_ = {"--in-place-min", "1M"};
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [c0, o0] = replicate_once();
  ASSERT_EQ(c0, 0) << o0;
  struct stat before;
  ASSERT_EQ(::stat((mirror_ + "/vm.img").c_str(), &before), 0);
  const int fd = ::open(m("vm.img").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  for (off_t off : {off_t{4096}, off_t{3 << 20}, off_t{kSize - 100}}) {
    ASSERT_EQ(::pwrite(fd, "in place!", 9, off), 9);
  }
  ASSERT_EQ(::ftruncate(fd, kSize + 5000), 0);
  ASSERT_EQ(::close(fd), 0);
  auto [c1, o1] = replicate_once();
  ASSERT_EQ(c1, 0) << o1;
  struct stat after;
  ASSERT_EQ(::stat((mirror_ + "/vm.img").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "rebuilt in a temporary, not updated in place";
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  // Nothing of the undo log is left behind.
  for (const auto& e : std::filesystem::recursive_directory_iterator(mirror_state_)) {
    EXPECT_EQ(e.path().filename().string().find("undo"), std::string::npos) << e.path();
  }
}

// Editors save by writing a new file and renaming it over the old one
// (or by unlink + create): the mirror's copy of the file it replaced is
// the basis, so only the edit crosses the wire, not the whole file.
TEST_F(ReplicationTest, SaveByRenameIsSentAsADeltaAgainstTheReplacedFile) {
  const size_t kSize = 2u << 20;
  std::string text = random_text(kSize, 8);
  put_file(b("notes.txt"), text);
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [c0, o0] = replicate_once();
  ASSERT_EQ(c0, 0) << o0;
  for (const bool by_rename : {true, false}) {
    SCOPED_TRACE(by_rename ? "rename over" : "unlink + create");
    const uint64_t sent_before = json_number(status_json(), "bytes_sent");
    text.insert(kSize / 3, "a line the editor added\n");
    text.replace(kSize / 2, 10, "EDITED....");
    if (by_rename) {
      put_file(m("notes.txt.swp"), text);
      ASSERT_EQ(::rename(m("notes.txt.swp").c_str(), m("notes.txt").c_str()), 0);
    } else {
      ASSERT_EQ(::unlink(m("notes.txt").c_str()), 0);
      put_file(m("notes.txt"), text);
    }
    auto [c, o] = replicate_once();
    ASSERT_EQ(c, 0) << o;
    const uint64_t sent = json_number(status_json(), "bytes_sent") - sent_before;
    EXPECT_LT(sent, kSize / 20) << "the whole file was sent again";
    EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  }
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

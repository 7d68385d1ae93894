// Seeding (issue 5, point 4): a mirror root pre-filled with an older copy
// of the tree (restored from tape, an earlier rsync) gets deltas against
// its own files on first sync, not the files, and ends identical to the
// source — what it holds that the source does not is removed.
//
// The tree is a few tens of MiB by default; MIRRORFS_SEEDING_MIB=1024
// runs the same test at 1 GiB (by hand: it takes minutes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "tests/fs/journal_replay.h"
#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::testing::compare_trees;

void overwrite(const std::string& p, off_t at, const std::string& data) {
  const int fd = ::open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << p;
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), at), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::close(fd), 0);
}

std::string slurp(const std::string& p) {
  std::string s(stdfs::file_size(p), '\0');
  const int fd = ::open(p.c_str(), O_RDONLY);
  EXPECT_EQ(::read(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  ::close(fd);
  return s;
}

uint64_t tree_bytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && !e.is_symlink()) total += e.file_size();
  }
  return total;
}

TEST_F(ReplicationTest, APrefilledMirrorIsSeededByDeltas) {
  const char* env = std::getenv("MIRRORFS_SEEDING_MIB");
  const uint64_t mib = env ? std::strtoull(env, nullptr, 10) : 24;
  std::mt19937_64 rng(20240607);
  // The old tree: half the bytes in a few big files, 40% in medium ones,
  // 10% in many small ones, over nested directories. What a file the
  // mirror holds costs is mostly its signature (rdiff's format: 36 bytes
  // per block of about sqrt(size), at least 256 bytes), so about 14% of
  // a 25 KiB file but 2% of a 3 MiB one: with a quarter of the bytes in
  // 25 KiB files this tree costs 11.5%.
  const uint64_t total = mib << 20;
  std::vector<std::string> files;
  auto make = [&](const std::string& dir, int count, uint64_t each) {
    stdfs::create_directories(b(dir));
    for (int i = 0; i < count; ++i) {
      const std::string rel = dir + "/f" + std::to_string(i);
      put_file(b(rel), random_bytes(each + rng() % (each / 4 + 1), rng));
      files.push_back(rel);
    }
  };
  make("big", 4, total / 2 / 4 * 4 / 5);
  make("mid/a", 16, total * 2 / 5 / 32 * 4 / 5);
  make("mid/b", 16, total * 2 / 5 / 32 * 4 / 5);
  for (int d = 0; d < 8; ++d) make("small/d" + std::to_string(d), 25, total / 10 / 200 * 4 / 5);
  ASSERT_EQ(::symlink("../big/f0", b("mid/link").c_str()), 0);
  ASSERT_EQ(::symlink("old-target", b("small/moving-link").c_str()), 0);
  ASSERT_EQ(::link(b("mid/a/f0").c_str(), b("mid/hard").c_str()), 0);
  stdfs::create_directories(b("gone/deep"));
  put_file(b("gone/deep/x"), random_bytes(5000, rng));

  // The mirror: that copy, restored from tape, plus what the source will
  // never have had (an old build tree, a stray file, a file where the
  // source now has a directory).
  stdfs::copy(b(), mirror_, stdfs::copy_options::recursive | stdfs::copy_options::copy_symlinks);
  stdfs::create_directories(mirror_ + "/extra/build/obj");
  put_file(mirror_ + "/extra/build/obj/a.o", random_bytes(20000, rng));
  ASSERT_EQ(::symlink("/etc/passwd", (mirror_ + "/extra/build/evil").c_str()), 0);
  put_file(mirror_ + "/small/d3/stray", "stray");
  put_file(mirror_ + "/newdir", "a file where the source will have a directory");

  // The source moves on: edits in place, an insertion, an append, a
  // truncation, renames, deletions, new files, a changed symlink.
  overwrite(b("big/f0"), 1 << 20, random_bytes(4096, rng));
  overwrite(b("big/f1"), 3 << 10, random_bytes(100, rng));
  {
    std::string s = slurp(b("big/f2"));
    s.insert(s.size() / 3, random_bytes(10000, rng));
    put_file(b("big/f2"), s);
  }
  for (int i = 0; i < 32; i += 5) {
    overwrite(b(files[4 + i]), 1000, random_bytes(300, rng));
  }
  {
    std::string s = slurp(b("mid/b/f3"));
    put_file(b("mid/b/f3"), s + random_bytes(2000, rng));
    ASSERT_EQ(::truncate(b("mid/b/f4").c_str(), 1000), 0);
  }
  ASSERT_EQ(::rename(b("small/d0/f1").c_str(), b("small/d1/renamed").c_str()), 0);
  ASSERT_EQ(::rename(b("small/d2").c_str(), b("small/d2-renamed").c_str()), 0);
  ASSERT_EQ(::unlink(b("small/d4/f7").c_str()), 0);
  stdfs::remove_all(b("gone"));
  stdfs::create_directories(b("newdir/inner"));
  put_file(b("newdir/inner/new"), random_bytes(total / 100, rng));
  put_file(b("small/d5/new"), random_bytes(3000, rng));
  ASSERT_EQ(::unlink(b("small/moving-link").c_str()), 0);
  ASSERT_EQ(::symlink("new-target", b("small/moving-link").c_str()), 0);

  const uint64_t bytes = tree_bytes(b());
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [code, out] = replicate_once();
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  EXPECT_FALSE(stdfs::exists(mirror_ + "/extra"));
  EXPECT_FALSE(stdfs::exists(mirror_ + "/small/d3/stray"));

  const std::string st = status_json();
  const uint64_t sent = json_number(st, "bytes_sent");
  std::printf("seeding: tree %llu bytes, %llu bytes on the wire (%.2f%%)\n",
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(sent),
              100.0 * static_cast<double>(sent) / static_cast<double>(bytes));
  EXPECT_LT(sent, bytes / 10) << st;
  EXPECT_GT(json_number(st, "bytes_saved"), bytes / 2) << st;
  EXPECT_EQ(json_number(st, "pending_operations"), 0u) << st;

  // And it goes on from there as any mirror: a change is a delta.
  overwrite(m("big/f3"), 5000, "changed through the mount");
  auto [code2, out2] = replicate_once();
  ASSERT_EQ(code2, 0) << out2;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
}

// The same first sync to an empty mirror sends the tree in full and
// lists nothing to remove: seeding is only a saving.
TEST_F(ReplicationTest, AnEmptyMirrorStillGetsEverything) {
  std::mt19937_64 rng(7);
  stdfs::create_directories(b("d/e"));
  put_file(b("d/e/f"), random_bytes(300000, rng));
  put_file(b("g"), random_bytes(1000, rng));
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [code, out] = replicate_once();
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  EXPECT_GT(json_number(status_json(), "bytes_sent"), 301000u);
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

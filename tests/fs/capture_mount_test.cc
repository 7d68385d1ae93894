// Change capture is complete: after a random workload through the mount
// (one thread, then many), replaying the journal on a copy of the tree as
// it was before gives a tree identical to BACKING (issue 4, point 3); and
// concurrent writers to their own files and to one shared file lose no
// data (point 2, concurrency).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/journal_replay.h"
#include "tests/fs/mount_fixture.h"
#include "tests/fs/random_workload.h"

namespace mirrorfs::fs::testing {
namespace {

class CaptureTest : public MountTest {
 protected:
  // BACKING gets a small tree; the replica starts as its copy.
  void make_initial_tree() {
    namespace stdfs = std::filesystem;
    stdfs::create_directories(b("old/deep"));
    write_file(b("old/a"), std::string(10000, 'a'));
    write_file(b("old/deep/b"), "bbb");
    write_file(b("top"), std::string(70000, 't'));
    replica_ = root_ + "/replica";
    stdfs::copy(backing_, replica_, stdfs::copy_options::recursive);
  }
  static void write_file(const std::string& p, const std::string& data) {
    const int fd = ::open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << p;
    ASSERT_EQ(::write(fd, data.data(), data.size()),
              static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  void replay_and_compare(uint64_t after) {
    const std::string e = replay_journal(journal_after(after), replica_,
                                         backing_, state_ + "/state.db");
    ASSERT_EQ(e, "");
    EXPECT_EQ(compare_trees(replica_, backing_), "");
  }
  std::string replica_;
};

// One thread, a few thousand random operations of every kind that
// changes something.
TEST_F(CaptureTest, ReplayingTheJournalRebuildsTheTree) {
  make_initial_tree();
  mount();
  const uint64_t start = last_seq();
  const unsigned seed = seed_from_env("MIRRORFS_CAPTURE_SEED");
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay: MIRRORFS_CAPTURE_SEED=" + std::to_string(seed) + ")");
  WorkloadTree tree;
  tree.dirs = {"", "old", "old/deep"};
  tree.files = {"old/a", "old/deep/b", "top"};
  run_random_workload(m(), seed, 3000, tree);
  ASSERT_EQ(unmount(), 0);
  replay_and_compare(start);
}

// Eight threads: each writes its own file and its own stripes of one
// shared file, with closes and truncates in between.
TEST_F(CaptureTest, ConcurrentWritersLoseNothing) {
  make_initial_tree();
  mount();
  const uint64_t start = last_seq();
  const unsigned seed = seed_from_env("MIRRORFS_CAPTURE_SEED");
  SCOPED_TRACE("seed " + std::to_string(seed));
  constexpr int kThreads = 8;
  constexpr size_t kStripe = 4096;
  constexpr int kStripesEach = 64;
  {
    const int fd = ::open(m("shared").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  std::vector<std::string> expect_own(kThreads);
  std::string expect_shared(kThreads * kStripe * kStripesEach, '\0');
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(seed + t);
      const std::string own = m("own" + std::to_string(t));
      std::string model;
      const int shared = ::open(m("shared").c_str(), O_WRONLY);
      for (int i = 0; i < 200; ++i) {
        // Own file: a random write, sometimes a truncate, reopened often.
        const int fd = ::open(own.c_str(), O_CREAT | O_WRONLY, 0644);
        const size_t off = rng() % 50000, len = 1 + rng() % 8000;
        std::string data(len, static_cast<char>('a' + rng() % 26));
        (void)!::pwrite(fd, data.data(), len, static_cast<off_t>(off));
        if (model.size() < off + len) model.resize(off + len, '\0');
        model.replace(off, len, data);
        if (rng() % 10 == 0) {
          const size_t to = rng() % 60000;
          (void)!::ftruncate(fd, static_cast<off_t>(to));
          model.resize(to, '\0');
        }
        ::close(fd);
        // Shared file: one of this thread's stripes (stripe s of thread t
        // is at (s * kThreads + t) * kStripe).
        const size_t s = rng() % kStripesEach;
        const size_t at = (s * kThreads + t) * kStripe;
        std::string stripe(kStripe, static_cast<char>('A' + rng() % 26));
        (void)!::pwrite(shared, stripe.data(), kStripe, static_cast<off_t>(at));
        expect_shared.replace(at, kStripe, stripe);  // disjoint: no race
        if (i % 50 == 0) ::fsync(shared);
      }
      ::close(shared);
      expect_own[t] = model;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    std::string got;
    ASSERT_TRUE(std::filesystem::exists(m("own" + std::to_string(t))));
    FILE* f = std::fopen(m("own" + std::to_string(t)).c_str(), "rb");
    got.resize(expect_own[t].size() + 1);
    got.resize(std::fread(got.data(), 1, got.size(), f));
    std::fclose(f);
    EXPECT_EQ(got, expect_own[t]) << "own" << t;
  }
  {
    std::string got(expect_shared.size() + 1, '\0');
    FILE* f = std::fopen(m("shared").c_str(), "rb");
    got.resize(std::fread(got.data(), 1, got.size(), f));
    std::fclose(f);
    // Stripes never written stay zero; the file ends at the last stripe
    // written, so compare the common prefix and the zero tail.
    ASSERT_LE(got.size(), expect_shared.size());
    EXPECT_TRUE(got == expect_shared.substr(0, got.size()));
    EXPECT_EQ(expect_shared.find_first_not_of('\0', got.size()),
              std::string::npos);
  }
  ASSERT_EQ(unmount(), 0);
  replay_and_compare(start);
}

}  // namespace
}  // namespace mirrorfs::fs::testing

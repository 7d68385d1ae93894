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

namespace mirrorfs::fs::testing {
namespace {

unsigned seed_from_env() {
  const char* s = std::getenv("MIRRORFS_CAPTURE_SEED");
  return s ? static_cast<unsigned>(std::strtoul(s, nullptr, 10))
           : std::random_device{}();
}

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
  const unsigned seed = seed_from_env();
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay: MIRRORFS_CAPTURE_SEED=" + std::to_string(seed) + ")");
  std::mt19937 rng(seed);
  auto pick = [&](const std::vector<std::string>& v) {
    return v[rng() % v.size()];
  };
  std::vector<std::string> dirs = {"", "old", "old/deep"};
  std::vector<std::string> files = {"old/a", "old/deep/b", "top"};
  auto fresh = [&](const std::string& dir) {
    return (dir.empty() ? "" : dir + "/") + "n" + std::to_string(rng() % 1000);
  };
  auto forget_under = [&](const std::string& d) {  // after a dir rename
    auto gone = [&](const std::string& p) {
      return p == d || p.rfind(d + "/", 0) == 0;
    };
    std::erase_if(files, gone);
    std::erase_if(dirs, gone);
  };
  std::string buf(70000, '\0');
  for (int i = 0; i < 3000; ++i) {
    for (char& c : buf) c = static_cast<char>('A' + rng() % 26);
    const int op = static_cast<int>(rng() % 12);
    if (files.empty() && op > 1) continue;
    const std::string f = files.empty() ? "" : pick(files);
    switch (op) {
      case 0: {  // create and write
        const std::string p = fresh(pick(dirs));
        const int fd = ::open(m(p).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) break;
        (void)!::write(fd, buf.data(), rng() % 20000);
        ::close(fd);
        files.push_back(p);
        break;
      }
      case 1: {  // mkdir
        const std::string p = fresh(pick(dirs));
        if (::mkdir(m(p).c_str(), 0755) == 0) dirs.push_back(p);
        break;
      }
      case 2:
      case 3: {  // scattered writes, some past the end
        const int fd = ::open(m(f).c_str(), O_WRONLY);
        if (fd < 0) break;
        for (int w = 0; w < 3; ++w) {
          (void)!::pwrite(fd, buf.data(), 1 + rng() % 5000, rng() % 80000);
        }
        ::close(fd);
        break;
      }
      case 4:  // truncate
        (void)::truncate(m(f).c_str(), rng() % 60000);
        break;
      case 5: {  // rename a file, maybe over another
        const std::string to =
            rng() % 3 == 0 ? pick(files) : fresh(pick(dirs));
        if (to != f && ::rename(m(f).c_str(), m(to).c_str()) == 0) {
          std::erase(files, f);
          std::erase(files, to);
          files.push_back(to);
        }
        break;
      }
      case 6: {  // rename a directory (never into itself: EINVAL is fine)
        const std::string d = pick(dirs);
        if (d.empty()) break;
        const std::string to = fresh(pick(dirs));
        if (::rename(m(d).c_str(), m(to).c_str()) == 0) {
          forget_under(d);
          // Re-learn what moved by listing it in the mount.
          for (auto& e : std::filesystem::recursive_directory_iterator(m(to))) {
            // (not std::filesystem::relative: it resolves symlinks, and
            // a random symlink may loop)
            const std::string rel = e.path().string().substr(m().size() + 1);
            const auto type = e.symlink_status().type();
            if (type == std::filesystem::file_type::directory) {
              dirs.push_back(rel);
            } else if (type == std::filesystem::file_type::regular) {
              files.push_back(rel);
            }
          }
          dirs.push_back(to);
        }
        break;
      }
      case 7:  // unlink
        if (::unlink(m(f).c_str()) == 0) std::erase(files, f);
        break;
      case 8: {  // rmdir (fails unless empty)
        const std::string d = pick(dirs);
        if (!d.empty() && ::rmdir(m(d).c_str()) == 0) std::erase(dirs, d);
        break;
      }
      case 9: {  // hard link or symlink
        const std::string p = fresh(pick(dirs));
        if (rng() % 2) {
          if (::link(m(f).c_str(), m(p).c_str()) == 0) files.push_back(p);
        } else {
          (void)::symlink(f.c_str(), m(p).c_str());
        }
        break;
      }
      case 10:  // chmod
        (void)::chmod(m(f).c_str(), rng() % 2 ? 0600 : 0664);
        break;
      case 11:  // xattr
        if (rng() % 3) {
          (void)::setxattr(m(f).c_str(), "user.v", buf.data(), rng() % 50, 0);
        } else {
          (void)::removexattr(m(f).c_str(), "user.v");
        }
        break;
    }
  }
  ASSERT_EQ(unmount(), 0);
  replay_and_compare(start);
}

// Eight threads: each writes its own file and its own stripes of one
// shared file, with closes and truncates in between.
TEST_F(CaptureTest, ConcurrentWritersLoseNothing) {
  make_initial_tree();
  mount();
  const uint64_t start = last_seq();
  const unsigned seed = seed_from_env();
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

// The daemon's descriptors stay bounded however many inodes the kernel
// keeps looked up (fs/inode_table.h, fs/fd_cache.h): a find + stat over
// 60,000 files, three times the hard open-file limit of the machines we
// test on, with the default cache and with a cache of 64 under four
// concurrent walkers and a low RLIMIT_NOFILE; the fallback without
// CAP_DAC_READ_SEARCH; and what a stale handle answers.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace mirrorfs::fs::testing {
namespace {

constexpr int kDirs = 6;
constexpr int kPerDir = 10000;
constexpr size_t kEntries = kDirs + size_t{kDirs} * kPerDir;
// Descriptors the daemon holds besides its cache: stdio, /dev/fuse, the
// database, the root and mount descriptors, and what requests in flight
// pin (a few per FUSE thread).
constexpr size_t kOtherFds = 64;

std::string file_name(int d, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "d%d/f%05d", d, i);
  return buf;
}

// Every 1000th file holds its own name; the others are empty.
bool has_content(int i) { return i % 1000 == 7; }

// Makes the tree natively in `root` (fast: no FUSE in the way).
void make_tree(const std::string& root, int dirs, int per_dir) {
  for (int d = 0; d < dirs; ++d) {
    ASSERT_EQ(::mkdir((root + "/d" + std::to_string(d)).c_str(), 0755), 0);
    for (int i = 0; i < per_dir; ++i) {
      const std::string name = file_name(d, i);
      const int fd = ::open((root + "/" + name).c_str(),
                            O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      ASSERT_GE(fd, 0) << name << ": " << std::strerror(errno);
      if (has_content(i)) {
        ASSERT_EQ(::write(fd, name.data(), name.size()),
                  static_cast<ssize_t>(name.size()));
      }
      ::close(fd);
    }
  }
}

size_t open_fds(pid_t pid) {
  std::error_code ec;
  size_t n = 0;
  for (std::filesystem::directory_iterator it(
           "/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Walk {
  size_t entries = 0;
  size_t errors = 0;
  std::string first_error;
  void error(const std::string& what, int err) {
    if (errors++ == 0) first_error = what + ": " + std::strerror(err);
  }
};

// `find ROOT -exec stat`: lstat() of every entry below root. The top
// directories are taken in name order rotated by `rotate`, so concurrent
// walkers work on different parts of the tree and cross each other.
Walk walk(const std::string& root, int rotate) {
  Walk w;
  std::vector<std::string> top;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(root, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    top.push_back(it->path().string());
  }
  if (ec) w.error("list " + root, ec.value());
  std::sort(top.begin(), top.end());
  if (!top.empty()) {
    std::rotate(top.begin(), top.begin() + rotate % top.size(), top.end());
  }
  struct stat st;
  for (const std::string& t : top) {
    ++w.entries;
    if (::lstat(t.c_str(), &st) != 0) {
      w.error(t, errno);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) continue;
    using It = std::filesystem::recursive_directory_iterator;
    for (It it(t, ec); !ec && it != It(); it.increment(ec)) {
      ++w.entries;
      if (::lstat(it->path().c_str(), &st) != 0) {
        w.error(it->path().string(), errno);
      }
    }
    if (ec) w.error("walk " + t, ec.value());
  }
  return w;
}

class FdCacheTest : public MountTest {
 protected:
  int timeout() const override { return 540; }  // ctest's limit: 600

  void expect_contents(int step) {
    for (int d = 0; d < kDirs; ++d) {
      for (int i = 7; i < kPerDir; i += step) {
        const std::string name = file_name(d, i);
        EXPECT_EQ(slurp(m(name)), has_content(i) ? name : "") << name;
      }
    }
  }
};

// The figure of the issue: find + stat over a tree larger than the
// open-file limit failed with EMFILE once the kernel held ~20,000 inodes.
TEST_F(FdCacheTest, FindAndStatOverSixtyThousandFiles) {
  ASSERT_NO_FATAL_FAILURE(make_tree(b(), kDirs, kPerDir));
  ASSERT_NO_FATAL_FAILURE(mount());
  EXPECT_NE(daemon_log().find("inodes reached by file handle"),
            std::string::npos)
      << daemon_log();
  struct rlimit rl;
  ASSERT_EQ(::prlimit(daemon_pid(), RLIMIT_NOFILE, nullptr, &rl), 0);
  EXPECT_LT(rl.rlim_cur, kEntries) << "the tree must exceed the fd limit";

  const Walk w = walk(m(), 0);
  EXPECT_EQ(w.errors, 0u) << w.first_error;
  EXPECT_EQ(w.entries, kEntries);
  expect_contents(1000);
  const size_t fds = open_fds(daemon_pid());
  std::fprintf(stderr, "daemon descriptors after the walk: %zu\n", fds);
  EXPECT_LE(fds, 4096 + kOtherFds);
  EXPECT_EQ(unmount(), 0);
}

// A cache of 64 and a daemon limited to 256 descriptors, four walkers at
// once: the LRU closes and reopens all the time, and nothing fails. An
// unlinked file held open and a hard link keep working meanwhile.
TEST_F(FdCacheTest, SmallCacheUnderPressureWithConcurrentWalkers) {
  ASSERT_NO_FATAL_FAILURE(make_tree(b(), kDirs, kPerDir));
  ASSERT_EQ(::link(b("d0/f00007").c_str(), b("d5/link").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(mount({"--fd-cache", "64"}));
  const struct rlimit low = {256, 256};
  ASSERT_EQ(::prlimit(daemon_pid(), RLIMIT_NOFILE, &low, nullptr), 0)
      << std::strerror(errno);

  const int held = ::open(m("held").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(held, 0) << std::strerror(errno);
  ASSERT_EQ(::write(held, "still here", 10), 10);
  ASSERT_EQ(::unlink(m("held").c_str()), 0);

  constexpr int kWalkers = 4;
  std::vector<Walk> walks(kWalkers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kWalkers; ++t) {
    threads.emplace_back([&, t] { walks[t] = walk(m(), t * 2); });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kWalkers; ++t) {
    EXPECT_EQ(walks[t].errors, 0u)
        << "walker " << t << ": " << walks[t].first_error;
    EXPECT_EQ(walks[t].entries, kEntries + 1) << "walker " << t;  // + link
  }
  expect_contents(3000);

  // The unlinked file, its descriptor evicted long ago but for its pin.
  struct stat st;
  ASSERT_EQ(::fstat(held, &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 10);
  EXPECT_EQ(::fchmod(held, 0600), 0) << std::strerror(errno);
  char buf[16] = {};
  EXPECT_EQ(::pread(held, buf, sizeof buf, 0), 10);
  EXPECT_STREQ(buf, "still here");
  EXPECT_EQ(::close(held), 0);
  // One inode behind both names of the hard link.
  struct stat a, l;
  ASSERT_EQ(::stat(m("d0/f00007").c_str(), &a), 0);
  ASSERT_EQ(::stat(m("d5/link").c_str(), &l), 0);
  EXPECT_EQ(a.st_ino, l.st_ino);
  EXPECT_EQ(l.st_nlink, 2u);
  ASSERT_EQ(::chmod(m("d5/link").c_str(), 0640), 0);
  ASSERT_EQ(::stat(m("d0/f00007").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 0640u);

  const size_t fds = open_fds(daemon_pid());
  std::fprintf(stderr, "daemon descriptors after the walks: %zu\n", fds);
  EXPECT_LE(fds, 64 + kOtherFds);
  EXPECT_EQ(unmount(), 0);
  // The cache really was under pressure: it closed and reopened.
  const std::string log = daemon_log();
  unsigned long long hits = 0, reopened = 0, closed = 0;
  const size_t at = log.find("descriptor cache: ");
  ASSERT_NE(at, std::string::npos) << log;
  ASSERT_EQ(std::sscanf(log.c_str() + at,
                        "descriptor cache: %llu hits, %llu reopened by "
                        "handle, %llu closed",
                        &hits, &reopened, &closed),
            3)
      << log.substr(at);
  std::fprintf(stderr, "%s",
               log.substr(at, log.find('\n', at) - at + 1).c_str());
  EXPECT_GT(reopened, 0u);
  EXPECT_GT(closed, kEntries / 2);
}

// A daemon whose open-file limit drops below its cache size (here 128
// against 4096) runs out of descriptors: it then empties its cache and
// tries again, and the walk does not notice.
TEST_F(FdCacheTest, ShedsTheCacheWhenOutOfDescriptors) {
  ASSERT_NO_FATAL_FAILURE(make_tree(b(), 2, 1000));
  ASSERT_NO_FATAL_FAILURE(mount());
  const struct rlimit low = {128, 128};
  ASSERT_EQ(::prlimit(daemon_pid(), RLIMIT_NOFILE, &low, nullptr), 0)
      << std::strerror(errno);
  const Walk w = walk(m(), 0);
  EXPECT_EQ(w.errors, 0u) << w.first_error;
  EXPECT_EQ(w.entries, 2 + 2 * 1000u);
  EXPECT_LE(open_fds(daemon_pid()), 128u);
  EXPECT_EQ(unmount(), 0);
  // Nothing is evicted below capacity: what was closed, was shed.
  const std::string log = daemon_log();
  EXPECT_EQ(log.find("reopened by handle, 0 closed"), std::string::npos) << log;
}

// A file deleted behind the mount while the kernel still knows it: once
// its descriptor left the cache its handle is stale, and the daemon says
// ENOENT (as a lookup of the name would), never ESTALE or EIO. (Natively,
// fstat of an O_PATH descriptor of a deleted file succeeds: the one
// difference, for files deleted behind the mount only.)
TEST_F(FdCacheTest, DeletedBehindTheMountIsEnoent) {
  ASSERT_NO_FATAL_FAILURE(make_tree(b(), 2, 500));
  ASSERT_EQ(::close(::open(b("gone").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  ASSERT_NO_FATAL_FAILURE(mount({"--fd-cache", "16"}));
  const int fd = ::open(m("gone").c_str(), O_PATH);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(::unlink(b("gone").c_str()), 0);
  // Push its descriptor out of the cache, and let the kernel's attribute
  // cache (1 s) expire.
  const Walk w = walk(m(), 0);
  EXPECT_EQ(w.errors, 0u) << w.first_error;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  struct stat st;
  errno = 0;
  EXPECT_EQ(::fstat(fd, &st), -1);
  EXPECT_EQ(errno, ENOENT) << std::strerror(errno);
  ::close(fd);
  EXPECT_EQ(::access(m("d1/f00499").c_str(), F_OK), 0);  // the mount is fine
  EXPECT_EQ(unmount(), 0);
}

// A file deleted behind the mount whose inode number a new file takes at
// once (ext4 does), while the kernel still knows the old one: the new
// file must get its own inode, not the old one's stale handle.
TEST_F(FdCacheTest, ReusedInodeNumberIsANewFile) {
  ASSERT_NO_FATAL_FAILURE(make_tree(b(), 2, 500));
  ASSERT_EQ(::close(::open(b("old").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  ASSERT_NO_FATAL_FAILURE(mount({"--fd-cache", "16"}));
  struct stat old_st;
  ASSERT_EQ(::stat(m("old").c_str(), &old_st), 0);  // the kernel knows it
  EXPECT_EQ(walk(m(), 0).errors, 0u);  // its descriptor leaves the cache
  ASSERT_EQ(::unlink(b("old").c_str()), 0);
  {
    std::ofstream out(b("new"));
    out << "new!";
  }
  struct stat new_st;
  ASSERT_EQ(::stat(b("new").c_str(), &new_st), 0);
  ASSERT_EQ(new_st.st_ino, old_st.st_ino)
      << "the backing file system did not reuse the inode number: this "
         "test needs one that does (ext4)";
  const int fd = ::open(m("new").c_str(), O_PATH);  // a lookup
  ASSERT_GE(fd, 0) << std::strerror(errno);
  EXPECT_EQ(walk(m(), 1).errors, 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  struct stat st;
  EXPECT_EQ(::fstat(fd, &st), 0) << std::strerror(errno);  // a getattr
  EXPECT_EQ(st.st_size, 4);
  ::close(fd);
  EXPECT_EQ(slurp(m("new")), "new!");
  EXPECT_EQ(::stat(m("old").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(unmount(), 0);
}

// Without CAP_DAC_READ_SEARCH (an ordinary user's mount lacks it too) the
// daemon falls back to one descriptor per inode, says so once, and works.
TEST_F(FdCacheTest, WithoutCapDacReadSearchOneDescriptorPerInode) {
  ASSERT_NO_FATAL_FAILURE(make_tree(b(), 2, 500));
  drop_daemon_capability(CAP_DAC_READ_SEARCH);
  ASSERT_NO_FATAL_FAILURE(mount());
  const std::string log = daemon_log();
  EXPECT_NE(log.find("one descriptor per inode: the daemon lacks "
                     "CAP_DAC_READ_SEARCH"),
            std::string::npos)
      << log;
  const Walk w = walk(m(), 0);
  EXPECT_EQ(w.errors, 0u) << w.first_error;
  EXPECT_EQ(w.entries, 2 + 2 * 500u);
  for (int i = 7; i < 500; i += 100) {
    EXPECT_EQ(slurp(m(file_name(1, i))), has_content(i) ? file_name(1, i) : "");
  }
  // One per inode the kernel knows: the fallback really is in force.
  EXPECT_GE(open_fds(daemon_pid()), 1000u);
  EXPECT_EQ(unmount(), 0);
}

}  // namespace
}  // namespace mirrorfs::fs::testing

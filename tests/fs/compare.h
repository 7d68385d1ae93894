// Runs one operation on the native twin and on the mount and compares
// what came of it: the return value, errno, and the attributes of the
// paths it touched (mode, nlink, uid, gid, size, rdev, and whether ctime
// and mtime moved). Header-only: the mount tests' CMake glob compiles
// only *_mount_test.cc beside the fixture.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/fs/journal_rows.h"
#include "tests/fs/mount_fixture.h"

namespace mirrorfs::fs::testing {

// An operation (or a setup) on a tree, given the tree's root.
using TreeOp = std::function<long(const std::string& root)>;

// What lstat said of a path.
struct Seen {
  int err = 0;  // lstat's errno, 0 if it exists
  struct stat st {};
};
inline Seen seen(const std::string& path) {
  Seen s;
  if (::lstat(path.c_str(), &s.st) < 0) s.err = errno;
  return s;
}

inline bool later(const timespec& a, const timespec& b) {
  return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}
inline bool moved(const timespec& before, const timespec& after) {
  return before.tv_sec != after.tv_sec || before.tv_nsec != after.tv_nsec;
}

// Spins (no sleep: a few ms at most) until the coarse clock the kernel
// stamps times from has passed every time stamped so far, so that a
// change made afterwards moves ctime and mtime visibly.
inline void tick() {
  timespec fine, coarse;
  ::clock_gettime(CLOCK_REALTIME, &fine);
  do {
    ::clock_gettime(CLOCK_REALTIME_COARSE, &coarse);
  } while (!later(coarse, fine));
}

// One line per attribute that differs between native `a` and mount `b`.
inline std::string stat_diff(const Seen& a, const Seen& b) {
  if (a.err != b.err) {
    return "exists: native errno " + std::to_string(a.err) + ", mount " +
           std::to_string(b.err) + "\n";
  }
  if (a.err != 0) return "";
  std::string d;
  auto field = [&](const char* name, unsigned long x, unsigned long y) {
    if (x != y) {
      d += std::string(name) + ": native " + std::to_string(x) + ", mount " +
           std::to_string(y) + "\n";
    }
  };
  field("mode", a.st.st_mode, b.st.st_mode);
  field("nlink", a.st.st_nlink, b.st.st_nlink);
  field("uid", a.st.st_uid, b.st.st_uid);
  field("gid", a.st.st_gid, b.st.st_gid);
  field("size", a.st.st_size, b.st.st_size);
  field("rdev", a.st.st_rdev, b.st.st_rdev);
  return d;
}

// Journal rows as "kind path[>path2]", extents as "extent @off+len".
using Rows = std::vector<std::string>;

// Runs `fn` in a child process as uid:gid with supplementary `groups`
// (setgroups, setresgid, then setresuid) and returns its outcome.
inline Outcome as_user(uid_t uid, gid_t gid, std::vector<gid_t> groups,
                       const std::function<long()>& fn) {
  int p[2];
  if (::pipe(p) < 0) return {-1, errno};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    Outcome o{-1, EPERM};
    if (::setgroups(groups.size(), groups.data()) == 0 &&
        ::setresgid(gid, gid, gid) == 0 && ::setresuid(uid, uid, uid) == 0) {
      o = run_op(fn);
    }
    (void)!::write(p[1], &o, sizeof o);
    ::_exit(0);
  }
  ::close(p[1]);
  Outcome o{-1, -1};
  if (pid < 0 || ::read(p[0], &o, sizeof o) != sizeof o) o = {-1, -1};
  ::close(p[0]);
  if (pid > 0) ::waitpid(pid, nullptr, 0);
  return o;
}

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << (o.ret < 0 ? outcome(-1, o.err) : "ok " + std::to_string(o.ret));
}

// A mounted MountTest (allow_other, so tests may act as other users; the
// temp root opened to them) whose compare() runs an operation both ways.
class CompareTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_EQ(::chmod(root_.c_str(), 0755), 0);
    mount({"-o", "allow_other"});
  }

  // Runs `setup` then `op` on the native twin, then on the mount. Expects
  // the same outcome of `op`, and for each path of `watch` (relative to
  // the root) the same attributes before and after, and the same verdict
  // on whether its ctime and mtime moved. Returns the journal rows `op`
  // produced on the mount. `op` must close what it opens.
  std::vector<std::string> compare(const TreeOp& setup, const TreeOp& op,
                                   const std::vector<std::string>& watch) {
    struct Side {
      Outcome out;
      std::vector<Seen> before, after;
    } side[2];
    std::vector<std::string> rows;
    for (int i = 0; i < 2; ++i) {
      const std::string root = i == 0 ? n() : m();
      if (setup) {
        EXPECT_GE(setup(root), 0) << "setup: " << std::strerror(errno);
      }
      for (const auto& w : watch)
        side[i].before.push_back(seen(root + "/" + w));
      tick();
      const uint64_t seq = i == 1 ? last_seq() : 0;
      side[i].out = run_op([&] { return op(root); });
      for (const auto& w : watch) side[i].after.push_back(seen(root + "/" + w));
      if (i == 1) rows = rows_of(journal_after(seq));
    }
    EXPECT_EQ(side[0].out, side[1].out) << "outcome: native vs mount";
    for (size_t j = 0; j < watch.size(); ++j) {
      const Seen* nb = &side[0].before[j];
      const Seen* mb = &side[1].before[j];
      const Seen* na = &side[0].after[j];
      const Seen* ma = &side[1].after[j];
      EXPECT_EQ(stat_diff(*nb, *mb), "") << watch[j] << " before";
      EXPECT_EQ(stat_diff(*na, *ma), "") << watch[j] << " after";
      if (nb->err || na->err || mb->err || ma->err) continue;
      // Replaced by another file (rename over it): times are not
      // comparable, but the replacement must happen on both sides.
      const bool n_same = nb->st.st_ino == na->st.st_ino;
      EXPECT_EQ(n_same, mb->st.st_ino == ma->st.st_ino)
          << watch[j] << ": replaced natively vs on the mount";
      if (!n_same) continue;
      EXPECT_EQ(moved(nb->st.st_ctim, na->st.st_ctim),
                moved(mb->st.st_ctim, ma->st.st_ctim))
          << watch[j] << ": ctime moved natively vs on the mount";
      EXPECT_EQ(moved(nb->st.st_mtim, na->st.st_mtim),
                moved(mb->st.st_mtim, ma->st.st_mtim))
          << watch[j] << ": mtime moved natively vs on the mount";
    }
    return rows;
  }
};

// Setup helpers (return -1 with errno set on failure).
inline long make_file(const std::string& path, const std::string& data = "",
                      mode_t mode = 0644) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return -1;
  const bool ok = ::write(fd, data.data(), data.size()) ==
                  static_cast<ssize_t>(data.size());
  return ::close(fd) == 0 && ok ? 0 : -1;
}
inline std::string read_all(const std::string& path) {
  std::string s;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return "<errno " + std::to_string(errno) + ">";
  char buf[4096];
  ssize_t r;
  while ((r = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, r);
  ::close(fd);
  return s;
}

// A file, a directory, a symlink, a fifo and a file with two names.
inline long make_tree(const std::string& r) {
  if (make_file((r + "/f"), "hello") < 0) return -1;
  if (::mkdir((r + "/d").c_str(), 0750) < 0) return -1;
  if (make_file((r + "/d/in"), "x") < 0) return -1;
  if (::symlink("f", (r + "/s").c_str()) < 0) return -1;
  if (::mkfifo((r + "/p").c_str(), 0640) < 0) return -1;
  if (make_file((r + "/h1"), "hard") < 0) return -1;
  return ::link((r + "/h1").c_str(), (r + "/h2").c_str());
}
inline const std::vector<std::string> kTree = {"f", "d",  "d/in", "s",
                                               "p", "h1", "h2"};

}  // namespace mirrorfs::fs::testing

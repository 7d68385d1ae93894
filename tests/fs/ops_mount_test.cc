// Names and attributes on a real mount, each compared with the same
// operation on the native file system: stat, chmod, chown, truncate,
// utimensat, readlink, mknod, mkdir, unlink, rmdir, symlink, rename,
// link. (Errors, access and statfs: errors_mount_test.cc.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/fs/compare.h"

namespace mirrorfs::fs::testing {
namespace {

using OpsTest = CompareTest;

std::string P(const std::string& root, const char* rel) {
  return root + "/" + rel;
}

TEST_F(OpsTest, StatOfEveryKindMatches) {
  EXPECT_EQ(compare(
                make_tree, [](auto&) { return 0; }, kTree),
            Rows{});
  // stat follows the symlink, lstat (in compare) does not.
  struct stat a, b;
  ASSERT_EQ(::stat(n("s").c_str(), &a), 0);
  ASSERT_EQ(::stat(m("s").c_str(), &b), 0);
  EXPECT_EQ(a.st_mode, b.st_mode);
  EXPECT_EQ(a.st_size, b.st_size);
  struct stat st;
  compare(nullptr, [&](auto& r) { return ::lstat(P(r, "nope").c_str(), &st); },
          {});
  compare(nullptr, [&](auto& r) { return ::stat(P(r, "f/x").c_str(), &st); },
          {});
  compare(nullptr, [&](auto& r) { return ::stat(P(r, "nope/x").c_str(), &st); },
          {});
}

TEST_F(OpsTest, ChmodMovesCtimeAndIsJournaled) {
  EXPECT_EQ(
      compare(
          make_tree, [](auto& r) { return ::chmod(P(r, "f").c_str(), 04711); },
          kTree),
      Rows{"setattr f"});
  EXPECT_EQ(
      compare(
          nullptr, [](auto& r) { return ::chmod(P(r, "d").c_str(), 02700); },
          kTree),
      Rows{"setattr d"});
  EXPECT_EQ(
      compare(
          nullptr, [](auto& r) { return ::chmod(P(r, "nope").c_str(), 0); },
          kTree),
      Rows{});
}

TEST_F(OpsTest, ChownAndLchown) {
  EXPECT_EQ(compare(
                make_tree,
                [](auto& r) { return ::chown(P(r, "f").c_str(), 1000, 1234); },
                kTree),
            Rows{"setattr f"});
  EXPECT_EQ(
      compare(
          nullptr,
          [](auto& r) { return ::lchown(P(r, "s").c_str(), 1000, -1); }, kTree),
      Rows{"setattr s"});
  // chown clears setuid and setgid, for root too.
  compare(nullptr, [](auto& r) { return ::chmod(P(r, "f").c_str(), 06755); },
          {});
  compare(nullptr, [](auto& r) { return ::chown(P(r, "f").c_str(), 0, 0); },
          {"f"});
}

TEST_F(OpsTest, TruncateShrinksAndGrows) {
  EXPECT_EQ(
      compare(
          make_tree, [](auto& r) { return ::truncate(P(r, "f").c_str(), 2); },
          kTree),
      Rows{"truncate f"});
  EXPECT_EQ(
      compare(
          nullptr, [](auto& r) { return ::truncate(P(r, "h2").c_str(), 9000); },
          kTree),
      Rows{"truncate h1"});
  EXPECT_EQ(read_all(n("f")), read_all(m("f")));
  EXPECT_EQ(read_all(n("h1")), read_all(m("h1")));
  compare(nullptr, [](auto& r) { return ::truncate(P(r, "d").c_str(), 0); },
          {"d"});
  compare(nullptr, [](auto& r) { return ::truncate(P(r, "f").c_str(), -1); },
          {"f"});
}

TEST_F(OpsTest, UtimensatSetsNowAndOmits) {
  const timespec set[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  EXPECT_EQ(compare(
                make_tree,
                [&](auto& r) {
                  return ::utimensat(AT_FDCWD, P(r, "f").c_str(), set, 0);
                },
                kTree),
            Rows{"setattr f"});
  struct stat a, b;
  ASSERT_EQ(::stat(m("f").c_str(), &b), 0);
  EXPECT_EQ(b.st_mtim.tv_sec, set[1].tv_sec);
  EXPECT_EQ(b.st_mtim.tv_nsec, set[1].tv_nsec);
  EXPECT_EQ(b.st_atim.tv_nsec, set[0].tv_nsec);
  // atime now, mtime kept.
  const timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  compare(nullptr,
          [&](auto& r) {
            return ::utimensat(AT_FDCWD, P(r, "f").c_str(), now_omit, 0);
          },
          {"f"});
  ASSERT_EQ(::stat(m("f").c_str(), &b), 0);
  EXPECT_EQ(b.st_mtim.tv_sec, set[1].tv_sec);
  EXPECT_GT(b.st_atim.tv_sec, set[0].tv_sec);
  // Both omitted: nothing changes, not even ctime.
  const timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  compare(nullptr,
          [&](auto& r) {
            return ::utimensat(AT_FDCWD, P(r, "f").c_str(), omit, 0);
          },
          {"f"});
  // The link itself, not its target.
  EXPECT_EQ(compare(nullptr,
                    [&](auto& r) {
                      return ::utimensat(AT_FDCWD, P(r, "s").c_str(), set,
                                         AT_SYMLINK_NOFOLLOW);
                    },
                    {"s", "f"}),
            Rows{"setattr s"});
  ASSERT_EQ(::lstat(n("s").c_str(), &a), 0);
  ASSERT_EQ(::lstat(m("s").c_str(), &b), 0);
  EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
  EXPECT_EQ(b.st_mtim.tv_nsec, set[1].tv_nsec);
  // NULL times: both now.
  compare(nullptr,
          [](auto& r) {
            return ::utimensat(AT_FDCWD, P(r, "d").c_str(), nullptr, 0);
          },
          {"d"});
}

TEST_F(OpsTest, ReadlinkReturnsTheText) {
  std::vector<std::string> got;
  auto rl = [&](const std::string& r) {
    char buf[PATH_MAX];
    const ssize_t k = ::readlink(P(r, "s").c_str(), buf, sizeof buf);
    got.push_back(k < 0 ? "" : std::string(buf, k));
    return k;
  };
  compare([](auto& r) { return ::symlink("../a/b/../c", P(r, "s").c_str()); },
          rl, {"s"});
  EXPECT_EQ(got, (std::vector<std::string>{"../a/b/../c", "../a/b/../c"}));
  // Shorter buffer: truncated, as natively.
  got.clear();
  compare(nullptr,
          [&](auto& r) {
            char buf[4];
            const ssize_t k = ::readlink(P(r, "s").c_str(), buf, sizeof buf);
            got.push_back(std::string(buf, k < 0 ? 0 : k));
            return k;
          },
          {});
  EXPECT_EQ(got[0], got[1]);
  // Not a link.
  compare([](auto& r) { return make_file(P(r, "f")); },
          [](auto& r) {
            char buf[16];
            return ::readlink(P(r, "f").c_str(), buf, sizeof buf);
          },
          {});
}

TEST_F(OpsTest, MknodRegularFifoSocket) {
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::mknod(P(r, "reg").c_str(), S_IFREG | 0640, 0);
                    },
                    {"reg", ""}),
            Rows{"create reg"});
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::mknod(P(r, "fifo").c_str(), S_IFIFO | 0600, 0);
                    },
                    {"fifo", ""}),
            Rows{"mknod fifo"});
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::mknod(P(r, "sock").c_str(), S_IFSOCK | 0666, 0);
                    },
                    {"sock"}),
            Rows{"mknod sock"});
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::mknod(P(r, "chr").c_str(), S_IFCHR | 0600,
                                     makedev(1, 3));
                    },
                    {"chr"}),
            Rows{"mknod chr"});
  compare(
      nullptr,
      [](auto& r) { return ::mknod(P(r, "fifo").c_str(), S_IFIFO | 0600, 0); },
      {"fifo"});
  // bind(2) of a unix socket makes the node, and it accepts connections.
  auto bind_at = [](const std::string& r) -> long {
    const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string path = P(r, "u.sock");
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    long rc = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc == 0) rc = ::listen(s, 1);
    const int c = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (rc == 0) rc = ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(c);
    ::close(s);
    return rc;
  };
  ASSERT_LT(m("u.sock").size(), sizeof(sockaddr_un::sun_path));
  EXPECT_EQ(compare(nullptr, bind_at, {"u.sock"}), Rows{"mknod u.sock"});
}

TEST_F(OpsTest, MkdirRmdirUnlink) {
  EXPECT_EQ(
      compare(nullptr, [](auto& r) { return ::mkdir(P(r, "d").c_str(), 0705); },
              {"d", ""}),
      Rows{"mkdir d"});
  EXPECT_EQ(
      compare(nullptr, [](auto& r) { return ::mkdir(P(r, "d").c_str(), 0705); },
              {"d"}),
      Rows{});
  compare([](auto& r) { return make_file(P(r, "d/f")); },
          [](auto& r) { return ::rmdir(P(r, "d").c_str()); },
          {"d"});  // ENOTEMPTY
  compare(nullptr, [](auto& r) { return ::rmdir(P(r, "d/f").c_str()); },
          {"d/f"});
  compare(nullptr, [](auto& r) { return ::unlink(P(r, "d").c_str()); },
          {"d"});  // EISDIR
  EXPECT_EQ(
      compare(nullptr, [](auto& r) { return ::unlink(P(r, "d/f").c_str()); },
              {"d/f", "d"}),
      Rows{"unlink d/f"});
  EXPECT_EQ(compare(nullptr, [](auto& r) { return ::rmdir(P(r, "d").c_str()); },
                    {"d", ""}),
            Rows{"rmdir d"});
  compare(nullptr, [](auto& r) { return ::rmdir(P(r, "d").c_str()); }, {});
  compare(nullptr, [](auto& r) { return ::unlink(P(r, "d").c_str()); }, {});
}

TEST_F(OpsTest, SymlinkMakesALink) {
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::symlink("no/such/target", P(r, "s").c_str());
                    },
                    {"s", ""}),
            Rows{"symlink s>no/such/target"});
  compare(nullptr, [](auto& r) { return ::symlink("x", P(r, "s").c_str()); },
          {"s"});
}

TEST_F(OpsTest, RenameVariants) {
  EXPECT_EQ(compare(make_tree,
                    [](auto& r) {
                      return ::rename(P(r, "f").c_str(), P(r, "d/g").c_str());
                    },
                    {"f", "d/g", "d", ""}),
            Rows{"rename f>d/g"});
  // Over an existing file: the old one goes, the hard link count drops.
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::rename(P(r, "d/g").c_str(), P(r, "h1").c_str());
                    },
                    {"d/g", "h1", "h2"}),
            Rows{"rename d/g>h1"});
  // A directory over a non-empty one, and over an empty one.
  compare(
      [](auto& r) { return ::mkdir(P(r, "e").c_str(), 0755); },
      [](auto& r) { return ::rename(P(r, "e").c_str(), P(r, "d").c_str()); },
      {"e", "d"});
  EXPECT_EQ(compare([](auto& r) { return ::unlink(P(r, "d/in").c_str()); },
                    [](auto& r) {
                      return ::rename(P(r, "e").c_str(), P(r, "d").c_str());
                    },
                    {"e", "d", ""}),
            Rows{"rename e>d"});
  // A file over a directory, a directory over a file.
  compare(
      nullptr,
      [](auto& r) { return ::rename(P(r, "h1").c_str(), P(r, "d").c_str()); },
      {"h1", "d"});
  compare(
      nullptr,
      [](auto& r) { return ::rename(P(r, "d").c_str(), P(r, "h1").c_str()); },
      {"h1", "d"});
  compare(nullptr,
          [](auto& r) {
            return ::renameat2(AT_FDCWD, P(r, "h1").c_str(), AT_FDCWD,
                               P(r, "h2").c_str(), RENAME_NOREPLACE);
          },
          {"h1", "h2"});
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::renameat2(AT_FDCWD, P(r, "s").c_str(), AT_FDCWD,
                                         P(r, "d").c_str(), RENAME_EXCHANGE);
                    },
                    {"s", "d", ""}),
            Rows{"rename s>d"});
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::renameat2(AT_FDCWD, P(r, "p").c_str(), AT_FDCWD,
                                         P(r, "q").c_str(), RENAME_NOREPLACE);
                    },
                    {"p", "q"}),
            Rows{"rename p>q"});
  compare(nullptr,
          [](auto& r) {
            return ::renameat2(AT_FDCWD, P(r, "q").c_str(), AT_FDCWD,
                               P(r, "zz").c_str(), RENAME_EXCHANGE);
          },
          {"q"});
  compare(
      nullptr,
      [](auto& r) { return ::rename(P(r, "nope").c_str(), P(r, "x").c_str()); },
      {});
  compare(
      nullptr,
      [](auto& r) { return ::rename(P(r, "s").c_str(), P(r, "s/x").c_str()); },
      {"s"});  // a directory into itself
}

TEST_F(OpsTest, LinkAddsANameAndMovesCtime) {
  EXPECT_EQ(compare(make_tree,
                    [](auto& r) {
                      return ::link(P(r, "f").c_str(), P(r, "d/f2").c_str());
                    },
                    {"f", "d/f2", "d"}),
            Rows{"link f>d/f2"});
  compare(nullptr,
          [](auto& r) { return ::link(P(r, "d").c_str(), P(r, "d2").c_str()); },
          {"d", "d2"});  // EPERM
  compare(nullptr,
          [](auto& r) { return ::link(P(r, "f").c_str(), P(r, "h1").c_str()); },
          {"f", "h1"});  // EEXIST
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      return ::link(P(r, "s").c_str(), P(r, "s2").c_str());
                    },
                    {"s", "s2", "f"}),
            Rows{"link s>s2"});  // the link itself, not its target
  EXPECT_EQ(
      compare(nullptr, [](auto& r) { return ::unlink(P(r, "f").c_str()); },
              {"f", "d/f2"}),
      Rows{"unlink f"});
}

}  // namespace
}  // namespace mirrorfs::fs::testing

// Names and attributes on a real mount, each compared with the same
// operation on the native file system: stat, chmod, chown, truncate,
// utimensat, readlink, mknod, mkdir, unlink, rmdir, symlink, rename,
// link, statfs, access, and the errors passed through.
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

// A file, a directory, a symlink, a fifo and a file with two names.
long make_tree(const std::string& r) {
  if (make_file(P(r, "f"), "hello") < 0) return -1;
  if (::mkdir(P(r, "d").c_str(), 0750) < 0) return -1;
  if (make_file(P(r, "d/in"), "x") < 0) return -1;
  if (::symlink("f", P(r, "s").c_str()) < 0) return -1;
  if (::mkfifo(P(r, "p").c_str(), 0640) < 0) return -1;
  if (make_file(P(r, "h1"), "hard") < 0) return -1;
  return ::link(P(r, "h1").c_str(), P(r, "h2").c_str());
}
const std::vector<std::string> kTree = {"f", "d", "d/in", "s", "p", "h1", "h2"};

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

TEST_F(OpsTest, ErrorsPassThroughExactly) {
  const std::string longname(NAME_MAX + 1, 'n');
  compare(make_tree,
          [](auto& r) { return ::open(P(r, "nope").c_str(), O_RDONLY); }, {});
  compare(nullptr,
          [](auto& r) {
            return ::open(P(r, "f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
          },
          {"f"});
  compare(nullptr, [](auto& r) { return ::open(P(r, "d").c_str(), O_WRONLY); },
          {"d"});
  compare(nullptr,
          [](auto& r) { return ::open(P(r, "f/x").c_str(), O_RDONLY); }, {});
  compare(
      nullptr,
      [](auto& r) { return ::open(P(r, "f").c_str(), O_RDONLY | O_DIRECTORY); },
      {});
  compare(
      nullptr,
      [](auto& r) { return ::open(P(r, "s").c_str(), O_RDONLY | O_NOFOLLOW); },
      {});  // ELOOP
  compare(nullptr,
          [&](auto& r) {
            return ::open((r + "/" + longname).c_str(), O_CREAT | O_WRONLY,
                          0644);
          },
          {});
  compare(nullptr,
          [&](auto& r) { return ::mkdir((r + "/" + longname).c_str(), 0755); },
          {});
  compare(nullptr,
          [&](auto& r) { return ::symlink("t", (r + "/" + longname).c_str()); },
          {});
  // As an ordinary user, in a directory only root may write.
  for (const char* rel : {"d/new", "f"}) {
    for (int i = 0; i < 2; ++i) {
      const std::string path = (i == 0 ? n() : m()) + "/" + rel;
      const Outcome wr = as_user(1000, 1000, {}, [&] {
        return ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
      });
      EXPECT_EQ(wr, (Outcome{-1, EACCES})) << path;
      const Outcome rm =
          as_user(1000, 1000, {}, [&] { return ::unlink(path.c_str()); });
      EXPECT_EQ(rm.err, EACCES) << path;
    }
  }
  // chmod of someone else's file: EPERM.
  for (const std::string& root : {n(), m()}) {
    EXPECT_EQ(as_user(1000, 1000, {},
                      [&] { return ::chmod((root + "/f").c_str(), 0777); }),
              (Outcome{-1, EPERM}))
        << root;
  }
}

TEST_F(OpsTest, AccessAsRootAndAsAUser) {
  ASSERT_EQ(make_tree(n()), 0);
  ASSERT_EQ(make_tree(m()), 0);
  for (const char* rel : {"f", "d", "d/in", "s", "nope"}) {
    for (int mode : {F_OK, R_OK, W_OK, X_OK, R_OK | W_OK}) {
      const std::string a = n() + "/" + rel, b = m() + "/" + rel;
      EXPECT_EQ(run_op([&] { return ::access(a.c_str(), mode); }),
                run_op([&] { return ::access(b.c_str(), mode); }))
          << rel << " mode " << mode;
      EXPECT_EQ(
          as_user(1000, 1000, {}, [&] { return ::access(a.c_str(), mode); }),
          as_user(1000, 1000, {}, [&] { return ::access(b.c_str(), mode); }))
          << rel << " mode " << mode << " as 1000";
    }
  }
}

TEST_F(OpsTest, StatfsShowsTheBackingFileSystem) {
  struct statvfs a, b;
  ASSERT_EQ(::statvfs(n().c_str(), &a), 0);
  ASSERT_EQ(::statvfs(m().c_str(), &b), 0);
  EXPECT_EQ(a.f_bsize, b.f_bsize);
  EXPECT_EQ(a.f_frsize, b.f_frsize);
  EXPECT_EQ(a.f_blocks, b.f_blocks);
  EXPECT_EQ(a.f_files, b.f_files);
  EXPECT_EQ(a.f_namemax, b.f_namemax);
  // Free space is live; allow for other writers on the disk.
  EXPECT_NEAR(static_cast<double>(a.f_bavail), static_cast<double>(b.f_bavail),
              a.f_blocks / 100.0);
  compare(nullptr,
          [](auto& r) {
            struct statvfs s;
            return ::statvfs(P(r, "nope").c_str(), &s);
          },
          {});
}

}  // namespace
}  // namespace mirrorfs::fs::testing

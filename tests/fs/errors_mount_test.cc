// Errors passed through exactly, access(2) and statfs(2) on a real mount,
// compared with the native file system.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <string>

#include "tests/fs/compare.h"

namespace mirrorfs::fs::testing {
namespace {

using ErrorsTest = CompareTest;

std::string P(const std::string& root, const char* rel) {
  return root + "/" + rel;
}

TEST_F(ErrorsTest, ErrorsPassThroughExactly) {
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

TEST_F(ErrorsTest, AccessAsRootAndAsAUser) {
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

TEST_F(ErrorsTest, StatfsShowsTheBackingFileSystem) {
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

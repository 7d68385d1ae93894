// The traps of a FUSE passthrough (issue 4), each on a real mount and
// compared with the native file system: stale attributes through another
// name of a hard-linked file, O_DIRECT, unlinked-but-open files, ctime
// after rename/link/chmod, and files made by other users.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/fs/compare.h"

namespace mirrorfs::fs::testing {
namespace {

using TrapsTest = CompareTest;

std::string P(const std::string& root, const char* rel) {
  return root + "/" + rel;
}

long two_names(const std::string& r) {
  if (make_file(P(r, "a"), "0123456789") < 0) return -1;
  return ::link(P(r, "a").c_str(), P(r, "b").c_str());
}

// (a) A change through one name shows at once through the other, though
// the kernel cached the other name's attributes just before.
TEST_F(TrapsTest, HardLinkAttributesFreshThroughTheOtherName) {
  EXPECT_EQ(compare(two_names,
                    [](auto& r) { return ::chmod(P(r, "a").c_str(), 0600); },
                    {"b", "a"}),
            Rows{"setattr a"});
  compare(nullptr,
          [](auto& r) {
            const int fd = ::open(P(r, "a").c_str(), O_WRONLY | O_APPEND);
            const long w = ::write(fd, "more data", 9);
            ::close(fd);
            return w;
          },
          {"b", "a"});
  // Still open: the size and mtime through the other name, before close.
  for (const std::string& r : {n(), m()}) {
    struct stat before, during, via_fd;
    ASSERT_EQ(::stat(P(r, "b").c_str(), &before), 0);
    tick();
    const int fd = ::open(P(r, "a").c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, "x", 1, 100), 1);
    ASSERT_EQ(::stat(P(r, "b").c_str(), &during), 0);
    ASSERT_EQ(::fstat(fd, &via_fd), 0);
    EXPECT_EQ(during.st_size, 101) << r;
    EXPECT_TRUE(later(during.st_mtim, before.st_mtim)) << r;
    EXPECT_EQ(during.st_mtim.tv_nsec, via_fd.st_mtim.tv_nsec) << r;
    ::close(fd);
  }
  compare(nullptr, [](auto& r) { return ::truncate(P(r, "b").c_str(), 3); },
          {"a", "b"});
  compare(nullptr,
          [](auto& r) { return ::chown(P(r, "b").c_str(), 1000, 1000); },
          {"a", "b"});
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) { return ::unlink(P(r, "a").c_str()); }, {"b"}),
            Rows{"unlink a"});  // nlink of b drops to 1, its ctime moves
  EXPECT_EQ(read_all(n("b")), read_all(m("b")));
}

// (b) O_DIRECT opens, and aligned writes and reads work.
TEST_F(TrapsTest, ODirectAlignedWriteAndRead) {
  constexpr size_t kLen = 64 * 1024;
  void* mem = nullptr;
  ASSERT_EQ(::posix_memalign(&mem, 4096, 2 * kLen), 0);
  std::unique_ptr<char, decltype(&::free)> buf(static_cast<char*>(mem), ::free);
  for (size_t i = 0; i < kLen; ++i) buf.get()[i] = static_cast<char>(i % 251);
  std::vector<std::string> data;
  const auto rows =
      compare(nullptr,
              [&](auto& r) {
                const int fd = ::open(P(r, "f").c_str(),
                                      O_CREAT | O_RDWR | O_DIRECT, 0644);
                if (fd < 0) return -1L;
                long rc = ::pwrite(fd, buf.get(), kLen, 4096) == kLen ? 0 : -1;
                char* back = buf.get() + kLen;
                std::memset(back, 0, kLen);
                if (rc == 0)
                  rc = ::pread(fd, back, kLen, 4096) == kLen ? 0 : -1;
                data.emplace_back(back, kLen);
                if (rc == 0) rc = ::fdatasync(fd);
                ::close(fd);
                return rc;
              },
              {"f"});
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0], data[1]);
  EXPECT_EQ(data[1], std::string(buf.get(), kLen));
  EXPECT_EQ(read_all(n("f")), read_all(m("f")));
  EXPECT_EQ(rows, (Rows{"create f", "dirty f", "extent @4096+65536"}));
}

// KNOWN DIFFERENCE, not fixed (disabled; run with
// --gtest_also_run_disabled_tests to see it fail): natively an unaligned
// O_DIRECT write is refused (EINVAL); FUSE has no alignment rule and the
// backing file is opened without O_DIRECT (FUSE hands the daemon
// unaligned buffers), so the mount accepts it.
TEST_F(TrapsTest, DISABLED_ODirectUnalignedWriteIsRefused) {
  void* mem = nullptr;
  ASSERT_EQ(::posix_memalign(&mem, 4096, 8192), 0);
  std::unique_ptr<char, decltype(&::free)> buf(static_cast<char*>(mem), ::free);
  compare(nullptr,
          [&](auto& r) {
            const int fd =
                ::open(P(r, "f").c_str(), O_CREAT | O_RDWR | O_DIRECT, 0644);
            const long k = ::pwrite(fd, buf.get() + 1, 100, 3);
            const int err = errno;
            ::close(fd);
            errno = err;
            return k;
          },
          {"f"});
}

// (c) Unlinking an open file leaves no .fuse_hidden* behind: the file
// stays usable through its descriptor, and its directory can go.
TEST_F(TrapsTest, UnlinkedOpenFileLeavesNoHiddenFile) {
  for (const std::string& r : {n(), m()}) {
    SCOPED_TRACE(r);
    ASSERT_EQ(::mkdir(P(r, "d").c_str(), 0755), 0);
    const int fd = ::open(P(r, "d/f").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "abc", 3), 3);
    ASSERT_EQ(::unlink(P(r, "d/f").c_str()), 0);
    struct stat st;
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_nlink, 0u);
    ASSERT_EQ(::pwrite(fd, "defg", 4, 3), 4);
    char buf[8] = {};
    EXPECT_EQ(::pread(fd, buf, sizeof buf, 0), 7);
    EXPECT_STREQ(buf, "abcdefg");
    EXPECT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_size, 7);
    EXPECT_EQ(::rmdir(P(r, "d").c_str()), 0) << std::strerror(errno);
    EXPECT_EQ(::close(fd), 0);
  }
  EXPECT_EQ(::access(b("d").c_str(), F_OK), -1);
  // The backing tree holds nothing, hidden or not.
  struct stat st;
  ASSERT_EQ(::stat(b().c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_nlink, seen(n()).st.st_nlink);
}

// (d) rename, link, unlink of another name and chmod move the ctime of
// the file, seen at once through the mount (attributes cached just
// before), as natively.
TEST_F(TrapsTest, CtimeMovesOnRenameLinkChmod) {
  struct Step {
    const char* what;
    TreeOp op;
    const char* then;  // the name to stat afterwards
  };
  const std::vector<Step> steps = {
      {"rename",
       [](auto& r) { return ::rename(P(r, "f").c_str(), P(r, "g").c_str()); },
       "g"},
      {"link",
       [](auto& r) { return ::link(P(r, "g").c_str(), P(r, "h").c_str()); },
       "g"},
      {"unlink other name", [](auto& r) { return ::unlink(P(r, "h").c_str()); },
       "g"},
      {"chmod", [](auto& r) { return ::chmod(P(r, "g").c_str(), 0700); }, "g"},
      {"rename dir",
       [](auto& r) { return ::rename(P(r, "d").c_str(), P(r, "e").c_str()); },
       "e"},
  };
  for (const std::string& r : {n(), m()}) {
    ASSERT_EQ(make_file(P(r, "f"), "data"), 0);
    ASSERT_EQ(::mkdir(P(r, "d").c_str(), 0755), 0);
  }
  const char* last[2] = {"f", "f"};
  for (const Step& s : steps) {
    bool moved_on[2];
    for (int i = 0; i < 2; ++i) {
      const std::string r = i == 0 ? n() : m();
      const std::string before_name =
          std::strcmp(s.what, "rename dir") == 0 ? "d" : last[i];
      const Seen before = seen(r + "/" + before_name);
      ASSERT_EQ(before.err, 0) << s.what;
      tick();
      ASSERT_EQ(s.op(r), 0) << s.what << ": " << std::strerror(errno);
      const Seen after = seen(r + "/" + s.then);
      ASSERT_EQ(after.err, 0) << s.what;
      moved_on[i] = later(after.st.st_ctim, before.st.st_ctim);
      last[i] = s.then;
    }
    EXPECT_TRUE(moved_on[0]) << s.what << " natively";
    EXPECT_EQ(moved_on[0], moved_on[1]) << s.what << ": ctime on the mount";
  }
}

// Files made through an allow_other mount by uid 1000 belong to 1000:1000,
// exactly as natively.
TEST_F(TrapsTest, OtherUsersOwnWhatTheyMake) {
  for (const std::string& r : {n(), m()}) {
    ASSERT_EQ(::mkdir(P(r, "pub").c_str(), 0777), 0);
    ASSERT_EQ(::chmod(P(r, "pub").c_str(), 0777), 0);
  }
  auto as_1000 = [](const TreeOp& op) {
    return [op](const std::string& r) -> long {
      const Outcome o = as_user(1000, 1000, {1000}, [&] { return op(r); });
      errno = o.err;
      return o.ret;
    };
  };
  const auto rows =
      compare(nullptr, as_1000([](auto& r) {
                const int fd =
                    ::open(P(r, "pub/file").c_str(), O_CREAT | O_WRONLY, 0640);
                if (fd < 0 || ::close(fd) < 0) return -1;
                if (::mkdir(P(r, "pub/dir").c_str(), 0750) < 0) return -1;
                if (::symlink("file", P(r, "pub/link").c_str()) < 0) return -1;
                if (::mknod(P(r, "pub/node").c_str(), S_IFREG | 0600, 0) < 0)
                  return -1;
                return ::mkfifo(P(r, "pub/fifo").c_str(), 0600);
              }),
              {"pub/file", "pub/dir", "pub/link", "pub/node", "pub/fifo"});
  EXPECT_EQ(rows,
            (Rows{"create pub/file", "mkdir pub/dir", "symlink pub/link>file",
                  "create pub/node", "mknod pub/fifo"}));
  for (const char* rel :
       {"pub/file", "pub/dir", "pub/link", "pub/node", "pub/fifo"}) {
    const Seen s = seen(m(rel));
    EXPECT_EQ(s.st.st_uid, 1000u) << rel;
    EXPECT_EQ(s.st.st_gid, 1000u) << rel;
  }
}

// In a setgid directory new files take its group and new directories
// keep the bit, as natively.
TEST_F(TrapsTest, SetgidDirectoryPassesItsGroupOn) {
  auto setup = [](const std::string& r) -> long {
    if (::mkdir(P(r, "sg").c_str(), 0777) < 0) return -1;
    if (::chown(P(r, "sg").c_str(), 0, 1234) < 0) return -1;
    return ::chmod(P(r, "sg").c_str(), 02777);
  };
  const auto rows =
      compare(setup,
              [](const std::string& r) -> long {
                const Outcome o = as_user(1000, 1000, {1000}, [&] {
                  const int fd = ::open(P(r, "sg/file").c_str(),
                                        O_CREAT | O_WRONLY, 02755);
                  if (fd < 0 || ::close(fd) < 0) return -1;
                  if (::mkdir(P(r, "sg/dir").c_str(), 0755) < 0) return -1;
                  if (::mkfifo(P(r, "sg/fifo").c_str(), 0600) < 0) return -1;
                  return ::symlink("file", P(r, "sg/link").c_str());
                });
                errno = o.err;
                return o.ret;
              },
              {"sg", "sg/file", "sg/dir", "sg/fifo", "sg/link"});
  EXPECT_EQ(rows.size(), 4u);
  for (const char* rel : {"sg/file", "sg/dir", "sg/fifo", "sg/link"}) {
    EXPECT_EQ(seen(m(rel)).st.st_gid, 1234u) << rel;
  }
  EXPECT_TRUE(seen(m("sg/dir")).st.st_mode & S_ISGID);
  // Not a member of 1234: the file's setgid bit is dropped.
  EXPECT_FALSE(seen(m("sg/file")).st.st_mode & S_ISGID);
}

// A user may create in a directory its supplementary group may write.
TEST_F(TrapsTest, SupplementaryGroupsCount) {
  auto setup = [](const std::string& r) -> long {
    if (::mkdir(P(r, "team").c_str(), 0770) < 0) return -1;
    if (::chown(P(r, "team").c_str(), 0, 1234) < 0) return -1;
    return ::chmod(P(r, "team").c_str(), 0770);  // past the umask
  };
  const auto rows =
      compare(setup,
              [](const std::string& r) -> long {
                const Outcome o = as_user(1000, 1000, {1000, 1234}, [&] {
                  const int fd = ::open(P(r, "team/file").c_str(),
                                        O_CREAT | O_WRONLY, 0644);
                  if (fd < 0 || ::close(fd) < 0) return -1;
                  return ::mkdir(P(r, "team/dir").c_str(), 0755);
                });
                errno = o.err;
                return o.ret;
              },
              {"team", "team/file", "team/dir"});
  EXPECT_EQ(rows, (Rows{"create team/file", "mkdir team/dir"}));
}

// What another user may and may not do to a file, as natively: times
// set to now with write access, explicit times only as owner; and a
// write, truncate or chown by a non-root user clears setuid and setgid.
TEST_F(TrapsTest, OtherUsersAttributeChanges) {
  auto as_1000 = [](const TreeOp& op) {
    return [op](const std::string& r) -> long {
      const Outcome o = as_user(1000, 1000, {1000}, [&] { return op(r); });
      errno = o.err;
      return o.ret;
    };
  };
  auto setup = [](const std::string& r) -> long {
    for (const char* f : {"w", "t", "c"}) {
      if (make_file(P(r, f), "data") < 0) return -1;
      if (::chmod(P(r, f).c_str(), 06777) < 0) return -1;
    }
    return ::chown(P(r, "c").c_str(), 1000, 1000) < 0 ||
                   ::chmod(P(r, "c").c_str(), 06777) < 0
               ? -1
               : 0;
  };
  const auto rows = compare(setup, as_1000([](auto& r) {
                              const int fd =
                                  ::open(P(r, "w").c_str(), O_WRONLY);
                              const long k = ::write(fd, "x", 1);
                              ::close(fd);
                              return k;
                            }),
                            {"w"});
  // The kernel clears the bits with a setattr: the mirror learns it.
  EXPECT_EQ(rows, (Rows{"setattr w", "dirty w", "extent @0+1"}));
  EXPECT_EQ(seen(m("w")).st.st_mode & 07777, 0777u);
  compare(nullptr,
          as_1000([](auto& r) { return ::truncate(P(r, "t").c_str(), 1); }),
          {"t"});
  EXPECT_EQ(seen(m("t")).st.st_mode & 07777, 0777u);
  compare(nullptr,
          as_1000([](auto& r) { return ::chown(P(r, "c").c_str(), -1, 1000); }),
          {"c"});
  compare(nullptr, as_1000([](auto& r) {
            return ::utimensat(AT_FDCWD, P(r, "w").c_str(), nullptr, 0);
          }),
          {"w"});
  const timespec set[2] = {{1, 0}, {2, 0}};
  compare(nullptr, as_1000([&](auto& r) {
            return ::utimensat(AT_FDCWD, P(r, "w").c_str(), set, 0);
          }),
          {"w"});  // EPERM: not the owner
  compare(nullptr,
          as_1000([](auto& r) { return ::chown(P(r, "c").c_str(), 0, -1); }),
          {"c"});  // EPERM: giving away
}

// Sticky directory: another user's file may not be removed or renamed.
TEST_F(TrapsTest, StickyDirectoryProtectsOthersFiles) {
  auto setup = [](const std::string& r) -> long {
    if (::mkdir(P(r, "tmp").c_str(), 0777) < 0) return -1;
    if (::chmod(P(r, "tmp").c_str(), 01777) < 0) return -1;
    return make_file(P(r, "tmp/roots"));
  };
  compare(setup,
          [](const std::string& r) -> long {
            const Outcome o = as_user(1000, 1000, {1000}, [&] {
              return ::unlink(P(r, "tmp/roots").c_str());
            });
            errno = o.err;
            return o.ret;
          },
          {"tmp/roots"});
  compare(nullptr,
          [](const std::string& r) -> long {
            const Outcome o = as_user(1000, 1000, {1000}, [&] {
              return ::rename(P(r, "tmp/roots").c_str(),
                              P(r, "tmp/mine").c_str());
            });
            errno = o.err;
            return o.ret;
          },
          {"tmp/roots"});
}

}  // namespace
}  // namespace mirrorfs::fs::testing

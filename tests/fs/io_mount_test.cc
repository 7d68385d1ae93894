// Open files, xattrs, fallocate, copy_file_range and locks on a real
// mount, each compared with the same calls on the native file system.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/fs/compare.h"

namespace mirrorfs::fs::testing {
namespace {

using IoTest = CompareTest;

std::string P(const std::string& root, const char* rel) {
  return root + "/" + rel;
}

// Results of several calls, one string per side, for comparing.
struct Log {
  std::vector<std::string> side;
  void start() { side.emplace_back(); }
  void add(const std::string& what, long v) {
    side.back() += what + "=" + std::to_string(v) +
                   (v < 0 ? "(" + std::to_string(errno) + ")" : "") + " ";
  }
  void add_text(const std::string& what, const std::string& v) {
    side.back() += what + "=[" + v + "] ";
  }
};

TEST_F(IoTest, CreateExclTruncAndAppend) {
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      const int fd = ::open(P(r, "f").c_str(),
                                            O_CREAT | O_EXCL | O_RDWR, 0640);
                      return fd < 0 ? fd : ::close(fd);
                    },
                    {"f", ""}),
            Rows{"create f"});
  compare(nullptr,
          [](auto& r) {
            return ::open(P(r, "f").c_str(), O_CREAT | O_EXCL | O_RDWR, 0640);
          },
          {"f"});
  // O_CREAT without O_EXCL opens what is there, keeping its mode.
  compare([](auto& r) { return make_file(P(r, "f"), "0123456789", 0600); },
          [](auto& r) {
            const int fd = ::open(P(r, "f").c_str(), O_CREAT | O_WRONLY, 0777);
            return fd < 0 ? fd : ::close(fd);
          },
          {"f"});
  EXPECT_EQ(compare(nullptr,
                    [](auto& r) {
                      const int fd =
                          ::open(P(r, "f").c_str(), O_WRONLY | O_TRUNC);
                      return fd < 0 ? fd : ::close(fd);
                    },
                    {"f"}),
            Rows{"truncate f"});
  // O_TRUNC with O_RDONLY truncates nothing.
  compare([](auto& r) { return make_file(P(r, "g"), "abc"); },
          [](auto& r) {
            const int fd = ::open(P(r, "g").c_str(), O_RDONLY | O_TRUNC);
            return fd < 0 ? fd : ::close(fd);
          },
          {"g"});
  // Appends land at the real end, also after another descriptor moved it.
  const auto rows =
      compare([](auto& r) { return make_file(P(r, "a"), "0123456789"); },
              [](auto& r) {
                const int ap = ::open(P(r, "a").c_str(), O_WRONLY | O_APPEND);
                const int rw = ::open(P(r, "a").c_str(), O_RDWR);
                long rc = ::write(ap, "A", 1) == 1 ? 0 : -1;
                if (rc == 0) rc = ::ftruncate(rw, 20);
                if (rc == 0) rc = ::write(ap, "B", 1) == 1 ? 0 : -1;
                if (rc == 0)
                  rc = ::pwrite(ap, "C", 1, 0) == 1 ? 0 : -1;  // appends too
                if (rc == 0) rc = ::lseek(ap, 0, SEEK_CUR);
                ::close(ap);
                ::close(rw);
                return rc;
              },
              {"a"});
  EXPECT_EQ(read_all(n("a")), read_all(m("a")));
  EXPECT_EQ(read_all(m("a")),
            std::string("0123456789A", 11) + std::string(9, '\0') + "BC");
  EXPECT_EQ(rows,
            (Rows{"dirty a", "truncate a", "extent @10+1", "extent @20+2"}));
}

TEST_F(IoTest, ReadWritePreadPwrite) {
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 7 + i / 251);
  Log log;
  const auto rows = compare(
      nullptr,
      [&](auto& r) {
        log.start();
        const int fd = ::open(P(r, "f").c_str(), O_CREAT | O_RDWR, 0644);
        log.add("write", ::write(fd, big.data(), big.size()));
        log.add("pwrite", ::pwrite(fd, "xyz", 3, 500000));
        log.add("pos", ::lseek(fd, 0, SEEK_CUR));
        std::string back(big.size(), '\0');
        log.add("pread", ::pread(fd, back.data(), back.size(), 0));
        log.add("same", back == big);
        char tail[10];
        log.add("pread_eof", ::pread(fd, tail, sizeof tail, 499998));
        log.add("pread_past", ::pread(fd, tail, sizeof tail, 600000));
        ::lseek(fd, 100, SEEK_SET);
        log.add("read", ::read(fd, tail, 4));
        log.add_text("data", std::string(tail, 4));
        const int ro = ::open(P(r, "f").c_str(), O_RDONLY);
        log.add("write_rdonly", ::write(ro, "x", 1));
        ::close(ro);
        return ::close(fd);
      },
      {"f"});
  ASSERT_EQ(log.side.size(), 2u);
  EXPECT_EQ(log.side[0], log.side[1]);
  EXPECT_EQ(read_all(n("f")), read_all(m("f")));
  EXPECT_EQ(rows, (Rows{"create f", "dirty f", "extent @0+300000",
                        "extent @500000+3"}));
}

TEST_F(IoTest, FsyncFdatasyncFsyncdirClose) {
  Log log;
  const auto rows = compare(
      [](auto& r) { return ::mkdir(P(r, "d").c_str(), 0755); },
      [&](auto& r) {
        log.start();
        const int fd = ::open(P(r, "d/f").c_str(), O_CREAT | O_WRONLY, 0644);
        log.add("write", ::write(fd, "data", 4));
        log.add("fdatasync", ::fdatasync(fd));
        log.add("fsync", ::fsync(fd));
        const int ro = ::open(P(r, "d/f").c_str(), O_RDONLY);
        log.add("fsync_ro", ::fsync(ro));
        log.add("close_ro", ::close(ro));
        const int dfd = ::open(P(r, "d").c_str(), O_RDONLY | O_DIRECTORY);
        log.add("fsyncdir", ::fsync(dfd));
        log.add("fdatasyncdir", ::fdatasync(dfd));
        log.add("closedir", ::close(dfd));
        return ::close(fd);
      },
      {"d", "d/f"});
  EXPECT_EQ(log.side[0], log.side[1]);
  // fsync journals the written extent before it returns.
  EXPECT_EQ(rows, (Rows{"create d/f", "dirty d/f", "extent @0+4"}));
}

TEST_F(IoTest, Xattrs) {
  Log log;
  const auto rows = compare(
      [](auto& r) { return make_file(P(r, "f")); },
      [&](auto& r) {
        log.start();
        const std::string f = P(r, "f");
        char buf[64];
        log.add("get_missing",
                ::getxattr(f.c_str(), "user.a", buf, sizeof buf));
        log.add("replace_missing",
                ::setxattr(f.c_str(), "user.a", "1", 1, XATTR_REPLACE));
        log.add("create",
                ::setxattr(f.c_str(), "user.a", "value-a", 7, XATTR_CREATE));
        log.add("create_again",
                ::setxattr(f.c_str(), "user.a", "x", 1, XATTR_CREATE));
        log.add("replace",
                ::setxattr(f.c_str(), "user.a", "value-A2", 8, XATTR_REPLACE));
        log.add("set_b", ::setxattr(f.c_str(), "user.b", "", 0, 0));
        log.add("size", ::getxattr(f.c_str(), "user.a", nullptr, 0));
        log.add("erange", ::getxattr(f.c_str(), "user.a", buf, 3));
        const long k = ::getxattr(f.c_str(), "user.a", buf, sizeof buf);
        log.add_text("value", std::string(buf, k < 0 ? 0 : k));
        log.add("list_size", ::listxattr(f.c_str(), nullptr, 0));
        log.add("list_erange", ::listxattr(f.c_str(), buf, 3));
        const long l = ::listxattr(f.c_str(), buf, sizeof buf);
        log.add_text("list", std::string(buf, l < 0 ? 0 : l));
        log.add("remove", ::removexattr(f.c_str(), "user.b"));
        log.add("remove_missing", ::removexattr(f.c_str(), "user.b"));
        log.add("bad_ns", ::setxattr(f.c_str(), "nonamespace", "1", 1, 0));
        return 0;
      },
      {"f"});
  ASSERT_EQ(log.side.size(), 2u);
  EXPECT_EQ(log.side[0], log.side[1]);
  EXPECT_EQ(rows, (Rows{"setxattr f>user.a", "setxattr f>user.a",
                        "setxattr f>user.b", "removexattr f>user.b"}));
  // user.* xattrs on a symlink: refused natively (EPERM).
  compare([](auto& r) { return ::symlink("f", P(r, "s").c_str()); },
          [](auto& r) {
            return ::lsetxattr(P(r, "s").c_str(), "user.x", "1", 1, 0);
          },
          {"s"});
  // ctime moves with an xattr change.
  compare(nullptr,
          [](auto& r) {
            return ::setxattr(P(r, "f").c_str(), "user.c", "1", 1, 0);
          },
          {"f"});
}

TEST_F(IoTest, FallocatePunchHoleAndSeekDataHole) {
  Log log;
  const auto rows = compare(
      nullptr,
      [&](auto& r) {
        log.start();
        const int fd = ::open(P(r, "f").c_str(), O_CREAT | O_RDWR, 0644);
        log.add("alloc", ::fallocate(fd, 0, 0, 1 << 20));
        std::string block(4096, 'x');
        log.add("write0", ::pwrite(fd, block.data(), block.size(), 0));
        log.add("write2m", ::pwrite(fd, block.data(), block.size(), 2 << 20));
        log.add("punch",
                ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            4096, (1 << 20) - 4096));
        log.add("punch_no_keep",
                ::fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
        log.add("keep_size",
                ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 3 << 20, 4096));
        struct stat st;
        ::fstat(fd, &st);
        log.add("size", st.st_size);
        log.add("blocks", st.st_blocks);
        log.add("hole0", ::lseek(fd, 0, SEEK_HOLE));
        log.add("data4k", ::lseek(fd, 4096, SEEK_DATA));
        log.add("hole2m", ::lseek(fd, 2 << 20, SEEK_HOLE));
        log.add("data_eof", ::lseek(fd, (2 << 20) + 4096, SEEK_DATA));
        log.add("hole_past", ::lseek(fd, 8 << 20, SEEK_HOLE));
        return ::close(fd);
      },
      {"f"});
  ASSERT_EQ(log.side.size(), 2u);
  EXPECT_EQ(log.side[0], log.side[1]);
  EXPECT_EQ(read_all(n("f")), read_all(m("f")));
  // The KEEP_SIZE allocation past the end changed nothing readable.
  EXPECT_EQ(rows, (Rows{"create f", "dirty f", "extent @0+1048576",
                        "extent @2097152+4096"}));
}

TEST_F(IoTest, CopyFileRange) {
  std::string src(10000, 'a');
  for (size_t i = 0; i < src.size(); ++i)
    src[i] = static_cast<char>('a' + i % 26);
  Log log;
  const auto rows = compare(
      [&](auto& r) {
        if (make_file(P(r, "src"), src) < 0) return -1L;
        return make_file(P(r, "dst"), "0123456789");
      },
      [&](auto& r) {
        log.start();
        const int in = ::open(P(r, "src").c_str(), O_RDONLY);
        const int out = ::open(P(r, "dst").c_str(), O_WRONLY);
        loff_t oi = 100, oo = 50;
        log.add("copy", ::copy_file_range(in, &oi, out, &oo, 5000, 0));
        log.add("off_in", oi);
        log.add("off_out", oo);
        loff_t past = 20000;
        log.add("copy_eof", ::copy_file_range(in, &past, out, &oo, 10, 0));
        log.add("copy_badfd",
                ::copy_file_range(out, nullptr, in, nullptr, 10, 0));
        ::close(in);
        return ::close(out);
      },
      {"src", "dst"});
  EXPECT_EQ(log.side[0], log.side[1]);
  EXPECT_EQ(read_all(n("dst")), read_all(m("dst")));
  EXPECT_EQ(rows, (Rows{"dirty dst", "extent @50+5000"}));
}

TEST_F(IoTest, LocksConflictBetweenProcesses) {
  for (const std::string& r : {n(), m()}) {
    SCOPED_TRACE(r);
    const std::string f = P(r, "f");
    ASSERT_EQ(make_file(f, "0123456789"), 0);
    const int fd = ::open(f.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    EXPECT_EQ(as_user(0, 0, {0},
                      [&] {
                        const int o = ::open(f.c_str(), O_RDWR);
                        return ::flock(o, LOCK_EX | LOCK_NB);
                      }),
              (Outcome{-1, EWOULDBLOCK}));
    EXPECT_EQ(as_user(0, 0, {0},
                      [&] {
                        const int o = ::open(f.c_str(), O_RDWR);
                        return ::flock(o, LOCK_SH | LOCK_NB);
                      }),
              (Outcome{-1, EWOULDBLOCK}));
    ASSERT_EQ(::flock(fd, LOCK_UN), 0);
    EXPECT_EQ(as_user(0, 0, {0},
                      [&] {
                        const int o = ::open(f.c_str(), O_RDWR);
                        return ::flock(o, LOCK_EX | LOCK_NB);
                      }),
              (Outcome{0, 0}));

    struct flock lk {};
    lk.l_type = F_WRLCK;
    lk.l_whence = SEEK_SET;
    lk.l_start = 0;
    lk.l_len = 5;
    ASSERT_EQ(::fcntl(fd, F_SETLK, &lk), 0);
    const pid_t me = ::getpid();
    EXPECT_EQ(as_user(0, 0, {0},
                      [&] {
                        const int o = ::open(f.c_str(), O_RDWR);
                        struct flock w {};
                        w.l_type = F_WRLCK;
                        w.l_whence = SEEK_SET;
                        w.l_start = 3;
                        w.l_len = 4;
                        const int rc = ::fcntl(o, F_SETLK, &w);
                        return rc < 0 ? rc : 1000;
                      }),
              (Outcome{-1, EAGAIN}));
    EXPECT_EQ(as_user(0, 0, {0},
                      [&] {
                        const int o = ::open(f.c_str(), O_RDWR);
                        struct flock w {};
                        w.l_type = F_RDLCK;
                        w.l_whence = SEEK_SET;
                        w.l_start = 0;
                        w.l_len = 1;
                        if (::fcntl(o, F_GETLK, &w) < 0) return -1L;
                        return w.l_type == F_WRLCK && w.l_pid == me ? 7L : 8L;
                      }),
              (Outcome{7, 0}));
    // Outside the locked range: granted.
    EXPECT_EQ(as_user(0, 0, {0},
                      [&] {
                        const int o = ::open(f.c_str(), O_RDWR);
                        struct flock w {};
                        w.l_type = F_WRLCK;
                        w.l_whence = SEEK_SET;
                        w.l_start = 5;
                        w.l_len = 5;
                        return ::fcntl(o, F_SETLK, &w);
                      }),
              (Outcome{0, 0}));
    // close() of any descriptor of the file drops the process's locks.
    ::close(::open(f.c_str(), O_RDONLY));
    EXPECT_EQ(as_user(0, 0, {0},
                      [&] {
                        const int o = ::open(f.c_str(), O_RDWR);
                        struct flock w {};
                        w.l_type = F_WRLCK;
                        w.l_whence = SEEK_SET;
                        return ::fcntl(o, F_SETLK, &w);
                      }),
              (Outcome{0, 0}));
    ::close(fd);
  }
}

}  // namespace
}  // namespace mirrorfs::fs::testing

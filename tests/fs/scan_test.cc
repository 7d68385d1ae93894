// The start-up scan against a real directory and a real state database
// (no FUSE): first start journals everything, a second finds nothing, and
// each kind of change behind the mount is journaled.
#include "fs/scan.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "db/catalog.h"
#include "db/journal.h"
#include "db/schema.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::fs {
namespace {

using db::JournalKind;

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.file("backing");
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    auto d = db::open_state_db(tmp_.file("state.db"));
    ASSERT_TRUE(d.is_ok());
    db_ = std::move(*d);
  }

  // Scans and returns the journal rows it wrote, as "kind path[>path2]".
  std::vector<std::string> scan(ScanStats* stats = nullptr) {
    auto j = db::Journal::open(*db_);
    const uint64_t before = *(*j)->last_seq();
    const int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY);
    Result<ScanStats> s = scan_backing(*db_, fd, ScanOptions{.batch = 3});
    ::close(fd);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    if (stats && s.is_ok()) *stats = *s;
    std::vector<std::string> out;
    auto rows = (*j)->read_after(before, 100000);
    EXPECT_TRUE(rows.is_ok());
    for (const auto& r : *rows) {
      std::string line = std::to_string(static_cast<int>(r.kind)) + " " + r.path;
      if (!r.path2.empty()) line += ">" + r.path2;
      out.push_back(line);
    }
    return out;
  }
  void write(const std::string& rel, const std::string& data) {
    std::ofstream(root_ + "/" + rel) << data;
  }
  static std::string k(JournalKind kind, const std::string& rest) {
    return std::to_string(static_cast<int>(kind)) + " " + rest;
  }

  db::testing::TempDir tmp_;
  std::string root_;
  std::unique_ptr<db::Database> db_;
};

TEST_F(ScanTest, FirstStartJournalsEverythingThenNothing) {
  ASSERT_EQ(::mkdir((root_ + "/d").c_str(), 0755), 0);
  write("d/f", "hello");
  write("g", "");
  ASSERT_EQ(::symlink("d/f", (root_ + "/s").c_str()), 0);
  ASSERT_EQ(::link((root_ + "/d/f").c_str(), (root_ + "/h").c_str()), 0);
  ASSERT_EQ(::mkfifo((root_ + "/p").c_str(), 0600), 0);
  // Sorted by name per directory, parents before children: d, g, h, p, s,
  // then d/f — the hard link h comes first and d/f joins it. The root's
  // attributes first: its mtime is new to the catalog.
  EXPECT_EQ(scan(), (std::vector<std::string>{
                        k(JournalKind::kSetattr, ""),
                        k(JournalKind::kMkdir, "d"),
                        k(JournalKind::kCreate, "g"),
                        k(JournalKind::kDirty, "g"),
                        k(JournalKind::kCreate, "h"),
                        k(JournalKind::kDirty, "h"),
                        k(JournalKind::kMknod, "p"),
                        k(JournalKind::kSymlink, "s>d/f"),
                        k(JournalKind::kLink, "h>d/f"),
                    }));
  ScanStats st;
  EXPECT_EQ(scan(&st), std::vector<std::string>{});
  EXPECT_EQ(st.entries, 6u);
  EXPECT_EQ(st.changed + st.created + st.removed, 0u);
}

TEST_F(ScanTest, ChangesBehindTheMountAreJournaled) {
  ASSERT_EQ(::mkdir((root_ + "/d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root_ + "/d/sub").c_str(), 0755), 0);
  write("d/sub/x", "x");
  write("f", "one");
  write("same", "same");
  ASSERT_EQ(::symlink("a", (root_ + "/s").c_str()), 0);
  scan();

  write("f", "two, longer");                                 // content
  std::filesystem::remove_all(root_ + "/d");                 // a subtree
  ASSERT_EQ(::chmod((root_ + "/same").c_str(), 0600), 0);    // metadata
  ASSERT_EQ(::unlink((root_ + "/s").c_str()), 0);            // retargeted
  ASSERT_EQ(::symlink("b", (root_ + "/s").c_str()), 0);
  write("new", "n");
  EXPECT_EQ(scan(), (std::vector<std::string>{
                        k(JournalKind::kSetattr, ""),  // its entries changed
                        k(JournalKind::kUnlink, "d/sub/x"),
                        k(JournalKind::kRmdir, "d/sub"),
                        k(JournalKind::kRmdir, "d"),
                        k(JournalKind::kDirty, "f"),
                        k(JournalKind::kCreate, "new"),
                        k(JournalKind::kDirty, "new"),
                        k(JournalKind::kUnlink, "s"),
                        k(JournalKind::kSymlink, "s>b"),
                        k(JournalKind::kDirty, "same"),
                    }));
  EXPECT_EQ(scan(), std::vector<std::string>{});
}

// A file replaced by another of another kind, and a file replaced by a
// rename (new inode, same size and times): both seen.
TEST_F(ScanTest, ReplacedEntriesAreSeen) {
  write("a", "data");
  write("b", "data");
  scan();
  ASSERT_EQ(::unlink((root_ + "/a").c_str()), 0);
  ASSERT_EQ(::mkdir((root_ + "/a").c_str(), 0755), 0);
  write("b.tmp", "DATA");
  ASSERT_EQ(::rename((root_ + "/b.tmp").c_str(), (root_ + "/b").c_str()), 0);
  // The root's mtime moved with its entries: journaled with its attributes.
  EXPECT_EQ(scan(), (std::vector<std::string>{
                        k(JournalKind::kSetattr, ""),
                        k(JournalKind::kUnlink, "a"),
                        k(JournalKind::kMkdir, "a"),
                        k(JournalKind::kDirty, "b"),
                    }));
}

// A directory's times set behind the catalog (a utimens the mount replied
// to but never committed, before a SIGKILL) are journaled with its mode
// and owner, and the catalog follows, so the next scan finds nothing.
TEST_F(ScanTest, DirectoryMtimeChangesAreSeen) {
  ASSERT_EQ(::mkdir((root_ + "/d").c_str(), 0755), 0);
  scan();
  const struct timespec times[2] = {{1000, 5}, {2000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (root_ + "/d").c_str(), times, 0), 0);
  EXPECT_EQ(scan(), (std::vector<std::string>{k(JournalKind::kSetattr, "d")}));
  EXPECT_EQ(scan(), std::vector<std::string>{});
}

}  // namespace
}  // namespace mirrorfs::fs

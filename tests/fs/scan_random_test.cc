// The start-up scan against random changes made behind the catalog (what
// a SIGKILL'd mount leaves: operations done in BACKING, never journaled):
// replaying what the scan journaled on a copy of the tree as the catalog
// knew it must give BACKING again — names, kinds, modes, contents and
// hard-link groups. Renames over other files, links to renamed files,
// inode numbers reused: the cases a scan that trusts names gets wrong.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>

#include "db/journal.h"
#include "db/schema.h"
#include "fs/scan.h"
#include "tests/db/test_dir.h"
#include "tests/fs/journal_replay.h"
#include "tests/fs/random_workload.h"

namespace mirrorfs::fs {
namespace {

class ScanRandomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = tmp_.file("backing");
    replica_ = tmp_.file("replica");
    db_path_ = tmp_.file("state.db");
    ASSERT_EQ(::mkdir(backing_.c_str(), 0755), 0);
    auto d = db::open_state_db(db_path_);
    ASSERT_TRUE(d.is_ok());
    db_ = std::move(*d);
  }

  // Scans BACKING; returns the journal rows it wrote.
  std::vector<db::JournalRecord> scan() {
    auto j = db::Journal::open(*db_);
    const uint64_t before = *(*j)->last_seq();
    const int fd = ::open(backing_.c_str(), O_RDONLY | O_DIRECTORY);
    Result<ScanStats> s = scan_backing(*db_, fd, ScanOptions{.batch = 7});
    ::close(fd);
    EXPECT_TRUE(s.is_ok()) << s.status().to_string();
    auto rows = (*j)->read_after(before, 1000000);
    EXPECT_TRUE(rows.is_ok());
    return rows.is_ok() ? *rows : std::vector<db::JournalRecord>{};
  }

  std::string b(const std::string& rel) const { return backing_ + "/" + rel; }

  void write(const std::string& rel, std::mt19937& rng) {
    std::ofstream(b(rel), std::ios::trunc) << std::string(1 + rng() % 300, 'a' + rng() % 26);
  }

  // One random change behind the catalog. `files` and `dirs` follow it.
  void step(std::mt19937& rng, std::vector<std::string>& files, std::vector<std::string>& dirs) {
    auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
    auto fresh = [&](const std::string& dir) {
      return (dir.empty() ? "" : dir + "/") + "n" + std::to_string(next_++);
    };
    const unsigned kind = rng() % 100;
    if (files.empty() || kind < 15) {
      const std::string f = fresh(pick(dirs));
      write(f, rng);
      files.push_back(f);
    } else if (kind < 25) {  // unlink
      const std::string f = pick(files);
      ASSERT_EQ(::unlink(b(f).c_str()), 0) << f;
      std::erase(files, f);
    } else if (kind < 45) {  // rename, often over another file
      const std::string f = pick(files);
      const std::string to = rng() % 2 ? pick(files) : fresh(pick(dirs));
      if (to == f) return;
      ASSERT_EQ(::rename(b(f).c_str(), b(to).c_str()), 0) << f << " -> " << to;
      std::erase(files, f);
      std::erase(files, to);
      files.push_back(to);
    } else if (kind < 60) {  // hard link
      const std::string to = fresh(pick(dirs));
      ASSERT_EQ(::link(b(pick(files)).c_str(), b(to).c_str()), 0);
      files.push_back(to);
    } else if (kind < 70) {
      ASSERT_EQ(::chmod(b(pick(files)).c_str(), rng() % 2 ? 0600 : 0664), 0);
    } else if (kind < 80) {
      write(pick(files), rng);  // in place: same inode
    } else if (kind < 88) {   // mkdir
      const std::string d = fresh(pick(dirs));
      ASSERT_EQ(::mkdir(b(d).c_str(), 0755), 0);
      dirs.push_back(d);
    } else {  // rename a directory (not into itself)
      const std::string d = pick(dirs);
      const std::string parent = pick(dirs);
      if (d.empty() || parent == d || parent.rfind(d + "/", 0) == 0) return;
      const std::string to = fresh(parent);
      ASSERT_EQ(::rename(b(d).c_str(), b(to).c_str()), 0);
      auto moved = [&](std::string& p) {
        if (p == d || p.rfind(d + "/", 0) == 0) p = to + p.substr(d.size());
      };
      std::for_each(files.begin(), files.end(), moved);
      std::for_each(dirs.begin(), dirs.end(), moved);
    }
  }

  db::testing::TempDir tmp_;
  std::string backing_, replica_, db_path_;
  std::unique_ptr<db::Database> db_;
  int next_ = 0;
};

TEST_F(ScanRandomTest, ReplayingTheScanGivesBackingAgain) {
  const unsigned seed = testing::seed_from_env("MIRRORFS_SCAN_SEED");
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: MIRRORFS_SCAN_SEED=" +
               std::to_string(seed) + ")");
  std::mt19937 rng(seed);
  std::vector<std::string> files, dirs{""};
  for (int i = 0; i < 40; ++i) ASSERT_NO_FATAL_FAILURE(step(rng, files, dirs));
  scan();  // the first start: the catalog now knows the tree
  ASSERT_EQ(std::system(("cp -a " + backing_ + " " + replica_).c_str()), 0);
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) ASSERT_NO_FATAL_FAILURE(step(rng, files, dirs));
    const std::vector<db::JournalRecord> rows = scan();
    ASSERT_EQ(testing::replay_journal(rows, replica_, backing_, db_path_), "");
    ASSERT_EQ(testing::compare_trees(replica_, backing_), "");
    ASSERT_TRUE(scan().empty()) << "a second scan journals nothing";
  }
}

}  // namespace
}  // namespace mirrorfs::fs

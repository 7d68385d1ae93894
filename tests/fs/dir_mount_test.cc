// Directory streams on a real mount: every name with its type, a
// directory of 5000 entries, telldir/seekdir; compared with native.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/fs/compare.h"

namespace mirrorfs::fs::testing {
namespace {

using DirTest = CompareTest;

std::string P(const std::string& root, const char* rel) {
  return root + "/" + rel;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return {"<errno " + std::to_string(errno) + ">"};
  while (dirent* e = ::readdir(d)) {
    names.push_back(std::string(e->d_name) + ":" + std::to_string(e->d_type));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(DirTest, ReaddirListsEveryNameWithItsType) {
  for (const std::string& r : {n(), m()}) {
    ASSERT_EQ(make_file(P(r, "f")), 0);
    ASSERT_EQ(::mkdir(P(r, "d").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("f", P(r, "s").c_str()), 0);
    ASSERT_EQ(::mkfifo(P(r, "p").c_str(), 0644), 0);
  }
  EXPECT_EQ(list_dir(n()), list_dir(m()));
  EXPECT_EQ(list_dir(m()).size(), 6u);
  EXPECT_EQ(list_dir(n("d")), list_dir(m("d")));
  compare(nullptr,
          [](auto& r) {
            DIR* d = ::opendir(P(r, "f").c_str());
            return d ? ::closedir(d) : -1;
          },
          {});
  compare(nullptr,
          [](auto& r) {
            DIR* d = ::opendir(P(r, "nope").c_str());
            return d ? ::closedir(d) : -1;
          },
          {});
}

TEST_F(DirTest, LargeDirectoryAndSeekdir) {
  constexpr int kFiles = 5000;
  for (const std::string& r : {n(), m()}) {
    ASSERT_EQ(::mkdir(P(r, "big").c_str(), 0755), 0);
    for (int i = 0; i < kFiles; ++i) {
      const std::string p =
          r + "/big/entry_with_a_longish_name_" + std::to_string(i);
      const int fd = ::open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      ASSERT_GE(fd, 0) << p;
      ::close(fd);
    }
  }
  const auto names = list_dir(m("big"));
  EXPECT_EQ(names.size(), kFiles + 2u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(),
            names.size())
      << "a name came twice";
  EXPECT_EQ(names, list_dir(n("big")));

  // telldir/seekdir: the names after a saved position come again, in the
  // same order, after reading on and seeking back; also across a reopen
  // the kernel cannot serve from its cache.
  DIR* d = ::opendir(m("big").c_str());
  ASSERT_NE(d, nullptr);
  for (int i = 0; i < 2500; ++i) ASSERT_NE(::readdir(d), nullptr);
  const long pos = ::telldir(d);
  std::vector<std::string> first, again;
  for (int i = 0; i < 1000; ++i) first.push_back(::readdir(d)->d_name);
  ::seekdir(d, pos);
  for (int i = 0; i < 1000; ++i) again.push_back(::readdir(d)->d_name);
  EXPECT_EQ(first, again);
  ::rewinddir(d);
  size_t count = 0;
  while (::readdir(d) != nullptr) ++count;
  EXPECT_EQ(count, kFiles + 2u);
  ::closedir(d);
}

}  // namespace
}  // namespace mirrorfs::fs::testing

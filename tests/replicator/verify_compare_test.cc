// compare_listings: the differences `mirrorfs verify` reports, from two
// listings and what the journal holds in flight.
#include "replicator/verify_compare.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace mirrorfs::replicator {
namespace {

wire::ListEntry file(const std::string& path, uint8_t content, uint64_t ino = 0) {
  wire::ListEntry e;
  e.path = path;
  e.mode = S_IFREG | 0644;
  e.nlink = 1;
  e.ino = ino;
  e.size = 10;
  e.mtime_ns = 1000;
  e.has_hash = true;
  e.hash.fill(content);
  return e;
}

wire::ListEntry dir(const std::string& path) {
  wire::ListEntry e;
  e.path = path;
  e.mode = S_IFDIR | 0755;
  e.nlink = 2;
  e.mtime_ns = 2000;
  return e;
}

std::vector<std::string> lines(const VerifyReport& r) {
  std::vector<std::string> out;
  for (const Difference& d : r.differences) out.push_back(d.kind + "  " + d.path);
  for (const std::string& p : r.pending) out.push_back("pending  " + p);
  return out;
}

TEST(VerifyCompareTest, IdenticalListingsHaveNoDifference) {
  const std::vector<wire::ListEntry> v = {dir("d"), file("d/f", 1)};
  const VerifyReport r = compare_listings(v, v, {});
  EXPECT_TRUE(r.differences.empty());
  EXPECT_EQ(r.entries, 2u);
}

TEST(VerifyCompareTest, EachKindOfDifference) {
  wire::ListEntry link;
  link.path = "ln";
  link.mode = S_IFLNK | 0777;
  link.target = "a";
  wire::ListEntry other_link = link;
  other_link.target = "b";
  wire::ListEntry moded = file("m", 1);
  moded.mode = S_IFREG | 0600;
  wire::ListEntry late = file("t", 1);
  late.mtime_ns = 5;
  wire::ListEntry unhashed = file("u", 1);
  unhashed.has_hash = false;
  const std::vector<wire::ListEntry> src = {file("c", 1), file("gone", 1), link, file("m", 1),
                                            file("t", 1), file("u", 1),    dir("x")};
  const std::vector<wire::ListEntry> dst = {file("c", 2), other_link, moded, late,
                                            unhashed,     file("x", 1), file("zz", 1)};
  const VerifyReport r = compare_listings(src, dst, {});
  EXPECT_EQ(lines(r), (std::vector<std::string>{"content  c", "missing  gone", "target  ln",
                                                "mode  m", "mtime  t", "content  u", "type  x",
                                                "extra  zz"}));
  EXPECT_EQ(r.differences.back().mirror_mode, static_cast<uint32_t>(S_IFREG | 0644));
  EXPECT_EQ(r.differences[1].mirror_mode, 0u);  // missing: nothing there
}

TEST(VerifyCompareTest, HardLinkGroupsAndOwners) {
  std::vector<wire::ListEntry> src = {file("a", 1, 7), file("b", 1, 7)};
  src[0].nlink = src[1].nlink = 2;
  std::vector<wire::ListEntry> dst = {file("a", 1, 8), file("b", 1, 9)};
  dst[0].uid = 5;  // two owners on the mirror: it can set them
  const VerifyReport r = compare_listings(src, dst, {});
  EXPECT_EQ(lines(r), (std::vector<std::string>{"owner  a", "link  a", "link  b"}));
}

TEST(VerifyCompareTest, OneOwnerTheSourceDoesNotShareIsNotCompared) {
  std::vector<wire::ListEntry> src = {file("a", 1), file("b", 1)};
  src[1].uid = 1000;
  std::vector<wire::ListEntry> dst = src;
  for (wire::ListEntry& e : dst) e.uid = e.gid = 999;  // serve not root
  EXPECT_TRUE(compare_listings(src, dst, {}).differences.empty());
}

TEST(VerifyCompareTest, ChangesInFlightArePending) {
  const std::vector<wire::ListEntry> src = {dir("d"), file("d/f", 1), file("d/g", 1),
                                            dir("r"), file("r/x", 1)};
  std::vector<wire::ListEntry> dst = {dir("d"), file("d/f", 2), file("d/g", 2), file("old/x", 1)};
  dst[0].mtime_ns = 1;
  PendingPaths p;
  p.subtrees = {"d/f", "r", "old"};  // a write; a directory renamed old -> r
  p.exact = {"d"};                   // d's entries changed
  const VerifyReport r = compare_listings(src, dst, p);
  EXPECT_EQ(lines(r), (std::vector<std::string>{"content  d/g", "pending  d", "pending  d/f",
                                                "pending  r", "pending  r/x", "pending  old/x"}));
}

}  // namespace
}  // namespace mirrorfs::replicator

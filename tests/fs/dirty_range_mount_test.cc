// Dirty ranges are complete: after random content operations through the
// mount (pwrite, mmap writes, truncate down and up, O_TRUNC opens,
// fallocate in every mode, copy_file_range), the file's previous version
// plus ONLY the bytes its journaled extents cover (read from BACKING), cut
// at the smallest size its truncate rows record and sized as BACKING,
// equals BACKING. This is what a dirty-range delta trusts (DESIGN.md, "The
// replication path"; docs/fs.md, "What the journal promises about
// content"). kDirty rows are ignored: they are not a whole-file promise.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fs/mount_fixture.h"
#include "tests/fs/random_workload.h"

namespace mirrorfs::fs::testing {
namespace {

constexpr uint64_t kBlock = 4096;  // COLLAPSE/INSERT granularity on ext4

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class DirtyRangeTest : public MountTest {
 protected:
  // The previous version, the journal rows of "f" since `after`, and
  // BACKING: rebuilds and compares. Returns "" or the first difference.
  std::string check_rebuild(const std::string& prev, uint64_t after) {
    const std::vector<db::JournalRecord> rows = journal_after(after);
    const std::string now = slurp(b("f"));
    uint64_t id = 0;
    for (const auto& r : rows) {
      if (r.path == "f") id = r.file_id;
    }
    uint64_t cut = prev.size();
    std::vector<std::pair<uint64_t, uint64_t>> extents;
    for (const auto& r : rows) {
      if (r.file_id != id || id == 0) continue;
      if (r.kind == db::JournalKind::kTruncate) cut = std::min(cut, r.off);
      if (r.kind == db::JournalKind::kExtent) extents.emplace_back(r.off, r.len);
    }
    std::string out = prev.substr(0, std::min<uint64_t>(cut, now.size()));
    out.resize(now.size(), '\0');
    for (const auto& [off, len] : extents) {
      if (off >= now.size()) continue;
      const uint64_t end = std::min<uint64_t>(off + len, now.size());
      out.replace(off, end - off, now, off, end - off);
    }
    if (out.size() != now.size()) return "size differs";
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] != now[i]) {
        return "byte " + std::to_string(i) + " of " +
               std::to_string(now.size()) + " is not covered by the journal";
      }
    }
    return "";
  }
};

// The FUSE kernel module forwards only KEEP_SIZE, PUNCH_HOLE and
// ZERO_RANGE fallocates; it refuses COLLAPSE_RANGE and INSERT_RANGE with
// EOPNOTSUPP before the mount sees them (the mount journals them anyway,
// should a kernel forward them: docs/fs.md).
std::string shift_refused(const char* what) {
  return errno == EOPNOTSUPP ? std::string(what) + " refused by FUSE"
                             : std::string(what) + " failed";
}

// One random content operation on "f" through the mount; returns its name
// (for the trace), "" if it did not apply (e.g. a shift past the end).
std::string random_op(const std::string& mnt, std::mt19937& rng, int& fd) {
  auto pick = [&](uint64_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
  };
  struct stat st;
  if (::fstat(fd, &st) != 0) return "fstat failed";
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const uint64_t off = pick(size + 3 * kBlock);
  const uint64_t len = 1 + pick(3 * kBlock);
  std::string data(len, static_cast<char>('a' + pick(26)));
  switch (pick(13)) {
    case 0:
    case 1:
      return ::pwrite(fd, data.data(), len, static_cast<off_t>(off)) ==
                     static_cast<ssize_t>(len)
                 ? "pwrite"
                 : "pwrite failed";
    case 2: {  // through a shared mapping, as an editor or database would
      if (size == 0) return "";
      void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) return "mmap failed";
      const uint64_t o = pick(size);
      const uint64_t l = std::min<uint64_t>(len, size - o);
      std::memcpy(static_cast<char*>(p) + o, data.data(), l);
      const int r = ::msync(p, size, MS_SYNC);
      ::munmap(p, size);
      return r == 0 ? "mmap" : "msync failed";
    }
    case 3:
      return ::ftruncate(fd, static_cast<off_t>(pick(size + 1))) == 0
                 ? "truncate down" : "ftruncate failed";
    case 4:
      return ::ftruncate(fd, static_cast<off_t>(size + len)) == 0
                 ? "truncate up" : "ftruncate failed";
    case 5: {  // O_TRUNC reopen, then a little content
      ::close(fd);
      fd = ::open((mnt + "/f").c_str(), O_RDWR | O_TRUNC);
      if (fd < 0) return "open O_TRUNC failed";
      return ::pwrite(fd, data.data(), len / 2 + 1, 0) > 0 ? "O_TRUNC"
                                                            : "pwrite failed";
    }
    case 6:
      return ::fallocate(fd, 0, static_cast<off_t>(off),
                         static_cast<off_t>(len)) == 0 ? "fallocate"
                                                       : "fallocate failed";
    case 7:
      return ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                         static_cast<off_t>(len)) == 0
                 ? "fallocate KEEP_SIZE" : "fallocate failed";
    case 8:
      return ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                         static_cast<off_t>(off), static_cast<off_t>(len)) == 0
                 ? "PUNCH_HOLE" : "punch failed";
    case 9:
      return ::fallocate(fd, FALLOC_FL_ZERO_RANGE, static_cast<off_t>(off),
                         static_cast<off_t>(len)) == 0
                 ? "ZERO_RANGE" : "zero failed";
    case 10: {  // block-aligned, ending before the end of the file
      const uint64_t blocks = size / kBlock;
      if (blocks < 2) return "";
      const uint64_t o = pick(blocks - 1) * kBlock;
      const uint64_t l = (1 + pick(blocks - 1 - o / kBlock)) * kBlock;
      if (o + l >= size) return "";
      if (::fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, static_cast<off_t>(o),
                      static_cast<off_t>(l)) == 0) {
        return "COLLAPSE_RANGE";
      }
      return shift_refused("COLLAPSE_RANGE");
    }
    case 11: {  // block-aligned, starting before the end of the file
      if (size < kBlock) return "";
      const uint64_t o = pick(size / kBlock) * kBlock;
      if (::fallocate(fd, FALLOC_FL_INSERT_RANGE, static_cast<off_t>(o),
                      static_cast<off_t>((1 + pick(2)) * kBlock)) == 0) {
        return "INSERT_RANGE";
      }
      return shift_refused("INSERT_RANGE");
    }
    default: {  // from another file of the mount
      const int src = ::open((mnt + "/src").c_str(), O_RDONLY);
      if (src < 0) return "open src failed";
      loff_t in = static_cast<loff_t>(pick(60000));
      loff_t out = static_cast<loff_t>(off);
      const ssize_t n = ::copy_file_range(src, &in, fd, &out, len, 0);
      ::close(src);
      return n >= 0 ? "copy_file_range" : "copy_file_range failed";
    }
  }
}

TEST_F(DirtyRangeTest, JournaledExtentsCoverEveryChangedByte) {
  const unsigned seed = seed_from_env("MIRRORFS_DIRTY_SEED");
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay: MIRRORFS_DIRTY_SEED=" + std::to_string(seed) + ")");
  std::mt19937 rng(seed);
  {
    std::string init(50000, '\0'), src(64000, '\0');
    for (char& c : init) c = static_cast<char>(rng());
    for (char& c : src) c = static_cast<char>(rng());
    std::ofstream(b("f"), std::ios::binary) << init;
    std::ofstream(b("src"), std::ios::binary) << src;
  }
  mount();
  for (int round = 0; round < 40; ++round) {
    const std::string prev = slurp(b("f"));
    const uint64_t seq = last_seq();
    int fd = ::open(m("f").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    std::string trace;
    const int ops = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < ops; ++i) {
      const std::string what = random_op(m(), rng, fd);
      ASSERT_GE(fd, 0) << trace;
      ASSERT_EQ(what.find("failed"), std::string::npos)
          << what << " (" << std::strerror(errno) << ") after" << trace;
      if (!what.empty()) trace += " " + what;
    }
    ::close(fd);
    ASSERT_EQ(check_rebuild(prev, seq), "") << "round " << round << ":" << trace;
  }
  EXPECT_EQ(unmount(), 0);
}

}  // namespace
}  // namespace mirrorfs::fs::testing

// fsx on a real mount: thousands of random operations on a few files —
// writes, writes past EOF (holes), truncates down and up, MAP_SHARED
// writes, fallocate in four modes, copy_file_range, fsync, close and
// reopen, O_APPEND writes through a second descriptor — each read checked
// against an in-memory model of every file.
//
// At every close the test also checks what the replicator will rely on:
// - BACKING holds the model, byte for byte;
// - the journal covers the change: every byte that differs from what the
//   file held at its previous close lies inside a kExtent row journaled
//   between the two closes, or at or past the size of a kTruncate row
//   between them (a truncate tells the replicator everything from there
//   on moved). Bytes past the old size that read as zero need no row:
//   growing the file implies them.
//
// Environment: MIRRORFS_FSX_OPS (default 20000), MIRRORFS_FSX_SEED (default
// from std::random_device; printed, so a failure can be replayed).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "db/journal.h"
#include "db/schema.h"
#include "tests/fs/mount_fixture.h"

namespace mirrorfs::fs::testing {
namespace {

using db::JournalKind;
using Bytes = std::vector<uint8_t>;

constexpr int kFiles = 3;
constexpr uint64_t kMaxSize = 1 << 20;  // no file grows past 1 MiB
constexpr size_t kLogTail = 40;         // ops printed on a failure

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

enum Op {
  kWrite,
  kWritePastEof,
  kRead,
  kTruncateDown,
  kTruncateUp,
  kMmapWrite,
  kFallocate,
  kFallocateKeepSize,
  kPunchHole,
  kZeroRange,
  kCopyRange,
  kFsync,
  kCloseReopen,
  kAppend,
  kOpCount,
};
constexpr const char* kOpNames[kOpCount] = {
    "write",       "write_past_eof", "read",       "truncate_down",
    "truncate_up", "mmap_write",     "fallocate",  "fallocate_keep_size",
    "punch_hole",  "zero_range",     "copy_range", "fsync",
    "close_reopen", "append"};
// Relative frequencies.
constexpr int kWeights[kOpCount] = {20, 5, 20, 4, 4, 5, 3, 3, 3, 3, 5, 1, 3, 2};

class FsxMountTest : public MountTest {
 protected:
  int timeout() const override { return 600; }

  struct File {
    std::string name;
    int fd = -1;
    Bytes model;              // what the file holds now
    Bytes shadow;             // what it held at its last close
    uint64_t synced_seq = 0;  // the journal's last seq at that close
    uint64_t id = 0;          // catalog file id (from its kCreate row)
  };

  void run(uint64_t seed, uint64_t ops);

  // The last kLogTail operations, one per line.
  std::string log_tail() const {
    std::string s = "--- last operations (seed " + std::to_string(seed_) +
                    ") ---\n";
    for (const auto& l : log_) s += l + "\n";
    return s;
  }
  void log(const std::string& line) {
    log_.push_back("#" + std::to_string(op_no_) + " " + line);
    if (log_.size() > kLogTail) log_.pop_front();
  }
  // Records a failure with the op log; the run stops at the first.
  void fail(const std::string& what) {
    ADD_FAILURE() << what << "\n" << log_tail();
    failed_ = true;
  }

  Bytes random_bytes(size_t n) {
    Bytes b(n);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t r = rng_();
      std::memcpy(&b[i], &r, 8);
    }
    for (; i < n; ++i) b[i] = static_cast<uint8_t>(rng_());
    return b;
  }
  uint64_t below(uint64_t n) {  // uniform in [0, n); 0 if n == 0
    return n == 0 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_);
  }
  // Mostly small, sometimes large lengths, in [1, cap].
  uint64_t op_len(uint64_t cap) {
    if (cap == 0) return 0;
    const uint64_t r = below(10);
    const uint64_t max = r < 5 ? 512 : r < 9 ? 16384 : 131072;
    return 1 + below(std::min(cap, max));
  }
  // Page-aligned a third of the time (the cases that hit whole pages).
  uint64_t op_off(uint64_t limit) {
    uint64_t off = below(limit + 1);
    if (below(3) == 0) off &= ~uint64_t{4095};
    return off;
  }

  void open_file(File& f, int extra_flags);
  void close_and_check(File& f);
  void check_sync_point(File& f);
  void check_read(File& f, uint64_t off, uint64_t len);
  void check_backing(const File& f);
  void check_journal(File& f);
  void do_op(Op op, File& f);
  void do_fallocate(File& f, int mode, const char* name);

  std::mt19937_64 rng_;
  uint64_t seed_ = 0;
  uint64_t op_no_ = 0;
  std::deque<std::string> log_;
  bool failed_ = false;
  File files_[kFiles];
  bool unsupported_[kOpCount] = {};
  uint64_t done_[kOpCount] = {};
  std::unique_ptr<db::Database> db_;  // read-only use: the journal
  std::unique_ptr<db::Journal> journal_;
};

void FsxMountTest::open_file(File& f, int extra_flags) {
  f.fd = ::open(m(f.name).c_str(), O_RDWR | O_CLOEXEC | extra_flags, 0644);
  if (f.fd < 0) {
    fail("open " + f.name + ": " + std::strerror(errno));
    return;
  }
  if (extra_flags & O_TRUNC) f.model.clear();
}

void FsxMountTest::check_read(File& f, uint64_t off, uint64_t len) {
  Bytes got(len);
  const ssize_t n = ::pread(f.fd, got.data(), len, static_cast<off_t>(off));
  const uint64_t size = f.model.size();
  const uint64_t want = off >= size ? 0 : std::min(len, size - off);
  if (n < 0 || static_cast<uint64_t>(n) != want) {
    fail("read " + f.name + " @" + std::to_string(off) + "+" +
         std::to_string(len) + " returned " + std::to_string(n) +
         " (errno " + std::to_string(n < 0 ? errno : 0) + "), want " +
         std::to_string(want) + " (size " + std::to_string(size) + ")");
    return;
  }
  for (uint64_t i = 0; i < want; ++i) {
    if (got[i] != f.model[off + i]) {
      fail("read " + f.name + " @" + std::to_string(off) + "+" +
           std::to_string(len) + ": first wrong byte at " +
           std::to_string(off + i) + ": got " + std::to_string(got[i]) +
           ", want " + std::to_string(f.model[off + i]));
      return;
    }
  }
}

void FsxMountTest::check_backing(const File& f) {
  const std::string got = read_all(b(f.name));
  // memcmp of an empty model would pass a null pointer (UB).
  if (got.size() == f.model.size() &&
      (got.empty() || std::memcmp(got.data(), f.model.data(), got.size()) == 0)) {
    return;
  }
  size_t i = 0;
  while (i < got.size() && i < f.model.size() &&
         static_cast<uint8_t>(got[i]) == f.model[i]) {
    ++i;
  }
  fail("BACKING/" + f.name + " differs from the model: size " +
       std::to_string(got.size()) + " vs " + std::to_string(f.model.size()) +
       ", first difference at " + std::to_string(i));
}

// The journal rows of `f` since its last close must cover every byte
// that changed since (see the top of the file).
void FsxMountTest::check_journal(File& f) {
  commit_mount();  // as the replicator does before it reads
  auto rows = journal_->read_after(f.synced_seq, 10000000);
  if (!rows.is_ok()) {
    fail("read the journal: " + rows.status().to_string());
    return;
  }
  std::map<uint64_t, uint64_t> covered;  // start -> end, may overlap
  uint64_t truncated_from = UINT64_MAX;  // min kTruncate size
  for (const db::JournalRecord& r : *rows) {
    f.synced_seq = std::max(f.synced_seq, r.seq);
    if (r.file_id != f.id) continue;
    if (r.kind == JournalKind::kExtent) {
      uint64_t& end = covered[r.off];
      end = std::max(end, r.off + r.len);
    } else if (r.kind == JournalKind::kTruncate) {
      truncated_from = std::min(truncated_from, r.off);
    }
  }
  // Walk the changed bytes and the sorted extents together.
  auto it = covered.begin();
  uint64_t reach = 0;  // covered.[..it) reaches here
  const uint64_t old_size = f.shadow.size(), new_size = f.model.size();
  for (uint64_t i = 0; i < new_size && i < truncated_from; ++i) {
    const bool changed =
        i < old_size ? f.shadow[i] != f.model[i] : f.model[i] != 0;
    if (!changed) continue;
    while (it != covered.end() && it->first <= i) {
      reach = std::max(reach, it->second);
      ++it;
    }
    if (i < reach) continue;
    std::string extents;
    for (const auto& [s, e] : covered) {
      extents += " @" + std::to_string(s) + "+" + std::to_string(e - s);
    }
    fail("journal misses a change of " + f.name + " at byte " +
         std::to_string(i) + " (size " + std::to_string(old_size) + " -> " +
         std::to_string(new_size) + "); extents journaled since its last "
         "close:" + extents + "; truncated from " +
         (truncated_from == UINT64_MAX ? std::string("never")
                                       : std::to_string(truncated_from)));
    return;
  }
  // The size itself: a shrink needs a truncate row at or below it; growth
  // needs a row that reaches the new size.
  if (new_size < old_size && truncated_from > new_size) {
    fail("journal misses the shrink of " + f.name + " to " +
         std::to_string(new_size));
  }
  if (new_size > old_size) {
    bool reached = truncated_from != UINT64_MAX;
    for (const auto& [s, e] : covered) reached |= e >= new_size;
    if (!reached) {
      fail("journal misses the growth of " + f.name + " to " +
           std::to_string(new_size));
    }
  }
}

void FsxMountTest::close_and_check(File& f) {
  if (::close(f.fd) != 0) fail("close " + f.name + ": " + std::strerror(errno));
  f.fd = -1;
  check_sync_point(f);
}

// After a close of any descriptor of `f` (its flush journals the inode).
void FsxMountTest::check_sync_point(File& f) {
  if (failed_) return;
  check_backing(f);
  if (failed_) return;
  check_journal(f);
  f.shadow = f.model;
}

void FsxMountTest::do_fallocate(File& f, int mode, const char* name) {
  const uint64_t size = f.model.size();
  const uint64_t off = op_off(std::min(size + 65536, kMaxSize - 1));
  const uint64_t len = op_len(kMaxSize - off);
  log(f.name + " " + name + " @" + std::to_string(off) + "+" +
      std::to_string(len) + " (size " + std::to_string(size) + ")");
  if (::fallocate(f.fd, mode, static_cast<off_t>(off),
                  static_cast<off_t>(len)) != 0) {
    if (errno == EOPNOTSUPP) {  // the backing file system cannot
      unsupported_[mode == 0                      ? kFallocate
                   : mode == FALLOC_FL_KEEP_SIZE ? kFallocateKeepSize
                   : mode & FALLOC_FL_PUNCH_HOLE ? kPunchHole
                                                 : kZeroRange] = true;
      return;
    }
    fail(std::string(name) + " " + f.name + ": " + std::strerror(errno));
    return;
  }
  const uint64_t end = off + len;
  if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size) f.model.resize(end, 0);
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
    const uint64_t zend = std::min<uint64_t>(end, f.model.size());
    if (off < zend) std::fill(f.model.begin() + off, f.model.begin() + zend, 0);
  }
}

void FsxMountTest::do_op(Op op, File& f) {
  const uint64_t size = f.model.size();
  switch (op) {
    case kWrite:
    case kWritePastEof: {
      uint64_t off;
      if (op == kWrite) {
        off = op_off(std::min(size, kMaxSize - 1));
      } else {
        if (size + 1 >= kMaxSize) return;
        off = size + 1 + below(std::min<uint64_t>(kMaxSize - size - 1, 65536));
      }
      const uint64_t len = op_len(kMaxSize - off);
      log(f.name + " " + kOpNames[op] + " @" + std::to_string(off) + "+" +
          std::to_string(len) + " (size " + std::to_string(size) + ")");
      const Bytes data = random_bytes(len);
      const ssize_t n =
          ::pwrite(f.fd, data.data(), len, static_cast<off_t>(off));
      if (n != static_cast<ssize_t>(len)) {
        fail("pwrite returned " + std::to_string(n) + ": " +
             std::strerror(errno));
        return;
      }
      if (off + len > size) f.model.resize(off + len, 0);
      std::copy(data.begin(), data.end(), f.model.begin() + off);
      return;
    }
    case kRead: {
      // Now and then the whole file, else a range (sometimes past EOF).
      uint64_t off = 0, len = size + 1;
      if (below(8) != 0) {
        off = op_off(size + 4096);
        len = op_len(kMaxSize);
      }
      log(f.name + " read @" + std::to_string(off) + "+" +
          std::to_string(len) + " (size " + std::to_string(size) + ")");
      check_read(f, off, len);
      return;
    }
    case kTruncateDown:
    case kTruncateUp: {
      const uint64_t to = op == kTruncateDown
                              ? below(size + 1)
                              : size + below(std::min<uint64_t>(
                                           kMaxSize - size + 1, 262144));
      log(f.name + " " + kOpNames[op] + " " + std::to_string(size) + " -> " +
          std::to_string(to));
      if (::ftruncate(f.fd, static_cast<off_t>(to)) != 0) {
        fail("ftruncate: " + std::string(std::strerror(errno)));
        return;
      }
      f.model.resize(to, 0);
      return;
    }
    case kMmapWrite: {
      if (size == 0) return;
      const uint64_t off = below(size);
      const uint64_t len = op_len(size - off);
      const uint64_t map_off = off & ~uint64_t{4095};
      const uint64_t map_len = off + len - map_off;
      log(f.name + " mmap_write @" + std::to_string(off) + "+" +
          std::to_string(len) + " (size " + std::to_string(size) + ")");
      void* p = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                       f.fd, static_cast<off_t>(map_off));
      if (p == MAP_FAILED) {
        fail("mmap: " + std::string(std::strerror(errno)));
        return;
      }
      auto* base = static_cast<uint8_t*>(p);
      // What the mapping shows must be the model too.
      if (std::memcmp(base, f.model.data() + map_off, map_len) != 0) {
        fail("the mapping of " + f.name + " @" + std::to_string(map_off) +
             "+" + std::to_string(map_len) + " differs from the model");
      }
      const Bytes data = random_bytes(len);
      std::memcpy(base + (off - map_off), data.data(), len);
      if (::msync(p, map_len, MS_SYNC) != 0) {
        fail("msync: " + std::string(std::strerror(errno)));
      }
      ::munmap(p, map_len);
      std::copy(data.begin(), data.end(), f.model.begin() + off);
      return;
    }
    case kFallocate:
      return do_fallocate(f, 0, "fallocate");
    case kFallocateKeepSize:
      return do_fallocate(f, FALLOC_FL_KEEP_SIZE, "fallocate_keep_size");
    case kPunchHole:
      return do_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                          "punch_hole");
    case kZeroRange:
      return do_fallocate(f, FALLOC_FL_ZERO_RANGE, "zero_range");
    case kCopyRange: {
      File& src = files_[below(kFiles)];
      const uint64_t src_size = src.model.size();
      if (src_size == 0) return;
      const uint64_t in = below(src_size);
      uint64_t out = op_off(std::min(size + 65536, kMaxSize - 1));
      uint64_t len = op_len(std::min(src_size - in, kMaxSize - out));
      // Ranges of one file must not overlap (EINVAL): move the target
      // past the source.
      if (&src == &f && out < in + len && in < out + len) {
        out = in + len;
        if (out >= kMaxSize) return;
        len = std::min(len, kMaxSize - out);
      }
      log(f.name + " copy_range from " + src.name + " @" +
          std::to_string(in) + "+" + std::to_string(len) + " to @" +
          std::to_string(out) + " (sizes " + std::to_string(src_size) +
          ", " + std::to_string(size) + ")");
      loff_t off_in = static_cast<loff_t>(in), off_out = static_cast<loff_t>(out);
      const ssize_t n =
          ::copy_file_range(src.fd, &off_in, f.fd, &off_out, len, 0);
      if (n != static_cast<ssize_t>(len)) {
        fail("copy_file_range returned " + std::to_string(n) + ": " +
             std::strerror(errno));
        return;
      }
      const Bytes data(src.model.begin() + in, src.model.begin() + in + len);
      if (out + len > size) f.model.resize(out + len, 0);
      std::copy(data.begin(), data.end(), f.model.begin() + out);
      return;
    }
    case kFsync: {
      const bool data_only = below(2) == 0;
      log(f.name + (data_only ? " fdatasync" : " fsync"));
      if ((data_only ? ::fdatasync(f.fd) : ::fsync(f.fd)) != 0) {
        fail("fsync: " + std::string(std::strerror(errno)));
      }
      return;
    }
    case kCloseReopen: {
      const bool trunc = below(10) == 0;
      log(f.name + " close, reopen" + (trunc ? " O_TRUNC" : "") + " (size " +
          std::to_string(size) + ")");
      close_and_check(f);
      if (!failed_) open_file(f, trunc ? O_TRUNC : 0);
      return;
    }
    case kAppend: {
      // A second descriptor, O_APPEND (which the daemon drops: the
      // kernel places the data at EOF), closed at once: a sync point
      // while f.fd stays open.
      if (size + 1 >= kMaxSize) return;
      const uint64_t len = op_len(kMaxSize - size);
      log(f.name + " append " + std::to_string(len) + " (size " +
          std::to_string(size) + ") by a second fd, closed");
      const int fd = ::open(m(f.name).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (fd < 0) {
        fail("open O_APPEND: " + std::string(std::strerror(errno)));
        return;
      }
      const Bytes data = random_bytes(len);
      const ssize_t n = ::write(fd, data.data(), len);
      const int err = errno;
      if (::close(fd) != 0) fail("close: " + std::string(std::strerror(errno)));
      if (n != static_cast<ssize_t>(len)) {
        fail("append returned " + std::to_string(n) + ": " +
             std::strerror(err));
        return;
      }
      f.model.insert(f.model.end(), data.begin(), data.end());
      check_sync_point(f);
      return;
    }
    case kOpCount:
      break;
  }
}

void FsxMountTest::run(uint64_t seed, uint64_t ops) {
  seed_ = seed;
  rng_.seed(seed);
  ASSERT_NO_FATAL_FAILURE(mount());
  for (int i = 0; i < kFiles; ++i) {
    files_[i].name = "f" + std::to_string(i);
    open_file(files_[i], O_CREAT | O_EXCL);
    ASSERT_FALSE(failed_);
  }
  auto database = db::open_state_db(state_ + "/state.db");
  ASSERT_TRUE(database.is_ok()) << database.status().to_string();
  db_ = std::move(*database);
  auto journal = db::Journal::open(*db_);
  ASSERT_TRUE(journal.is_ok()) << journal.status().to_string();
  journal_ = std::move(*journal);
  // The files' catalog ids, from their kCreate rows.
  commit_mount();
  auto rows = journal_->read_after(0, 1000000);
  ASSERT_TRUE(rows.is_ok());
  for (File& f : files_) {
    for (const auto& r : *rows) {
      if (r.kind == JournalKind::kCreate && r.path == f.name) f.id = r.file_id;
      f.synced_seq = std::max(f.synced_seq, r.seq);
    }
    ASSERT_NE(f.id, 0u) << "no kCreate row for " << f.name;
  }

  std::discrete_distribution<int> pick(std::begin(kWeights),
                                       std::end(kWeights));
  for (op_no_ = 1; op_no_ <= ops && !failed_; ++op_no_) {
    const Op op = static_cast<Op>(pick(rng_));
    File& f = files_[below(kFiles)];
    if (unsupported_[op]) continue;
    do_op(op, f);
    ++done_[op];
  }
  for (File& f : files_) {
    if (failed_) break;
    log(f.name + " final close (size " + std::to_string(f.model.size()) +
        ")");
    close_and_check(f);
  }
  for (File& f : files_) {  // after a failure: let the unmount go through
    if (f.fd >= 0) ::close(f.fd);
  }
  journal_.reset();
  db_.reset();
  EXPECT_EQ(unmount(), 0);
  const std::string daemon_log = read_all(state_ + "/test.log");
  EXPECT_EQ(daemon_log.find("cannot record"), std::string::npos) << daemon_log;
  EXPECT_EQ(daemon_log.find("not recorded"), std::string::npos) << daemon_log;
  // After the unmount too, BACKING holds the model.
  for (const File& f : files_) {
    if (!failed_) check_backing(f);
  }
}

TEST_F(FsxMountTest, RandomOpsMatchModelAndJournal) {
  const uint64_t seed =
      env_u64("MIRRORFS_FSX_SEED", (uint64_t{std::random_device{}()} << 32) |
                                       std::random_device{}());
  const uint64_t ops = env_u64("MIRRORFS_FSX_OPS", 20000);
  SCOPED_TRACE("MIRRORFS_FSX_SEED=" + std::to_string(seed) +
               " MIRRORFS_FSX_OPS=" + std::to_string(ops));
  std::fprintf(stderr, "fsx: MIRRORFS_FSX_SEED=%llu MIRRORFS_FSX_OPS=%llu\n",
               static_cast<unsigned long long>(seed),
               static_cast<unsigned long long>(ops));
  const auto start = std::chrono::steady_clock::now();
  run(seed, ops);
  const double secs = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  std::string summary;
  for (int i = 0; i < kOpCount; ++i) {
    summary += std::string(" ") + kOpNames[i] + "=" + std::to_string(done_[i]);
    if (unsupported_[i]) summary += "(unsupported)";
  }
  std::fprintf(stderr, "fsx: %llu ops in %.1f s:%s\n",
               static_cast<unsigned long long>(op_no_ - 1), secs,
               summary.c_str());
}

}  // namespace
}  // namespace mirrorfs::fs::testing

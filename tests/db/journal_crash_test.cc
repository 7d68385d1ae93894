// Crash safety and concurrency of the journal across processes:
//  - a child appends batches in a loop and is killed with SIGKILL at random
//    moments, hundreds of times; after each kill the database opens
//    cleanly, every committed batch is whole and none is partial;
//  - a child appends at full speed while the parent reads and trims: no
//    error, no lost and no duplicated sequence number. It appends 300,000
//    records (about a second); MIRRORFS_SOAK_SECONDS=N makes it append
//    for N seconds instead, for a sustained run by hand.
// The seed is printed on failure.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "db/journal.h"
#include "db/schema.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::db {
namespace {

using testing::TempDir;

// Child: appends batch after batch; record i of batch n has off = n,
// len = the batch's size, file_id = i. Never returns.
[[noreturn]] void append_forever(const std::string& path, uint32_t seed) {
  auto db = open_state_db(path);
  if (!db.is_ok()) _exit(3);
  auto j = Journal::open(**db);
  if (!j.is_ok()) _exit(4);
  // Continue the numbering after the last (whole) committed batch.
  uint64_t batch_no = 1;
  auto last_seq = (*j)->last_seq();
  if (!last_seq.is_ok()) _exit(6);
  if (*last_seq > 0) {
    auto last = (*j)->read_after(*last_seq - 1, 1);
    if (!last.is_ok() || last->empty()) _exit(7);
    batch_no = (*last)[0].off + 1;
  }
  std::mt19937 rng(seed);
  for (;; ++batch_no) {
    JournalBatch b;
    const uint64_t n = 1 + rng() % 300;
    for (uint64_t i = 0; i < n; ++i) {
      JournalRecord r;
      r.kind = JournalKind::kExtent;
      r.file_id = i;
      r.off = batch_no;
      r.len = n;
      r.path = "file";
      b.add(std::move(r));
    }
    if (!(*j)->commit(b).is_ok()) _exit(5);
  }
}

// Checks the journal holds whole batches only, numbered 1..K in order.
void check_whole_batches(const std::string& path, uint32_t seed, int round,
                         uint64_t* batches) {
  auto db = open_state_db(path);
  ASSERT_TRUE(db.is_ok()) << "round " << round << " seed " << seed << ": "
                          << db.status().to_string();
  auto j = Journal::open(**db);
  ASSERT_TRUE(j.is_ok());
  auto rows = (*j)->read_after(0, SIZE_MAX >> 1);
  ASSERT_TRUE(rows.is_ok());
  uint64_t expect_batch = 1, expect_index = 0, prev_seq = 0, size = 0;
  for (const JournalRecord& r : *rows) {
    ASSERT_EQ(r.seq, prev_seq + 1)
        << "gap, round " << round << " seed " << seed;
    prev_seq = r.seq;
    if (expect_index == 0) {
      ASSERT_EQ(r.off, expect_batch) << "round " << round << " seed " << seed;
      size = r.len;
    }
    ASSERT_EQ(r.off, expect_batch) << "round " << round << " seed " << seed;
    ASSERT_EQ(r.file_id, expect_index) << "round " << round << " seed " << seed;
    ASSERT_EQ(r.len, size);
    if (++expect_index == size) {
      expect_index = 0;
      ++expect_batch;
    }
  }
  ASSERT_EQ(expect_index, 0u)
      << "a partial batch is visible, round " << round << " seed " << seed;
  *batches = expect_batch - 1;
}

TEST(JournalCrashTest, SigkillNeverLeavesAPartialBatch) {
  const uint32_t seed = static_cast<uint32_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  std::mt19937 rng(seed);
  TempDir dir;
  const std::string path = dir.file("state.db");
  ASSERT_TRUE(open_state_db(path).is_ok());
  uint64_t batches = 0;
  const int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) append_forever(path, seed + round);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child failed on its own (exit " << WEXITSTATUS(status)
        << "), round " << round << " seed " << seed;
    uint64_t now = 0;
    ASSERT_NO_FATAL_FAILURE(check_whole_batches(path, seed, round, &now));
    ASSERT_GE(now, batches) << "committed batches vanished, seed " << seed;
    batches = now;
  }
  // The kills must have landed while batches were being written, not
  // only before the first one.
  EXPECT_GT(batches, static_cast<uint64_t>(kRounds)) << "seed " << seed;
}

// The seconds MIRRORFS_SOAK_SECONDS asks for; 0 if unset.
int soak_seconds() {
  const char* s = std::getenv("MIRRORFS_SOAK_SECONDS");
  return s ? std::atoi(s) : 0;
}

TEST(JournalCrashTest, AppenderAndTrimmerInTwoProcesses) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  ASSERT_TRUE(open_state_db(path).is_ok());
  constexpr uint64_t kRecords = 300000;
  const int soak = soak_seconds();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Appends kRecords records (or for `soak` seconds), each numbered by
    // off = 1, 2, 3...
    auto db = open_state_db(path);
    if (!db.is_ok()) _exit(3);
    auto j = Journal::open(**db);
    if (!j.is_ok()) _exit(4);
    uint64_t next = 1;
    std::mt19937 rng(1);
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::seconds(soak);
    while (soak > 0 ? std::chrono::steady_clock::now() < end
                    : next <= kRecords) {
      JournalBatch b;
      uint64_t n = 1 + rng() % 500;
      if (soak == 0) n = std::min<uint64_t>(n, kRecords - next + 1);
      for (uint64_t i = 0; i < n; ++i) b.add_extent(1, next++, 1);
      if (!(*j)->commit(b).is_ok()) _exit(5);
    }
    _exit(0);
  }
  auto db = open_state_db(path);
  ASSERT_TRUE(db.is_ok());
  auto j = Journal::open(**db);
  ASSERT_TRUE(j.is_ok());
  uint64_t seen = 0, last_seq = 0;
  bool child_done = false;
  int status = 0;
  for (;;) {  // until the appender has exited and every record is read
    auto rows = (*j)->read_after(last_seq, 10000);
    ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();
    for (const JournalRecord& r : *rows) {
      ASSERT_EQ(r.seq, last_seq + 1) << "lost or duplicated sequence number";
      ASSERT_EQ(r.off, seen + 1) << "lost or duplicated record";
      last_seq = r.seq;
      ++seen;
    }
    if (!rows->empty()) {
      ASSERT_TRUE((*j)->trim(last_seq).is_ok());
    } else {
      if (child_done) break;
      if (::waitpid(pid, &status, WNOHANG) == pid) child_done = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "appender failed: status " << status;
  auto assigned = (*j)->last_seq();
  ASSERT_TRUE(assigned.is_ok());
  EXPECT_EQ(seen, *assigned) << "committed records never read";
  if (soak > 0) {
    std::cerr << "soak: " << seen << " records appended, read and trimmed in "
              << soak << " s\n";
  } else {
    EXPECT_EQ(seen, kRecords);
  }
  auto rest = (*j)->read_after(0, 10);
  ASSERT_TRUE(rest.is_ok());
  EXPECT_TRUE(rest->empty());
}

}  // namespace
}  // namespace mirrorfs::db

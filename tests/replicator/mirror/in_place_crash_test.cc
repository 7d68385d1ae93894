// Crash safety of in-place updates: a crash at each step (simulated by
// ApplierOptions::crash_at, and once by a forked process that _exits),
// then Applier::open leaves exactly the old version (before the commit
// point) or the new one, and no undo log; torn, corrupt and hostile logs;
// and the I/O of a scattered change to a sparse 4 GiB file.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "core/blake2b.h"
#include "core/content_hash.h"
#include "db/attr_payload.h"
#include "db/mirror_catalog.h"
#include "replicator/mirror/undo_log.h"
#include "tests/replicator/mirror/in_place_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

struct Crash {
  const char* name;
  Step step;
  uint64_t new_size;
};

class InPlaceCrash : public InPlaceTest,
                     public ::testing::WithParamInterface<Crash> {};

const Crash kCrashes[] = {
    {"LogDurable", Step::kLogDurable, 3 * kMiB},
    {"HalfWritten", Step::kHalfWritten, 3 * kMiB},
    {"HalfWrittenGrow", Step::kHalfWritten, 3 * kMiB + 70000},
    {"HalfWrittenShrink", Step::kHalfWritten, 3 * kMiB - 90000},
    {"DataDurableShrink", Step::kDataDurable, 3 * kMiB - 90000},
    {"DataDurableGrow", Step::kDataDurable, 3 * kMiB + 70000},
    {"Committed", Step::kCommitted, 3 * kMiB + 70000},
};
INSTANTIATE_TEST_SUITE_P(Steps, InPlaceCrash, ::testing::ValuesIn(kCrashes),
                         [](const auto& info) { return info.param.name; });

TEST_P(InPlaceCrash, ReopenLeavesExactlyOneVersionAndNoLog) {
  const Crash& c = GetParam();
  const Bytes old = random_bytes(3 * kMiB, 11);
  Bytes now = random_bytes(c.new_size, 12);
  std::copy_n(old.begin(), std::min<uint64_t>(old.size(), now.size()),
              now.begin());
  const Ranges lits = {{100, 200000}, {2 * kMiB - 5, 100000}};
  for (const auto& [at, len] : lits) {
    for (uint64_t i = at; i < at + len; ++i) now[i] = ~now[i];
  }
  seed("f", old);
  crash_ = c.step;
  Status st = update("f", old, now, lits);
  EXPECT_EQ(st.code(), Code::kInternal) << st.to_string();
  EXPECT_EQ(state_files().size(), 1u) << "the undo log stays after a crash";
  if (c.step == Step::kHalfWritten) {
    const Bytes mixed = read_file("f");
    EXPECT_NE(mixed, old);
    EXPECT_NE(mixed, now);
  }
  crash_.reset();
  reopen();
  const bool committed = c.step == Step::kCommitted;
  EXPECT_EQ(read_file("f"), committed ? now : old);
  EXPECT_TRUE(state_files().empty());
  // The mirror goes on: the next update from what it has applies.
  const Bytes have = committed ? now : old;
  Bytes next = have;
  next[7] ^= 1;
  ASSERT_TRUE(update("f", have, next, {{7, 1}}).is_ok());
  EXPECT_EQ(read_file("f"), next);
}

TEST_F(InPlaceTest, ProcessDyingMidWriteIsRolledBackAtOpen) {
  const Bytes old = random_bytes(2 * kMiB, 13);
  Bytes now = old;
  for (size_t i = 0; i < 300000; ++i) now[1000 + i] ^= 0x33;
  seed("f", old);
  applier_.reset();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // no gtest here: exit codes only
    ApplierOptions o = options();
    o.crash_at = [](Step s) {
      if (s == Step::kHalfWritten) ::_exit(0);
      return false;
    };
    auto a = Applier::open(root_, state_, o);
    if (!a.is_ok()) ::_exit(2);
    applier_ = std::move(*a);
    (void)update("f", old, now, {{1000, 300000}});
    ::_exit(3);  // should have died at kHalfWritten
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(read_file("f"), old) << "the child wrote part of the update";
  reopen();
  EXPECT_EQ(read_file("f"), old);
  EXPECT_TRUE(state_files().empty());
}

// A log cut short or damaged was never complete: removed, target as is.
TEST_F(InPlaceTest, TornOrCorruptLogIsRemoved) {
  const Bytes old = random_bytes(2 * kMiB, 14);
  Bytes now = old;
  now[10] ^= 1;
  seed("f", old);
  for (int damage = 0; damage < 3; ++damage) {
    crash_ = Step::kLogDurable;
    ASSERT_EQ(update("f", old, now, {{10, 1}}).code(), Code::kInternal);
    crash_.reset();
    ASSERT_EQ(state_files().size(), 1u);
    const std::string log = state_ + "/" + state_files()[0];
    if (damage == 0) {
      struct stat st;
      ASSERT_EQ(::stat(log.c_str(), &st), 0);
      ASSERT_EQ(::truncate(log.c_str(), st.st_size - 1), 0);
    } else if (damage == 1) {
      const int fd = ::open(log.c_str(), O_RDWR);
      ASSERT_GE(fd, 0);
      const uint8_t x = 0xee;
      ASSERT_EQ(::pwrite(fd, &x, 1, 130), 1);
      ::close(fd);
    } else {
      ASSERT_EQ(::truncate(log.c_str(), 20), 0);
    }
    reopen();
    EXPECT_TRUE(state_files().empty()) << damage;
    EXPECT_EQ(read_file("f"), old) << damage;
  }
}

// A valid log whose target is now another file, or whose path leaves
// ROOT: removed, nothing rolled back, nothing outside ROOT touched.
TEST_F(InPlaceTest, LogForAnotherFileOrOutsideRootTouchesNothing) {
  const Bytes old = random_bytes(2 * kMiB, 15);
  Bytes now = old;
  now[10] ^= 1;
  seed("f", old);
  crash_ = Step::kLogDurable;
  ASSERT_EQ(update("f", old, now, {{10, 1}}).code(), Code::kInternal);
  crash_.reset();
  const Bytes other = to_bytes("a different file now");
  write_file("f.new", other);
  ASSERT_EQ(::rename(root_path("f.new").c_str(), root_path("f").c_str()), 0);
  ASSERT_EQ(::symlink("../outside", root_path("out").c_str()), 0);
  const int src = ::open(root_path("f").c_str(), O_RDONLY);
  ASSERT_GE(src, 0);
  const int dir = ::open(state_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  for (const char* path : {"../outside/secret", "out/secret", "/etc/passwd"}) {
    UndoLogHeader h;
    h.path = path;
    h.old_size = 5;
    h.range_count = 1;
    auto w = UndoLogWriter::create(dir, h);
    ASSERT_TRUE(w.is_ok()) << w.status().to_string();
    ASSERT_TRUE((*w)->add_range(src, 0, 5).is_ok());
    ASSERT_TRUE((*w)->commit().is_ok());
    (*w)->abandon();
  }
  ::close(src);
  ::close(dir);
  EXPECT_EQ(state_files().size(), 4u);
  reopen();
  EXPECT_TRUE(state_files().empty());
  EXPECT_EQ(read_file("f"), other);
}

// 100 scattered 4 KiB writes to a sparse 4 GiB file: the bytes the
// mirror reads and writes follow the change (the touched 1 MiB leaves),
// not the file.
TEST_F(InPlaceTest, ScatteredChangeToFourGiBCostsIOProportionalToIt) {
  constexpr uint64_t kSize = uint64_t{4} << 30, kLeaves = kSize / kMiB;
  {
    const int fd = ::open(root_path("big").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kSize)), 0);
    ::close(fd);
  }
  const Bytes zero(kMiB, 0);
  core::ContentHasher zh;
  zh.update(zero.data(), zero.size());
  zh.finish();
  const std::vector<core::ContentHash> old_leaves(kLeaves, zh.leaves()[0]);
  const wire::Hash old_hash = core::content_hash_from_leaves(old_leaves, kSize);
  const struct stat st = lstat_of("big");
  applier_.reset();
  {
    auto cat = db::MirrorCatalog::open(state_ + "/mirror.db", "x");
    ASSERT_TRUE(cat.is_ok());
    ASSERT_TRUE((*cat)->put_file({st.st_ino, kSize, db::ns_of(st.st_mtim),
                                  db::ns_of(st.st_ctim), old_hash, old_leaves})
                    .is_ok());
  }
  reopen();
  std::vector<Cmd> cmds;
  std::vector<core::ContentHash> new_leaves = old_leaves;
  uint64_t pos = 0;
  for (uint64_t i = 0; i < 100; ++i) {
    const uint64_t at = i * (kSize / 100) + i * 4099;
    Bytes lit = random_bytes(4096, 100 + i);
    if (at > pos) cmds.push_back({true, pos, at - pos, {}});
    Bytes leaf = zero;  // writes never share or cross a leaf here
    ASSERT_EQ(at / kMiB, (at + 4095) / kMiB);
    std::copy(lit.begin(), lit.end(), leaf.begin() + at % kMiB);
    core::Blake2b b(core::kContentHashLen);
    b.update(leaf.data(), leaf.size());
    b.final(new_leaves[at / kMiB].data());
    cmds.push_back({false, 0, 0, std::move(lit)});
    pos = at + 4096;
  }
  cmds.push_back({true, pos, kSize - pos, {}});
  const Bytes delta = make_delta(cmds);
  auto io = [] {
    std::ifstream f("/proc/self/io");
    std::string k;
    uint64_t v, r = 0, w = 0;
    while (f >> k >> v) {
      if (k == "rchar:") r = v;
      if (k == "wchar:") w = v;
    }
    return std::pair{r, w};
  };
  wire::FileBegin fb;
  fb.seq = 1;
  fb.path = fb.basis_path = "big";
  fb.has_basis = true;
  fb.basis_hash = old_hash;
  fb.new_size = kSize;
  fb.flags = wire::kFileInPlace;
  fb.literal_bytes = 100 * 4096;
  const auto before = io();
  auto r = applier_->begin_file(kClient, fb);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_FALSE(r->mismatch.has_value());
  ASSERT_TRUE(r->writer);
  Status s = r->writer->write(delta);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  wire::FileEnd end;
  end.new_hash = core::content_hash_from_leaves(new_leaves, kSize);
  s = r->writer->finish(end);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  const auto after = io();
  const uint64_t read = after.first - before.first;
  const uint64_t written = after.second - before.second;
  std::printf("4 GiB, 100 x 4 KiB in place: read %llu bytes, wrote %llu\n",
              static_cast<unsigned long long>(read),
              static_cast<unsigned long long>(written));
  EXPECT_LT(read, 110 * kMiB) << "about one leaf per write";
  EXPECT_LT(written, 4 * kMiB) << "log + staged + written: ~3 x 400 KiB";
  EXPECT_EQ(static_cast<uint64_t>(lstat_of("big").st_size), kSize);
  EXPECT_EQ(lstat_of("big").st_ino, st.st_ino);
  const int fd = ::open(root_path("big").c_str(), O_RDONLY);
  Bytes got(4096);
  const uint64_t at = 57 * (kSize / 100) + 57 * 4099;
  ASSERT_EQ(::pread(fd, got.data(), got.size(), static_cast<off_t>(at)), 4096);
  ::close(fd);
  EXPECT_EQ(got, random_bytes(4096, 157));
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

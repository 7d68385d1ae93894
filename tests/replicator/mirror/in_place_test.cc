// In-place content updates (dirty-range deltas on large files): the same
// bytes as the temporary-file path for every shape of change, refusals
// that leave the target untouched, and when the ordinary writer is used
// instead.
#include <unistd.h>

#include "db/attr_payload.h"
#include "db/mirror_catalog.h"
#include "tests/replicator/mirror/in_place_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

struct Shape {
  const char* name;
  uint64_t old_size, new_size;
  Ranges lits;  // literal ranges inside the new size
};

class InPlaceShapes : public InPlaceTest,
                      public ::testing::WithParamInterface<Shape> {};

const Shape kShapes[] = {
    {"SameSize", 3 * kMiB + 500, 3 * kMiB + 500, {{10, 4096}, {2 * kMiB + 7, 100}}},
    {"LeafBoundaries", 3 * kMiB, 3 * kMiB,
     {{kMiB - 4096, 4096}, {2 * kMiB, 4096}, {3 * kMiB - 1, 1}}},
    {"AcrossLeaves", 4 * kMiB, 4 * kMiB,
     {{kMiB - 100, 200}, {2 * kMiB - 10, kMiB / 2 + 20}}},
    {"Grow", 3 * kMiB + 300, 4 * kMiB + 5, {{100, 50}}},
    {"GrowFromWholeLeaves", 2 * kMiB, 2 * kMiB + 1, {}},
    {"Shrink", 3 * kMiB + 77, 3 * kMiB - 9000, {{3 * kMiB - 9009, 9}}},
    {"ShrinkToLeafBoundary", 3 * kMiB, 3 * kMiB - kMiB / 8, {{5, 5}}},
    {"SpillsToStateDir", 4 * kMiB, 4 * kMiB, {{kMiB, 600000}}},
};

INSTANTIATE_TEST_SUITE_P(All, InPlaceShapes, ::testing::ValuesIn(kShapes),
                         [](const auto& info) { return info.param.name; });

TEST_P(InPlaceShapes, SameBytesAsTheRegularPathAndChains) {
  const Shape& s = GetParam();
  const Bytes old = random_bytes(s.old_size, 1);
  Bytes now = random_bytes(s.new_size, 2);
  std::copy_n(old.begin(), std::min(s.old_size, s.new_size), now.begin());
  for (const auto& [at, len] : s.lits) {
    for (uint64_t i = at; i < at + len; ++i) now[i] ^= 0x5a;
  }
  seed("f", old);
  const ino_t ino = lstat_of("f").st_ino;
  ASSERT_TRUE(update("f", old, now, s.lits).is_ok());
  EXPECT_EQ(read_file("f"), now);
  EXPECT_EQ(lstat_of("f").st_ino, ino) << "in place: same inode";
  EXPECT_TRUE(state_files().empty()) << "no undo log or staging file left";
  EXPECT_EQ(list(), (std::vector<std::string>{"f"}));
  // The regular writer makes the same bytes from the same delta.
  write_file("g", old);
  ASSERT_TRUE(put_content("g", now, &old).is_ok());
  EXPECT_EQ(read_file("g"), read_file("f"));
  // The catalog got the new leaves: the next update is in place too.
  Bytes next = now;
  next[now.size() / 2] ^= 1;
  ASSERT_TRUE(update("f", now, next, {{now.size() / 2, 1}}).is_ok());
  EXPECT_EQ(read_file("f"), next);
  EXPECT_EQ(lstat_of("f").st_ino, ino);
}

TEST_F(InPlaceTest, AttrsAndLinksAsTheRegularPath) {
  const Bytes old = random_bytes(2 * kMiB, 3);
  Bytes now = old;
  now[5] ^= 1;
  seed("f", old);
  auto r = applier_->begin_file(kClient, begin_of("f", old, now, 1));
  ASSERT_TRUE(r.is_ok() && r->writer);
  ASSERT_TRUE(r->writer->write(dirty_delta(old, now, {{5, 1}})).is_ok());
  wire::FileEnd end;
  end.new_hash = hash_of(now);
  end.attrs.valid = db::AttrPayload::kMode | db::AttrPayload::kMtime;
  end.attrs.mode = S_IFREG | 0604;
  end.attrs.mtime_ns = 1700000000000000042;
  end.links = {"f", "other"};
  ASSERT_TRUE(r->writer->finish(end).is_ok());
  const struct stat st = lstat_of("f");
  EXPECT_EQ(st.st_mode, S_IFREG | 0604);
  EXPECT_EQ(st.st_mtim.tv_nsec, 42);
  EXPECT_EQ(lstat_of("other").st_ino, st.st_ino);
  EXPECT_EQ(read_file("other"), now);
}

TEST_F(InPlaceTest, NonIdentityCopyOrCopyPastOldSizeRefusedTargetUntouched) {
  const Bytes old = random_bytes(2 * kMiB, 4);
  seed("f", old);
  const struct stat before = lstat_of("f");
  Bytes now = old;
  // COPY from another offset: a valid librsync delta, not an in-place one.
  Bytes moved = make_delta({{true, 1, 2 * kMiB - 1, {}}, {false, 0, 0, {7}}});
  Status st = update("f", old, now, moved, 1, hash_of(now));
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.to_string();
  // An identity COPY reaching past the old size.
  now.push_back(9);
  Bytes past = make_delta({{true, 0, 2 * kMiB + 1, {}}});
  st = update("f", old, now, past, 1);
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.to_string();
  // More literal bytes than announced.
  st = update("f", old, now, dirty_delta(old, now, {{0, 100}}), 50);
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.to_string();
  EXPECT_EQ(read_file("f"), old);
  EXPECT_EQ(lstat_of("f").st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(lstat_of("f").st_ctim.tv_nsec, before.st_ctim.tv_nsec);
  EXPECT_TRUE(state_files().empty());
}

TEST_F(InPlaceTest, WrongNewHashRefusedTargetUntouched) {
  const Bytes old = random_bytes(3 * kMiB, 5);
  Bytes now = old;
  now[kMiB + 3] ^= 1;
  now.resize(3 * kMiB + 10, 1);
  seed("f", old);
  const struct stat before = lstat_of("f");
  Status st = update("f", old, now, dirty_delta(old, now, {{kMiB + 3, 1}}), 11,
                     hash_of(old));
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.to_string();
  EXPECT_EQ(read_file("f"), old);
  EXPECT_EQ(lstat_of("f").st_ctim.tv_nsec, before.st_ctim.tv_nsec);
  EXPECT_TRUE(state_files().empty());
}

// Each case: the update succeeds through the temporary-file writer (a new
// inode), with the same delta.
TEST_F(InPlaceTest, OrdinaryWriterWhenTheTargetDoesNotQualify) {
  auto expect_regular = [&](const std::string& rel, const Bytes& old,
                            const Ranges& lits, const char* why) {
    Bytes now = old;
    for (const auto& [at, len] : lits) now[at + len - 1] ^= 0xff;
    const ino_t ino = lstat_of(rel).st_ino;
    ASSERT_TRUE(update(rel, old, now, lits).is_ok()) << why;
    EXPECT_EQ(read_file(rel), now) << why;
    EXPECT_NE(lstat_of(rel).st_ino, ino) << why;
  };
  const Bytes small = random_bytes(kMiB - 1, 6);
  seed("small", small);
  expect_regular("small", small, {{0, 10}}, "below in_place_min_size");
  const Bytes big = random_bytes(2 * kMiB, 7);
  seed("big", big);
  expect_regular("big", big, {{0, kMiB}}, "literals over the share");
  seed("linked", big);
  ASSERT_EQ(::link(root_path("linked").c_str(), root_path("l2").c_str()), 0);
  expect_regular("linked", big, {{0, 10}}, "two links");
  EXPECT_EQ(read_file("l2"), big) << "the other name keeps the old version";
  // A catalog row valid by stat but without leaves.
  write_file("noleaves", big);
  const struct stat st = lstat_of("noleaves");
  applier_.reset();
  {
    auto cat = db::MirrorCatalog::open(state_ + "/mirror.db", "x");
    ASSERT_TRUE(cat.is_ok());
    ASSERT_TRUE((*cat)->put_file({st.st_ino, static_cast<uint64_t>(st.st_size),
                                  db::ns_of(st.st_mtim), db::ns_of(st.st_ctim),
                                  hash_of(big), {}})
                    .is_ok());
  }
  reopen();
  expect_regular("noleaves", big, {{0, 10}}, "no leaves known");
  // A rolling (non-identity) delta with the flag set, on a file that does
  // not qualify, still applies as an ordinary delta.
  const Bytes cur = read_file("small");
  Bytes now(cur.begin() + 1000, cur.end());
  ASSERT_TRUE(update("small", cur, now, delta_of(cur, now), now.size()).is_ok());
  EXPECT_EQ(read_file("small"), now);
  EXPECT_TRUE(state_files().empty());
}

// The in-place writer fsyncs the file itself (before its undo log goes):
// the barrier has nothing more to sync for it, only for the links it
// makes (their directory, and the file's link count).
TEST_F(InPlaceTest, LeavesTheBarrierOnlyItsLinks) {
  const Bytes old = random_bytes(2 * kMiB, 5);
  Bytes now = old;
  now[7] ^= 1;
  Bytes next = now;
  next[9] ^= 1;
  seed("f", old);
  ASSERT_TRUE(applier_->barrier(kClient, seq_).is_ok());  // the syncfs after open
  ASSERT_TRUE(update("f", old, now, {{7, 1}}).is_ok());
  BarrierCounts c = applier_->barrier_counts();
  EXPECT_EQ(c.pending, 0u);
  EXPECT_FALSE(c.syncfs_due);

  auto r = applier_->begin_file(kClient, begin_of("f", now, next, 1));
  ASSERT_TRUE(r.is_ok() && r->writer && r->writer->in_place());
  ASSERT_TRUE(r->writer->write(dirty_delta(now, next, {{9, 1}})).is_ok());
  wire::FileEnd end;
  end.new_hash = hash_of(next);
  end.links = {"f", "other"};
  ASSERT_TRUE(r->writer->finish(end).is_ok());
  c = applier_->barrier_counts();
  EXPECT_EQ(c.pending, 2u) << "ROOT and the file";
  EXPECT_FALSE(c.syncfs_due);
  const uint64_t fsyncs = c.fsyncs;
  ASSERT_TRUE(applier_->barrier(kClient, seq_).is_ok());
  EXPECT_EQ(applier_->barrier_counts().fsyncs, fsyncs + 2);
  EXPECT_EQ(applier_->barrier_counts().syncfs, 1u);
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

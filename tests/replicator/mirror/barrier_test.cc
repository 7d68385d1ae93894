// Applier::barrier makes durable what changed since the last barrier and
// no more: each kind of entry operation, metadata change and content
// install notes exactly the directories and inodes it changed (by inode,
// so a renamed directory is still the one synced), a barrier fsyncs
// those and clears the set, and what cannot be fsynced (symlinks,
// FIFOs, more than barrier_max_fds) falls back to one syncfs().
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "db/attr_payload.h"
#include "replicator/mirror/applier_impl.h"
#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

using wire::Type;
using Key = std::pair<dev_t, ino_t>;

class BarrierTest : public MirrorTest {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    // The tree every case starts from, then a barrier: nothing pending.
    for (const char* d : {"a", "b", "a/sub"}) {
      ASSERT_TRUE(apply(op(Type::kMkdir, d)).is_ok()) << d;
    }
    write_file("a/f", to_bytes("one"));
    write_file("a/g", to_bytes("two"));
    settle();
  }

  PendingSync& pending() {
    return static_cast<ApplierImpl*>(applier_.get())->pending();
  }
  // A barrier; checks it leaves nothing pending.
  void settle() {
    ASSERT_TRUE(applier_->barrier(kClient, seq_).is_ok());
    const BarrierCounts c = applier_->barrier_counts();
    EXPECT_EQ(c.pending, 0u);
    EXPECT_FALSE(c.syncfs_due);
    EXPECT_TRUE(pending().tracked().empty());
  }
  Key key_of(const std::string& rel) {
    const struct stat st = lstat_of(rel);
    return {st.st_dev, st.st_ino};
  }
  std::vector<Key> keys_of(const std::vector<std::string>& rels) {
    std::vector<Key> out;
    for (const std::string& r : rels) out.push_back(key_of(r));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  // Runs change, then checks that exactly `expected` (paths after the
  // change, "." for ROOT) are pending, and that the barrier fsyncs that
  // many descriptors, no syncfs, and leaves nothing pending.
  void expect_tracked(const std::string& what, const std::function<void()>& change,
                      const std::vector<std::string>& expected) {
    SCOPED_TRACE(what);
    change();
    const std::vector<Key> want = keys_of(expected);
    EXPECT_EQ(pending().tracked(), want);
    const BarrierCounts before = applier_->barrier_counts();
    EXPECT_FALSE(before.syncfs_due);
    settle();
    const BarrierCounts after = applier_->barrier_counts();
    EXPECT_EQ(after.fsyncs - before.fsyncs, want.size());
    EXPECT_EQ(after.syncfs, before.syncfs);
  }
  // Runs change and checks the next barrier is one syncfs, no fsync.
  void expect_syncfs(const std::string& what, const std::function<void()>& change) {
    SCOPED_TRACE(what);
    change();
    const BarrierCounts before = applier_->barrier_counts();
    EXPECT_TRUE(before.syncfs_due);
    EXPECT_EQ(before.pending, 0u);  // no descriptor held for nothing
    settle();
    const BarrierCounts after = applier_->barrier_counts();
    EXPECT_EQ(after.syncfs, before.syncfs + 1);
    EXPECT_EQ(after.fsyncs, before.fsyncs);
  }
  void ok(const wire::EntryOp& o) { ASSERT_TRUE(apply(o).is_ok()) << o.path; }
  wire::EntryOp with_mode(wire::EntryOp o, mode_t mode) {
    o.attrs.valid |= db::AttrPayload::kMode;
    o.attrs.mode = mode;
    return o;
  }
};

TEST_F(BarrierTest, FirstBarrierAfterOpenIsASyncfs) {
  // Replays of what an earlier process applied note nothing: its changes
  // may still be in the page cache, so the first barrier syncs them all.
  reopen();
  EXPECT_TRUE(applier_->barrier_counts().syncfs_due);
  ASSERT_TRUE(applier_->barrier(kClient, seq_).is_ok());
  const BarrierCounts c = applier_->barrier_counts();
  EXPECT_EQ(c.syncfs, 1u);
  EXPECT_EQ(c.fsyncs, 0u);
  EXPECT_FALSE(c.syncfs_due);
}

TEST_F(BarrierTest, EntryOperationsTrackTheirDirectories) {
  expect_tracked("mkdir", [&] { ok(op(Type::kMkdir, "a/sub/new")); },
                 {"a/sub", "a/sub/new"});
  expect_tracked("mkdir of an existing directory (a replay)",
                 [&] { ok(op(Type::kMkdir, "a/sub/new")); }, {"a/sub", "a/sub/new"});
  expect_tracked("mknod of a regular file",
                 [&] { ok(with_mode(op(Type::kMknod, "b/reg"), S_IFREG | 0640)); },
                 {"b", "b/reg"});
  expect_tracked("unlink", [&] { ok(op(Type::kUnlink, "b/reg")); }, {"b"});
  expect_tracked("rmdir", [&] { ok(op(Type::kRmdir, "a/sub/new")); }, {"a/sub"});
  expect_tracked("link", [&] { ok(op(Type::kLink, "a/f", "b/f2")); }, {"b", "b/f2"});
  expect_tracked("rename across directories",
                 [&] { ok(op(Type::kRename, "a/g", "b/g")); }, {"a", "b"});
  expect_tracked("rename within a directory",
                 [&] { ok(op(Type::kRename, "b/g", "b/h")); }, {"b"});
  expect_tracked("rename over another file",
                 [&] { ok(op(Type::kRename, "b/h", "b/f2")); }, {"b"});
}

TEST_F(BarrierTest, MetadataChangesTrackTheirInode) {
  expect_tracked("setattr mode",
                 [&] { ok(with_mode(op(Type::kSetattr, "a/f"), 0600)); }, {"a/f"});
  expect_tracked("setattr times of ROOT", [&] {
    wire::EntryOp o = op(Type::kSetattr, ".");
    o.attrs.valid = db::AttrPayload::kMtime;
    o.attrs.mtime_ns = 1'600'000'000'123'456'789;
    ok(o);
  }, {"."});
  expect_tracked("setxattr", [&] {
    wire::EntryOp o = op(Type::kSetxattr, "a/sub", "user.k");
    o.value = to_bytes("v");
    ok(o);
  }, {"a/sub"});
  expect_tracked("removexattr", [&] { ok(op(Type::kRemovexattr, "a/sub", "user.k")); },
                 {"a/sub"});
  expect_tracked("a state fix", [&] {
    wire::EntryOp o = with_mode(op(Type::kSetattr, "a/f"), 0644);
    o.flags |= wire::kOpStateFix;
    o.seq = 1;  // applied whatever its seq
    ok(o);
  }, {"a/f"});
}

TEST_F(BarrierTest, ContentInstallTracksItsDirectoriesNotTheFile) {
  // The new content is fsynced before its rename; the rename is the
  // directory's change.
  expect_tracked("new file", [&] {
    ASSERT_TRUE(put_content("a/sub/c", to_bytes("content")).is_ok());
  }, {"a/sub"});
  expect_tracked("update with a link in another directory", [&] {
    ASSERT_TRUE(put_content("a/sub/c", to_bytes("content 2"), nullptr, "", {},
                            {"a/sub/c", "b/c-link"})
                    .is_ok());
  }, {"a/sub", "b", "b/c-link"});
}

TEST_F(BarrierTest, ARenamedDirectoryIsStillTheOneSynced) {
  const Key sub = key_of("a/sub");
  ok(op(Type::kMkdir, "a/sub/x"));         // notes a/sub (and a/sub/x)
  ok(op(Type::kRename, "a/sub", "b/moved"));  // notes a and b
  EXPECT_EQ(key_of("b/moved"), sub);
  EXPECT_EQ(pending().tracked(), keys_of({"b/moved", "b/moved/x", "a", "b"}));
  settle();
  EXPECT_EQ(applier_->barrier_counts().syncfs, 1u);  // the one after open
}

TEST_F(BarrierTest, WhatCannotBeFsyncedFallsBackToSyncfs) {
  expect_syncfs("symlink", [&] {
    wire::EntryOp o = op(Type::kSymlink, "a/ln", "f");
    ok(o);
  });
  expect_syncfs("setattr of a symlink", [&] {
    wire::EntryOp o = op(Type::kSetattr, "a/ln");
    o.attrs.valid = db::AttrPayload::kMtime;
    o.attrs.mtime_ns = 1'500'000'000'000'000'000;
    ok(o);
  });
  expect_syncfs("fifo", [&] { ok(with_mode(op(Type::kMknod, "a/p"), S_IFIFO | 0600)); });
  expect_syncfs("socket", [&] { ok(with_mode(op(Type::kMknod, "a/s"), S_IFSOCK | 0600)); });
  // Removing them is a directory change only: back to fsyncs.
  expect_tracked("unlink of a fifo", [&] { ok(op(Type::kUnlink, "a/p")); }, {"a"});
}

class SmallBoundTest : public BarrierTest {
 protected:
  ApplierOptions options() const override {
    ApplierOptions o;
    o.barrier_max_fds = 3;
    return o;
  }
};

TEST_F(SmallBoundTest, MoreThanTheBoundFallsBackToSyncfs) {
  expect_tracked("three fit", [&] {
    ok(op(Type::kMkdir, "a/sub/d"));
    ok(op(Type::kUnlink, "a/g"));
  }, {"a/sub", "a/sub/d", "a"});
  expect_syncfs("a fourth does not", [&] {
    ok(op(Type::kMkdir, "b/d1"));  // b, b/d1
    ok(op(Type::kMkdir, "b/d2"));  // b/d2
    ok(op(Type::kMkdir, "b/d3"));  // b/d3: one too many
  });
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

// The catalog: names over inodes, hard links, rmdir and rename semantics,
// and a subtree rename that stays one row however large the subtree.
#include "db/catalog.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cerrno>

#include "db/schema.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::db {
namespace {

FileAttrs dir_attrs() {
  FileAttrs a;
  a.kind = FileKind::kDir;
  a.mode = 040755;
  return a;
}

FileAttrs file_attrs(uint64_t size = 0) {
  FileAttrs a;
  a.mode = 0100644;
  a.size = size;
  return a;
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = open_state_db(tmp_.file("state.db"));
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    db_ = std::move(*db);
    auto cat = Catalog::open(*db_);
    ASSERT_TRUE(cat.is_ok()) << cat.status().to_string();
    cat_ = std::move(*cat);
  }
  void TearDown() override {
    cat_.reset();
    db_.reset();
  }

  FileId mk(FileId parent, std::string_view name, const FileAttrs& a) {
    Result<FileId> id = cat_->create(parent, name, a);
    EXPECT_TRUE(id.is_ok()) << id.status().to_string();
    return id.is_ok() ? *id : 0;
  }

  testing::TempDir tmp_;  // outlives db_: declared first
  std::unique_ptr<Database> db_;
  std::unique_ptr<Catalog> cat_;
};

TEST_F(CatalogTest, CreateLookupAndPaths) {
  const FileId a = mk(kRootId, "a", dir_attrs());
  const FileId b = mk(a, "b", dir_attrs());
  const FileId c = mk(b, "c", file_attrs(7));
  EXPECT_EQ(*cat_->lookup(a, "b"), b);
  EXPECT_EQ(*cat_->lookup_path("a/b/c"), c);
  EXPECT_EQ(*cat_->lookup_path("/a//b/c/"), c);
  EXPECT_EQ(*cat_->lookup_path(""), kRootId);
  EXPECT_EQ(*cat_->lookup_path("/"), kRootId);
  EXPECT_EQ(*cat_->path_of(c), "a/b/c");
  EXPECT_EQ(*cat_->path_of(kRootId), "");
  EXPECT_EQ(cat_->lookup(a, "zz").status().code(), Code::kNotFound);
  EXPECT_EQ(cat_->lookup_path("a/x/c").status().code(), Code::kNotFound);
  EXPECT_EQ(cat_->lookup_path("a/../a").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(cat_->path_of(9999).status().code(), Code::kNotFound);
  EXPECT_EQ(*cat_->count(), 4u);  // root, a, b, c

  EXPECT_EQ(cat_->create(a, "b", file_attrs()).status().code(),
            Code::kAlreadyExists);
  Result<FileId> under_file = cat_->create(c, "x", file_attrs());
  EXPECT_EQ(under_file.status().errno_value(), ENOTDIR);
  EXPECT_EQ(cat_->create(9999, "x", file_attrs()).status().code(),
            Code::kNotFound);
  for (std::string_view bad : {"", ".", "..", "x/y"}) {
    EXPECT_EQ(cat_->create(a, bad, file_attrs()).status().code(),
              Code::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(*cat_->count(), 4u);
}

TEST_F(CatalogTest, AttrsRoundTrip) {
  FileAttrs a;
  a.kind = FileKind::kSymlink;
  a.size = 1ull << 40;
  a.mode = 0120777;
  a.uid = 1000;
  a.gid = 100;
  a.mtime_ns = 1700000000123456789;
  a.ctime_ns = -5;
  a.backing_ino = 424242;
  a.target = "../some/where";
  a.hash = std::vector<uint8_t>(32, 0xab);
  const FileId id = mk(kRootId, "l", a);
  Result<FileAttrs> got = cat_->get(id);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->kind, a.kind);
  EXPECT_EQ(got->size, a.size);
  EXPECT_EQ(got->mode, a.mode);
  EXPECT_EQ(got->uid, a.uid);
  EXPECT_EQ(got->gid, a.gid);
  EXPECT_EQ(got->mtime_ns, a.mtime_ns);
  EXPECT_EQ(got->ctime_ns, a.ctime_ns);
  EXPECT_EQ(got->backing_ino, a.backing_ino);
  EXPECT_EQ(got->target, a.target);
  EXPECT_EQ(got->hash, a.hash);

  ASSERT_TRUE(cat_->set_hash(id, {}).is_ok());
  EXPECT_TRUE(cat_->get(id)->hash.empty());
  EXPECT_EQ(cat_->set_hash(9999, a.hash).code(), Code::kNotFound);
  EXPECT_EQ(cat_->set(9999, a).code(), Code::kNotFound);
  EXPECT_EQ(cat_->get(9999).status().code(), Code::kNotFound);
}

TEST_F(CatalogTest, HardLinksShareOneInode) {
  const FileId d = mk(kRootId, "d", dir_attrs());
  const FileId f = mk(kRootId, "f", file_attrs(1));
  ASSERT_TRUE(cat_->link(f, d, "g").is_ok());
  EXPECT_EQ(*cat_->lookup_path("d/g"), f);
  EXPECT_EQ(cat_->link(f, d, "g").code(), Code::kAlreadyExists);
  EXPECT_EQ(cat_->link(d, kRootId, "d2").errno_value(), EPERM);

  // Attributes set through one name are seen through the other.
  FileAttrs changed = file_attrs(12345);
  changed.mode = 0100600;
  ASSERT_TRUE(cat_->set(*cat_->lookup_path("d/g"), changed).is_ok());
  EXPECT_EQ(cat_->get(*cat_->lookup_path("f"))->size, 12345u);
  EXPECT_EQ(cat_->get(*cat_->lookup_path("f"))->mode, 0100600u);

  // paths_of lists every name, path_of's first.
  ASSERT_TRUE(cat_->link(f, kRootId, "h").is_ok());
  auto paths = cat_->paths_of(f);
  ASSERT_TRUE(paths.is_ok()) << paths.status().to_string();
  EXPECT_EQ(*paths, (std::vector<std::string>{"f", "h", "d/g"}));
  EXPECT_EQ(paths->front(), *cat_->path_of(f));
  ASSERT_TRUE(cat_->unlink(kRootId, "h").is_ok());

  // Dropping one name keeps the inode under the other.
  const uint64_t before = *cat_->count();
  ASSERT_TRUE(cat_->unlink(kRootId, "f").is_ok());
  EXPECT_EQ(*cat_->count(), before);
  EXPECT_EQ(*cat_->path_of(f), "d/g");
  EXPECT_EQ(cat_->get(f)->size, 12345u);

  // The last name takes the inode with it.
  ASSERT_TRUE(cat_->unlink(d, "g").is_ok());
  EXPECT_EQ(*cat_->count(), before - 1);
  EXPECT_EQ(cat_->get(f).status().code(), Code::kNotFound);
  EXPECT_EQ(cat_->unlink(d, "g").code(), Code::kNotFound);
}

TEST_F(CatalogTest, SubtreeRenameIsOneRowChange) {
  const FileId src = mk(kRootId, "src", dir_attrs());
  const FileId dst = mk(kRootId, "dst", dir_attrs());
  std::vector<FileId> descendants;
  for (int i = 0; i < 100; ++i) {
    const FileId sub = mk(src, "sub" + std::to_string(i), dir_attrs());
    descendants.push_back(sub);
    for (int j = 0; j < 99; ++j) {
      descendants.push_back(mk(sub, "f" + std::to_string(j), file_attrs()));
    }
  }
  ASSERT_EQ(descendants.size(), 10000u);

  const int64_t before = sqlite3_total_changes64(db_->handle());
  ASSERT_TRUE(cat_->rename(kRootId, "src", dst, "moved").is_ok());
  EXPECT_EQ(sqlite3_total_changes64(db_->handle()) - before, 1);

  EXPECT_EQ(*cat_->lookup_path("dst/moved"), src);
  EXPECT_EQ(cat_->lookup_path("src").status().code(), Code::kNotFound);
  EXPECT_EQ(*cat_->lookup_path("dst/moved/sub42/f7"),
            descendants[42 * 100 + 1 + 7]);
  for (const FileId id : descendants) {
    Result<std::string> p = cat_->path_of(id);
    ASSERT_TRUE(p.is_ok());
    ASSERT_EQ(p->rfind("dst/moved/sub", 0), 0u) << *p;
  }
}

TEST_F(CatalogTest, RenameReplacesExistingTarget) {
  const FileId a = mk(kRootId, "a", file_attrs(1));
  const FileId b = mk(kRootId, "b", file_attrs(2));
  const uint64_t before = *cat_->count();
  ASSERT_TRUE(cat_->rename(kRootId, "a", kRootId, "b").is_ok());
  EXPECT_EQ(*cat_->lookup(kRootId, "b"), a);
  EXPECT_EQ(cat_->lookup(kRootId, "a").status().code(), Code::kNotFound);
  EXPECT_EQ(cat_->get(b).status().code(), Code::kNotFound);
  EXPECT_EQ(*cat_->count(), before - 1);

  // A replaced inode with another name survives.
  const FileId c = mk(kRootId, "c", file_attrs(3));
  ASSERT_TRUE(cat_->link(c, kRootId, "c2").is_ok());
  ASSERT_TRUE(cat_->rename(kRootId, "b", kRootId, "c").is_ok());
  EXPECT_EQ(*cat_->path_of(c), "c2");

  // Two names of one inode: rename changes nothing.
  ASSERT_TRUE(cat_->link(a, kRootId, "a2").is_ok());
  ASSERT_TRUE(cat_->rename(kRootId, "c", kRootId, "a2").is_ok());
  EXPECT_EQ(*cat_->lookup(kRootId, "c"), a);
  EXPECT_EQ(*cat_->lookup(kRootId, "a2"), a);
  EXPECT_EQ(cat_->rename(kRootId, "nope", kRootId, "x").code(),
            Code::kNotFound);
}

TEST_F(CatalogTest, RenameFollowsPosixTypeRules) {
  const FileId d = mk(kRootId, "d", dir_attrs());
  mk(kRootId, "empty", dir_attrs());
  const FileId full = mk(kRootId, "full", dir_attrs());
  mk(full, "x", file_attrs());
  mk(kRootId, "f", file_attrs());
  EXPECT_EQ(cat_->rename(kRootId, "f", kRootId, "empty").errno_value(), EISDIR);
  EXPECT_EQ(cat_->rename(kRootId, "d", kRootId, "f").errno_value(), ENOTDIR);
  EXPECT_EQ(cat_->rename(kRootId, "d", kRootId, "full").errno_value(),
            ENOTEMPTY);
  ASSERT_TRUE(cat_->rename(kRootId, "d", kRootId, "empty").is_ok());
  EXPECT_EQ(*cat_->lookup(kRootId, "empty"), d);
}

TEST_F(CatalogTest, RenameDirIntoOwnSubtreeIsRefused) {
  const FileId d = mk(kRootId, "d", dir_attrs());
  const FileId e = mk(d, "e", dir_attrs());
  const FileId f = mk(e, "f", dir_attrs());
  for (FileId into : {d, e, f}) {
    Status st = cat_->rename(kRootId, "d", into, "x");
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_EQ(st.errno_value(), EINVAL);
  }
  EXPECT_EQ(*cat_->path_of(f), "d/e/f");
  // Moving a subdirectory up out of the tree is fine.
  ASSERT_TRUE(cat_->rename(e, "f", kRootId, "f").is_ok());
  EXPECT_EQ(*cat_->path_of(f), "f");
}

TEST_F(CatalogTest, RmdirRefusesNonEmpty) {
  const FileId d = mk(kRootId, "d", dir_attrs());
  mk(d, "x", file_attrs());
  Status st = cat_->unlink(kRootId, "d");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.errno_value(), ENOTEMPTY);
  EXPECT_NE(st.message().find("not empty"), std::string::npos);
  EXPECT_EQ(*cat_->lookup(kRootId, "d"), d);
  ASSERT_TRUE(cat_->unlink(d, "x").is_ok());
  ASSERT_TRUE(cat_->unlink(kRootId, "d").is_ok());
  EXPECT_EQ(*cat_->count(), 1u);
}

TEST_F(CatalogTest, ListIsSortedByName) {
  const FileId d = mk(kRootId, "d", dir_attrs());
  const FileId b = mk(d, "b", file_attrs());
  const FileId a = mk(d, "a", file_attrs());
  const FileId c = mk(d, "c", dir_attrs());
  auto names = cat_->list(d);
  ASSERT_TRUE(names.is_ok());
  const std::vector<std::pair<std::string, FileId>> want = {
      {"a", a}, {"b", b}, {"c", c}};
  EXPECT_EQ(*names, want);
  EXPECT_TRUE(cat_->list(c)->empty());
  EXPECT_EQ(cat_->list(a).status().errno_value(), ENOTDIR);
  EXPECT_EQ(cat_->list(9999).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace mirrorfs::db

namespace mirrorfs::db {
namespace {

// Journal and mirror rows name files by id: an id must never come back
// for another file, even after the one holding it is gone.
TEST_F(CatalogTest, FileIdsAreNeverReused) {
  const FileId a = mk(kRootId, "a", file_attrs());
  ASSERT_TRUE(cat_->unlink(kRootId, "a").is_ok());
  const FileId b = mk(kRootId, "b", file_attrs());
  EXPECT_GT(b, a);
}

// The mount finds a file's id from its backing inode number; hard links
// share one; a stale row left by a change behind the mount loses to the
// newest.
TEST_F(CatalogTest, LookupByBackingInode) {
  FileAttrs a = file_attrs();
  a.backing_ino = 77;
  const FileId f = mk(kRootId, "f", a);
  ASSERT_TRUE(cat_->link(f, kRootId, "g").is_ok());
  EXPECT_EQ(*cat_->lookup_backing(77), f);
  EXPECT_EQ(cat_->lookup_backing(78).status().code(), Code::kNotFound);
  EXPECT_EQ(cat_->lookup_backing(0).status().code(), Code::kNotFound);
  const FileId stale = mk(kRootId, "h", a);
  EXPECT_EQ(*cat_->lookup_backing(77), stale);
  ASSERT_TRUE(cat_->unlink(kRootId, "h").is_ok());
  EXPECT_EQ(*cat_->lookup_backing(77), f);
}

// Catalog methods join a caller's transaction: what the caller rolls back
// is gone, what a nested call undoes on error leaves the caller's other
// changes standing.
TEST_F(CatalogTest, MethodsJoinTheCallersTransaction) {
  {
    auto txn = Transaction::begin(*db_, Transaction::Kind::kWrite);
    ASSERT_TRUE(txn.is_ok());
    mk(kRootId, "gone", file_attrs());
    EXPECT_TRUE(cat_->lookup(kRootId, "gone").is_ok());
    // rolled back by the destructor
  }
  EXPECT_EQ(cat_->lookup(kRootId, "gone").status().code(), Code::kNotFound);
  {
    auto txn = Transaction::begin(*db_, Transaction::Kind::kWrite);
    ASSERT_TRUE(txn.is_ok());
    const FileId d = mk(kRootId, "d", dir_attrs());
    mk(d, "x", file_attrs());
    // Fails half-way inside its own savepoint: not empty.
    EXPECT_EQ(cat_->unlink(kRootId, "d").errno_value(), ENOTEMPTY);
    mk(kRootId, "kept", file_attrs());
    ASSERT_TRUE(txn->commit().is_ok());
  }
  EXPECT_TRUE(cat_->lookup_path("d/x").is_ok());
  EXPECT_TRUE(cat_->lookup(kRootId, "kept").is_ok());
  EXPECT_FALSE(db_->in_transaction());
  // A write cannot nest inside a read: it would upgrade a snapshot.
  auto read = Transaction::begin(*db_, Transaction::Kind::kRead);
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(cat_->create(kRootId, "no", file_attrs()).status().code(),
            Code::kInternal);
}

// One outer transaction makes bulk loading fast: 20,000 creates.
TEST_F(CatalogTest, BulkLoadInOneTransaction) {
  auto txn = Transaction::begin(*db_, Transaction::Kind::kWrite);
  ASSERT_TRUE(txn.is_ok());
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(cat_->create(kRootId, "f" + std::to_string(i), file_attrs())
                    .is_ok());
  }
  ASSERT_TRUE(txn->commit().is_ok());
  EXPECT_EQ(*cat_->count(), 20001u);
}

// RENAME_EXCHANGE: two names swap what they point at, kinds and all;
// a directory cannot be swapped into its own subtree.
TEST_F(CatalogTest, ExchangeSwapsTwoNames) {
  const FileId d = mk(kRootId, "d", dir_attrs());
  const FileId f = mk(kRootId, "f", file_attrs());
  const FileId inner = mk(d, "inner", file_attrs());
  ASSERT_TRUE(cat_->exchange(kRootId, "d", kRootId, "f").is_ok());
  EXPECT_EQ(*cat_->lookup(kRootId, "d"), f);
  EXPECT_EQ(*cat_->lookup(kRootId, "f"), d);
  EXPECT_EQ(*cat_->lookup_path("f/inner"), inner);
  EXPECT_EQ(cat_->exchange(kRootId, "f", d, "inner").errno_value(), EINVAL);
  EXPECT_EQ(*cat_->lookup(kRootId, "f"), d);  // unchanged
}

}  // namespace
}  // namespace mirrorfs::db

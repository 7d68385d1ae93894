// Content updates: new files, patches against a basis (the catalog's
// shortcut and its limits), every way a delta can be wrong (nothing
// changes, no temporary is left), links, xattrs and times. Each test runs
// with O_TMPFILE and with the named-temporary fallback.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "db/attr_payload.h"
#include "db/mirror_catalog.h"
#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

using db::AttrPayload;

class ContentTest : public MirrorTest,
                    public ::testing::WithParamInterface<bool> {
 protected:
  ApplierOptions options() const override {
    ApplierOptions o;
    o.use_o_tmpfile = GetParam();
    return o;
  }
  // begin_file for a writer; fails the test on a mismatch.
  std::unique_ptr<ContentWriter> begin(const std::string& path,
                                       uint64_t new_size,
                                       const Bytes* basis = nullptr) {
    auto r = begin_file(path, new_size, basis ? path : "",
                        basis ? hash_of(*basis) : wire::Hash{});
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (!r.is_ok()) return nullptr;
    EXPECT_FALSE(r->mismatch.has_value());
    return std::move(r->writer);
  }
  static wire::FileEnd end_for(const Bytes& data) {
    wire::FileEnd e;
    e.new_hash = hash_of(data);
    return e;
  }
};

INSTANTIATE_TEST_SUITE_P(Temp, ContentTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "OTmpfile" : "NamedTemp";
                         });

TEST_P(ContentTest, NewFileFromLiteralsInAnyPieceSizes) {
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  const Bytes data = random_bytes(200000, 1);
  wire::Attrs a;
  a.valid = AttrPayload::kMode | AttrPayload::kMtime | AttrPayload::kAtime;
  a.mode = S_IFREG | 0640;
  a.mtime_ns = 1700000000123456789;
  a.atime_ns = 1600000000000000001;
  for (size_t piece : {size_t{1} << 20, size_t{4096}, size_t{7}}) {
    ASSERT_TRUE(put_content("d/f", data, nullptr, "", a, {}, piece).is_ok());
    const struct stat st = lstat_of("d/f");  // before a read moves atime
    EXPECT_EQ(st.st_atim.tv_sec, 1600000000);
    EXPECT_EQ(st.st_atim.tv_nsec, 1);
    EXPECT_EQ(read_file("d/f"), data);
  }
  const struct stat st = lstat_of("d/f");
  EXPECT_EQ(st.st_mode, S_IFREG | 0640);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(list("d"), (std::vector<std::string>{"f"})) << "no temporary left";
  // An empty file.
  ASSERT_TRUE(put_content("empty", {}).is_ok());
  EXPECT_EQ(lstat_of("empty").st_size, 0);
}

TEST_P(ContentTest, PatchAgainstABasisHereAndElsewhere) {
  Bytes old = random_bytes(300000, 2);
  write_file("f", old);
  Bytes now = old;
  now.insert(now.begin() + 1000, {1, 2, 3, 4, 5});
  for (size_t i = 100000; i < 100100; ++i) now[i] ^= 0xff;
  ASSERT_TRUE(put_content("f", now, &old).is_ok());
  EXPECT_EQ(read_file("f"), now);
  // Save-by-rename: the basis is another name.
  Bytes next = now;
  next.resize(250000);
  ASSERT_TRUE(put_content("g", next, &now, "f").is_ok());
  EXPECT_EQ(read_file("g"), next);
  EXPECT_EQ(read_file("f"), now) << "the basis is left alone";
  EXPECT_EQ(list(), (std::vector<std::string>{"f", "g"}));
}

TEST_P(ContentTest, BasisMismatchSaysWhatTheMirrorHas) {
  const Bytes have = to_bytes("what the mirror has");
  write_file("f", have);
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("f", root_path("s").c_str()), 0);
  const wire::Hash thinks = hash_of(to_bytes("what the client thinks"));
  auto r = begin_file("f", 1, "f", thinks);
  ASSERT_TRUE(r.is_ok());
  ASSERT_TRUE(r->mismatch.has_value());
  EXPECT_FALSE(r->writer);
  EXPECT_TRUE(r->mismatch->exists);
  EXPECT_EQ(r->mismatch->actual_hash, hash_of(have));
  for (const char* missing : {"none", "no/dir", "d", "s"}) {
    r = begin_file("f", 1, missing, thinks);
    ASSERT_TRUE(r.is_ok()) << missing;
    ASSERT_TRUE(r->mismatch.has_value()) << missing;
    EXPECT_FALSE(r->mismatch->exists) << missing;
  }
  EXPECT_EQ(read_file("f"), have);
}

TEST_P(ContentTest, CatalogRowTrustedOnlyWhileStatMatches) {
  const Bytes have = to_bytes("version one of the file");
  write_file("f", have);
  struct stat st = lstat_of("f");
  // A row claiming another hash for exactly this (ino, size, mtime,
  // ctime) is believed: no read of the file.
  applier_.reset();
  {
    auto cat = db::MirrorCatalog::open(state_ + "/mirror.db", "unused");
    ASSERT_TRUE(cat.is_ok());
    db::MirrorFileRow row{st.st_ino, static_cast<uint64_t>(st.st_size),
                          st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                          st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec,
                          hash_of(to_bytes("claimed")), {}};
    ASSERT_TRUE((*cat)->put_file(row).is_ok());
  }
  reopen();
  auto r = begin_file("f", 1, "f", hash_of(to_bytes("claimed")));
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->writer) << "the row was used";
  r->writer.reset();
  // Changed behind the catalog's back, same size, mtime put back: ctime
  // moved, so the file is hashed again.
  write_file("f", to_bytes("version two of the file"));
  const timespec ts[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, root_path("f").c_str(), ts, 0), 0);
  r = begin_file("f", 1, "f", hash_of(to_bytes("claimed")));
  ASSERT_TRUE(r.is_ok());
  ASSERT_TRUE(r->mismatch.has_value());
  EXPECT_EQ(r->mismatch->actual_hash,
            hash_of(to_bytes("version two of the file")));
  // The row now holds the real hash.
  r = begin_file("f", 1, "f", hash_of(to_bytes("version two of the file")));
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->writer);
}

TEST_P(ContentTest, WrongHashOrSizeLeavesTargetUntouched) {
  const Bytes old = to_bytes("old content");
  write_file("f", old);
  const ino_t ino = lstat_of("f").st_ino;
  const Bytes data = random_bytes(5000, 3);
  const Bytes delta = delta_of({}, data);
  {  // wrong hash
    auto w = begin("f", data.size());
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(delta).is_ok());
    Status st = w->finish(end_for(to_bytes("something else")));
    EXPECT_EQ(st.code(), Code::kCorrupt);
    EXPECT_NE(st.message().find("f"), std::string::npos);
    EXPECT_EQ(list(), (std::vector<std::string>{"f"})) << "no temp, at once";
    EXPECT_EQ(w->finish(end_for(data)).code(), Code::kCorrupt) << "sticky";
  }
  {  // announced size too small: caught while writing
    auto w = begin("f", data.size() - 1);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->write(delta).code(), Code::kCorrupt);
    EXPECT_EQ(list(), (std::vector<std::string>{"f"}));
  }
  {  // too large: caught at finish
    auto w = begin("f", data.size() + 1);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(delta).is_ok());
    EXPECT_EQ(w->finish(end_for(data)).code(), Code::kCorrupt);
  }
  EXPECT_EQ(read_file("f"), old);
  EXPECT_EQ(lstat_of("f").st_ino, ino);
  EXPECT_EQ(list(), (std::vector<std::string>{"f"}));
}

TEST_P(ContentTest, BadDeltasAreCorruptAndLeaveNothing) {
  const Bytes old = to_bytes("0123456789");
  write_file("f", old);
  struct Case {
    const char* name;
    Bytes delta;
    bool with_basis;
  } cases[] = {
      {"copy past the basis", make_delta({{true, 5, 6, {}}}), true},
      {"copy far past", make_delta({{true, 1u << 30, 1, {}}}), true},
      {"copy without basis", make_delta({{true, 0, 1, {}}}), false},
      {"no END", make_delta({{false, 0, 0, to_bytes("abc")}}, false), false},
      {"bytes after END",
       [] {
         Bytes d = make_delta({{false, 0, 0, to_bytes("abc")}});
         d.push_back(0);
         return d;
       }(),
       false},
      {"bad magic", to_bytes("nope"), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto w = begin("f", 3, c.with_basis ? &old : nullptr);
    ASSERT_TRUE(w);
    Status st = w->write(c.delta);
    if (st.is_ok()) st = w->finish(end_for(to_bytes("abc")));
    EXPECT_EQ(st.code(), Code::kCorrupt) << st.to_string();
    EXPECT_EQ(list(), (std::vector<std::string>{"f"}));
    EXPECT_EQ(w->write(to_bytes("x")).code(), Code::kCorrupt) << "sticky";
  }
  EXPECT_EQ(read_file("f"), old);
  // The same COPY inside the basis is fine.
  auto w = begin("f", 5, &old);
  ASSERT_TRUE(w->write(make_delta({{true, 5, 5, {}}})).is_ok());
  ASSERT_TRUE(w->finish(end_for(to_bytes("56789"))).is_ok());
  EXPECT_EQ(read_file("f"), to_bytes("56789"));
}

TEST_P(ContentTest, WriterDestroyedMidwayLeavesNothing) {
  write_file("f", to_bytes("old"));
  const Bytes data = random_bytes(100000, 4);
  const Bytes delta = delta_of({}, data);
  for (const char* path : {"f", "new"}) {
    auto w = begin(path, data.size());
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write({delta.data(), delta.size() / 2}).is_ok());
    w.reset();
  }
  EXPECT_EQ(list(), (std::vector<std::string>{"f"}));
  EXPECT_EQ(read_file("f"), to_bytes("old"));
}

TEST_P(ContentTest, LinksStayHardLinksAndXattrsCarryOver) {
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  write_file("a", to_bytes("old"));
  ASSERT_EQ(::link(root_path("a").c_str(), root_path("b").c_str()), 0);
  write_file("d/c", to_bytes("unrelated"));
  ASSERT_EQ(::chmod(root_path("a").c_str(), 0604), 0);
  ASSERT_EQ(::setxattr(root_path("a").c_str(), "user.tag", "kept", 4, 0), 0);
  const Bytes data = random_bytes(70000, 5);
  ASSERT_TRUE(
      put_content("a", data, nullptr, "", {}, {"b", "d/c", "d/new", "a"})
          .is_ok());
  const struct stat a = lstat_of("a");
  EXPECT_EQ(a.st_nlink, 4u);
  for (const char* n : {"b", "d/c", "d/new"}) {
    EXPECT_EQ(lstat_of(n).st_ino, a.st_ino) << n;
  }
  EXPECT_EQ(read_file("d/c"), data);
  EXPECT_EQ(xattr("a", "user.tag"), "kept");
  EXPECT_EQ(a.st_mode & 07777, 0604u) << "no mode sent: the old one stays";
  EXPECT_EQ(list(), (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ(list("d"), (std::vector<std::string>{"c", "new"}));
  // A directory in a link's place: the error names it; the target is
  // updated, the other links too.
  ASSERT_EQ(::mkdir(root_path("d/x").c_str(), 0755), 0);
  const Bytes more = to_bytes("more");
  Status st = put_content("a", more, nullptr, "", {}, {"d/x", "b"});
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_NE(st.message().find("d/x"), std::string::npos);
  EXPECT_EQ(read_file("a"), more);
  EXPECT_EQ(lstat_of("b").st_ino, lstat_of("a").st_ino);
}

TEST_P(ContentTest, OwnerAndModeApplied) {
  wire::Attrs a;
  a.valid = AttrPayload::kMode | AttrPayload::kUid | AttrPayload::kGid;
  a.mode = S_IFREG | 04755;
  a.uid = 1234;
  a.gid = 5678;
  ASSERT_TRUE(put_content("f", to_bytes("x"), nullptr, "", a).is_ok());
  const struct stat st = lstat_of("f");
  EXPECT_EQ(st.st_mode & 07777, 04755u) << "chown first, then the set-ID bit";
  if (options().set_owner) {
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
  } else {
    EXPECT_EQ(st.st_uid, ::geteuid());
  }
}

TEST_P(ContentTest, TargetDirectoryOrMissingParentIsAnError) {
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  auto r = begin_file("d", 0);
  EXPECT_EQ(r.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(r.status().errno_value(), EISDIR);
  r = begin_file("missing/f", 0);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("missing/f"), std::string::npos);
  EXPECT_EQ(list(), (std::vector<std::string>{"d"}));
}

// Save-by-rename: the file a rename (or an unlink) removed stays at hand
// until the next barrier, as the basis of the file that took its name,
// found by content hash. After the barrier it is gone.
TEST_P(ContentTest, WhatARenameReplacedIsTheBasisOfWhatTookItsName) {
  const Bytes old = random_bytes(300000, 7);
  ASSERT_TRUE(put_content("doc", old).is_ok());
  Bytes edited = old;
  edited[1000] ^= 1;
  edited.insert(edited.begin() + 5000, 10, 0x42);
  for (const bool by_unlink : {false, true}) {
    SCOPED_TRACE(by_unlink ? "unlink + create" : "rename over");
    if (by_unlink) {
      ASSERT_TRUE(apply(op(wire::Type::kUnlink, "doc")).is_ok());
      ASSERT_TRUE(put_content("doc", {9}).is_ok());
    } else {
      ASSERT_TRUE(put_content("doc.tmp", {1, 2, 3}).is_ok());
      ASSERT_TRUE(apply(op(wire::Type::kRename, "doc.tmp", "doc")).is_ok());
    }
    Status s = put_content("doc", edited, &old, "doc");
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_TRUE(read_file("doc") == edited);
    // Handed out once: the same basis again is a mismatch.
    EXPECT_EQ(put_content("doc", old, &old, "doc").message(), "basis mismatch");
    ASSERT_TRUE(put_content("doc", old).is_ok());
  }
  ASSERT_TRUE(put_content("doc.tmp", {1}).is_ok());
  ASSERT_TRUE(apply(op(wire::Type::kRename, "doc.tmp", "doc")).is_ok());
  ASSERT_TRUE(applier_->barrier(kClient, seq_).is_ok());
  EXPECT_EQ(put_content("doc", edited, &old, "doc").message(), "basis mismatch");
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

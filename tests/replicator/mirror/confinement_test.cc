// Nothing a client sends reaches outside ROOT: refused paths, symlinks in
// the middle of a path (pointing out of ROOT or inside it), and a final
// symlink, which is acted on itself and never followed. The fixture
// checks after every test that the sentinel tree beside ROOT is intact.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "db/attr_payload.h"
#include "replicator/mirror/mirror_root.h"
#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

using db::AttrPayload;
using wire::Type;

class ConfinementTest : public MirrorTest {
 protected:
  // Every kind of request on `path` (and as second path): all refused
  // with `code`; errno `err` when not 0.
  void expect_all_refused(const std::string& path, Code code, int err) {
    SCOPED_TRACE(path);
    auto check = [&](const Status& st, const char* what) {
      EXPECT_EQ(st.code(), code) << what << ": " << st.to_string();
      if (err) {
        EXPECT_EQ(st.errno_value(), err) << what;
      }
    };
    wire::EntryOp mk = op(Type::kMkdir, path);
    check(apply(mk), "mkdir");
    wire::EntryOp nod = op(Type::kMknod, path);
    nod.attrs.valid = AttrPayload::kMode;
    nod.attrs.mode = S_IFIFO | 0644;
    check(apply(nod), "mknod");
    check(apply(op(Type::kSymlink, path, "t")), "symlink");
    check(apply(op(Type::kLink, "ok", path)), "link to");
    check(apply(op(Type::kLink, path, "ok2")), "link from");
    check(apply(op(Type::kRename, "ok", path)), "rename to");
    check(apply(op(Type::kRename, path, "ok2")), "rename from");
    wire::EntryOp sa = op(Type::kSetattr, path);
    sa.attrs.valid = AttrPayload::kMode;
    sa.attrs.mode = 0777;
    check(apply(sa), "setattr");
    wire::EntryOp sx = op(Type::kSetxattr, path, "user.x");
    sx.value = to_bytes("v");
    check(apply(sx), "setxattr");
    check(apply(op(Type::kRemovexattr, path, "user.sentinel")), "removexattr");
    wire::FileBegin fb;
    fb.path = path;
    fb.new_size = 1;
    check(applier_->begin_file(kClient, fb).status(), "content");
    fb.path = "ok";
    fb.has_basis = true;
    fb.basis_path = path;
    check(applier_->begin_file(kClient, fb).status(), "basis");
    check(applier_
              ->signature(path,
                          [](std::span<const uint8_t>) { return Status::ok(); })
              .status(),
          "signature");
    EXPECT_EQ(read_file("ok"), to_bytes("ok")) << "ok untouched";
  }
  // unlink and rmdir of a refused path: refused too, except that a
  // missing directory on the way is "already gone".
  void expect_unlink_refused(const std::string& path) {
    EXPECT_EQ(apply(op(Type::kUnlink, path)).code(), Code::kInvalidArgument)
        << path;
    EXPECT_EQ(apply(op(Type::kRmdir, path)).code(), Code::kInvalidArgument)
        << path;
  }
  void SetUp() override {
    MirrorTest::SetUp();
    write_file("ok", to_bytes("ok"));
  }
};

TEST_F(ConfinementTest, BadPathsAreRefused) {
  const std::string bad[] = {"",
                             "/etc/passwd",
                             "../outside/secret",
                             "a/../..",
                             "a//b",
                             "./a",
                             "a/.",
                             "a/",
                             std::string("a\0b", 3),
                             std::string(wire::kMaxPath + 1, 'x')};
  for (const std::string& p : bad) {
    expect_all_refused(p, Code::kInvalidArgument, 0);
    expect_unlink_refused(p);
  }
  EXPECT_TRUE(check_rel_path(std::string(wire::kMaxPath, 'x')).is_ok());
  EXPECT_TRUE(check_rel_path("a/b.c/..d/...").is_ok());
  EXPECT_EQ(list(), (std::vector<std::string>{"ok"}));
}

TEST_F(ConfinementTest, SymlinkInTheMiddlePointingOutIsRefused) {
  ASSERT_EQ(::symlink(outside_.c_str(), root_path("out").c_str()), 0);
  ASSERT_EQ(::symlink("../outside", root_path("rel").c_str()), 0);
  for (const char* p : {"out/secret", "out/sub/new", "rel/secret", "rel/new"}) {
    expect_all_refused(p, Code::kInvalidArgument, ELOOP);
    expect_unlink_refused(p);
  }
}

TEST_F(ConfinementTest, SymlinkInTheMiddlePointingInsideIsRefused) {
  ASSERT_EQ(::mkdir(root_path("real").c_str(), 0755), 0);
  write_file("real/f", to_bytes("f"));
  ASSERT_EQ(::symlink("real", root_path("alias").c_str()), 0);
  expect_all_refused("alias/f", Code::kInvalidArgument, ELOOP);
  expect_unlink_refused("alias/f");
  EXPECT_EQ(list("real"), (std::vector<std::string>{"f"}));
  EXPECT_EQ(read_file("real/f"), to_bytes("f"));
}

TEST_F(ConfinementTest, FinalSymlinkIsNeverFollowed) {
  const std::string secret = outside_ + "/secret";
  ASSERT_EQ(::symlink(secret.c_str(), root_path("lnk").c_str()), 0);
  ASSERT_EQ(::symlink(outside_.c_str(), root_path("dirlnk").c_str()), 0);
  // chmod: the link's mode is meaningless on Linux; the target keeps its.
  wire::EntryOp sa = op(Type::kSetattr, "lnk");
  sa.attrs.valid =
      AttrPayload::kMode | AttrPayload::kMtime | AttrPayload::kAtime;
  sa.attrs.mode = 0777;
  sa.attrs.mtime_ns = 1234567890123456789;
  sa.attrs.atime_ns = 1234567890123456789;
  if (options().set_owner) {
    sa.attrs.valid |= AttrPayload::kUid;
    sa.attrs.uid = 4242;
  }
  ASSERT_TRUE(apply(sa).is_ok());
  const struct stat st = lstat_of("lnk");
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
            1234567890123456789);
  if (options().set_owner) {
    EXPECT_EQ(st.st_uid, 4242u);
  }
  // xattrs: user.* is not allowed on a symlink (so an error), trusted.*
  // lands on the link itself.
  wire::EntryOp ux = op(Type::kSetxattr, "lnk", "user.x");
  ux.value = to_bytes("v");
  EXPECT_FALSE(apply(ux).is_ok());
  EXPECT_FALSE(apply(op(Type::kRemovexattr, "lnk", "user.sentinel")).is_ok());
  if (::geteuid() == 0) {
    wire::EntryOp tx = op(Type::kSetxattr, "lnk", "trusted.x");
    tx.value = to_bytes("v");
    ASSERT_TRUE(apply(tx).is_ok());
    EXPECT_EQ(xattr("lnk", "trusted.x"), "v");
    ASSERT_TRUE(apply(op(Type::kRemovexattr, "lnk", "trusted.x")).is_ok());
  }
  // A basis or a signature through it: there is no regular file there.
  auto begun = begin_file("new", 1, "lnk", hash_of(to_bytes("sentinel\n")));
  ASSERT_TRUE(begun.is_ok());
  ASSERT_TRUE(begun->mismatch.has_value());
  EXPECT_FALSE(begun->mismatch->exists);
  bool called = false;
  auto sig = applier_->signature("lnk", [&](std::span<const uint8_t>) {
    called = true;
    return Status::ok();
  });
  ASSERT_TRUE(sig.is_ok());
  EXPECT_FALSE(sig->exists);
  EXPECT_FALSE(called);
  // Content to it replaces the link with a file.
  ASSERT_TRUE(put_content("lnk", to_bytes("mine")).is_ok());
  EXPECT_TRUE(S_ISREG(lstat_of("lnk").st_mode));
  EXPECT_EQ(read_file("lnk"), to_bytes("mine"));
  // Unlink, rename, mkdir, link and symlink act on the name only.
  ASSERT_TRUE(apply(op(Type::kMkdir, "dirlnk")).code() == Code::kAlreadyExists);
  ASSERT_TRUE(apply(op(Type::kLink, "dirlnk", "dirlnk2")).is_ok());
  ASSERT_TRUE(apply(op(Type::kRename, "dirlnk2", "dirlnk3")).is_ok());
  ASSERT_TRUE(apply(op(Type::kUnlink, "dirlnk3")).is_ok());
  ASSERT_TRUE(apply(op(Type::kSymlink, "dirlnk", "elsewhere")).is_ok());
  ASSERT_TRUE(apply(op(Type::kRmdir, "dirlnk")).code() != Code::kOk);
  ASSERT_TRUE(apply(op(Type::kUnlink, "dirlnk")).is_ok());
  EXPECT_EQ(list(), (std::vector<std::string>{"lnk", "ok"}));
}

TEST_F(ConfinementTest, ContentLinksThroughASymlinkRefuseTheUpdate) {
  ASSERT_EQ(::symlink(outside_.c_str(), root_path("out").c_str()), 0);
  write_file("f", to_bytes("old"));
  Status st =
      put_content("f", to_bytes("new"), nullptr, "", {}, {"g", "out/stolen"});
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.to_string();
  EXPECT_EQ(read_file("f"), to_bytes("old"));
  EXPECT_EQ(list(), (std::vector<std::string>{"f", "ok", "out"}));
}

TEST_F(ConfinementTest, StateDirInsideRootIsRefused) {
  auto a = Applier::open(root_, root_ + "/state");
  ASSERT_FALSE(a.is_ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  auto b = Applier::open(root_, root_);
  EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
  auto c = Applier::open(base_ + "/no-such-root", state_);
  EXPECT_EQ(c.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

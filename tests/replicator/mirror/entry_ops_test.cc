// Every entry operation, applied as the source did it, and its replay
// (the same op again, as after a reconnect that no barrier covered).
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "db/attr_payload.h"
#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

using db::AttrPayload;
using wire::Type;

constexpr int64_t kMtime = 1700000000123456789;  // ns: all digits count
constexpr int64_t kAtime = 1600000000987654321;

int64_t mtime_of(const struct stat& st) {
  return st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}
int64_t atime_of(const struct stat& st) {
  return st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec;
}

wire::Attrs mode_times(uint32_t mode) {
  wire::Attrs a;
  a.valid = AttrPayload::kMode | AttrPayload::kAtime | AttrPayload::kMtime;
  a.mode = mode;
  a.atime_ns = kAtime;
  a.mtime_ns = kMtime;
  return a;
}

// Replays here are applied again, as after a reboot, when no progress
// record skips them: each operation must be idempotent by state.
class EntryOpsTest : public MirrorTest {
 protected:
  ApplierOptions options() const override {
    ApplierOptions o;
    o.remember_progress = false;
    return o;
  }
};

TEST_F(EntryOpsTest, MkdirSetsAttrsAndReplaySetsThemAgain) {
  wire::EntryOp mk = op(Type::kMkdir, "d");
  mk.attrs = mode_times(S_IFDIR | 02750);
  ASSERT_TRUE(apply(mk).is_ok());
  struct stat st = lstat_of("d");
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 02750u);  // exact: no umask
  EXPECT_EQ(mtime_of(st), kMtime);
  EXPECT_EQ(atime_of(st), kAtime);
  ASSERT_EQ(::chmod(root_path("d").c_str(), 0700), 0);
  ASSERT_TRUE(apply(mk).is_ok()) << "replay of mkdir";
  EXPECT_EQ(lstat_of("d").st_mode & 07777, 02750u);
  // A file in the way is not a directory.
  write_file("f", to_bytes("x"));
  Status st2 = apply(op(Type::kMkdir, "f"));
  EXPECT_EQ(st2.code(), Code::kAlreadyExists) << st2.to_string();
  EXPECT_NE(st2.message().find("f"), std::string::npos);
  // A missing parent.
  Status st3 = apply(op(Type::kMkdir, "no/such"));
  EXPECT_EQ(st3.code(), Code::kNotFound) << st3.to_string();
  EXPECT_EQ(st3.errno_value(), ENOENT);
}

TEST_F(EntryOpsTest, MknodFifoSocketFileDeviceAndReplay) {
  struct Case {
    const char* name;
    uint32_t type;
  } cases[] = {{"fifo", S_IFIFO}, {"sock", S_IFSOCK}, {"reg", S_IFREG}};
  for (const Case& c : cases) {
    wire::EntryOp mk = op(Type::kMknod, c.name);
    mk.attrs = mode_times(c.type | 0640);
    ASSERT_TRUE(apply(mk).is_ok()) << c.name;
    struct stat st = lstat_of(c.name);
    EXPECT_EQ(st.st_mode, c.type | 0640) << c.name;
    EXPECT_EQ(mtime_of(st), kMtime) << c.name;
    ASSERT_TRUE(apply(mk).is_ok()) << "replay " << c.name;
    EXPECT_EQ(lstat_of(c.name).st_ino, st.st_ino) << "kept, not recreated";
  }
  // A replayed mknod of a regular file keeps its content.
  write_file("reg", to_bytes("content"));
  wire::EntryOp again = op(Type::kMknod, "reg");
  again.attrs = mode_times(S_IFREG | 0640);
  ASSERT_TRUE(apply(again).is_ok());
  EXPECT_EQ(read_file("reg"), to_bytes("content"));
  // Another type in the way is replaced (never a directory).
  wire::EntryOp fifo = op(Type::kMknod, "reg");
  fifo.attrs = mode_times(S_IFIFO | 0600);
  ASSERT_TRUE(apply(fifo).is_ok());
  EXPECT_TRUE(S_ISFIFO(lstat_of("reg").st_mode));
  ASSERT_EQ(::mkdir(root_path("dir").c_str(), 0755), 0);
  wire::EntryOp over_dir = op(Type::kMknod, "dir");
  over_dir.attrs = mode_times(S_IFIFO | 0600);
  EXPECT_EQ(apply(over_dir).code(), Code::kAlreadyExists);
  // No mode, or a directory type: refused.
  EXPECT_EQ(apply(op(Type::kMknod, "nomode")).code(), Code::kInvalidArgument);
  wire::EntryOp bad = op(Type::kMknod, "bad");
  bad.attrs = mode_times(S_IFDIR | 0755);
  EXPECT_EQ(apply(bad).code(), Code::kInvalidArgument);
  EXPECT_EQ(list(), (std::vector<std::string>{"dir", "fifo", "reg", "sock"}));

  wire::EntryOp dev = op(Type::kMknod, "null");
  dev.attrs = mode_times(S_IFCHR | 0666);
  dev.attrs.valid |= AttrPayload::kRdev;
  dev.attrs.rdev = makedev(1, 3);
  Status st = apply(dev);
  if (::geteuid() == 0) {
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    EXPECT_TRUE(S_ISCHR(lstat_of("null").st_mode));
    EXPECT_EQ(lstat_of("null").st_rdev, makedev(1, 3));
    EXPECT_TRUE(apply(dev).is_ok()) << "replay of a device node";
  } else {
    EXPECT_EQ(st.code(), Code::kUnsupported);
    EXPECT_EQ(st.errno_value(), EPERM);
  }
}

TEST_F(EntryOpsTest, SymlinkSameTextIsOkOtherTextIsReplaced) {
  wire::EntryOp ln = op(Type::kSymlink, "l", "../some/where");
  ln.attrs = mode_times(S_IFLNK | 0777);
  ASSERT_TRUE(apply(ln).is_ok());
  char buf[64];
  ssize_t n = ::readlink(root_path("l").c_str(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "../some/where");
  EXPECT_EQ(mtime_of(lstat_of("l")), kMtime) << "times set on the link itself";
  const ino_t ino = lstat_of("l").st_ino;
  ASSERT_TRUE(apply(ln).is_ok()) << "replay";
  EXPECT_EQ(lstat_of("l").st_ino, ino);
  ASSERT_TRUE(apply(op(Type::kSymlink, "l", "other")).is_ok());
  n = ::readlink(root_path("l").c_str(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "other");
  // A file in the way is replaced; a directory is not.
  write_file("f", to_bytes("x"));
  ASSERT_TRUE(apply(op(Type::kSymlink, "f", "t")).is_ok());
  EXPECT_TRUE(S_ISLNK(lstat_of("f").st_mode));
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  EXPECT_EQ(apply(op(Type::kSymlink, "d", "t")).code(), Code::kAlreadyExists);
  EXPECT_EQ(apply(op(Type::kSymlink, "e", "")).code(), Code::kInvalidArgument);
  EXPECT_EQ(list(), (std::vector<std::string>{"d", "f", "l"}));
}

TEST_F(EntryOpsTest, LinkAndItsReplays) {
  write_file("a", to_bytes("one"));
  ASSERT_TRUE(apply(op(Type::kLink, "a", "b")).is_ok());
  EXPECT_EQ(lstat_of("a").st_ino, lstat_of("b").st_ino);
  EXPECT_TRUE(apply(op(Type::kLink, "a", "b")).is_ok()) << "same inode: OK";
  // Another file at the new name is replaced.
  write_file("c", to_bytes("other"));
  ASSERT_TRUE(apply(op(Type::kLink, "a", "c")).is_ok());
  EXPECT_EQ(lstat_of("c").st_ino, lstat_of("a").st_ino);
  EXPECT_EQ(lstat_of("a").st_nlink, 3u);
  // The source went later (unlink a): the replayed link is OK.
  ASSERT_TRUE(apply(op(Type::kUnlink, "a")).is_ok());
  EXPECT_TRUE(apply(op(Type::kLink, "a", "b")).is_ok());
  EXPECT_FALSE(exists("a"));
  // Nothing at either name: an error naming the path.
  Status st = apply(op(Type::kLink, "gone", "new"));
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_NE(st.message().find("gone"), std::string::npos);
  // A symlink is linked itself, never its target.
  ASSERT_EQ(::symlink("b", root_path("s").c_str()), 0);
  ASSERT_TRUE(apply(op(Type::kLink, "s", "s2")).is_ok());
  EXPECT_TRUE(S_ISLNK(lstat_of("s2").st_mode));
  EXPECT_EQ(lstat_of("s2").st_ino, lstat_of("s").st_ino);
}

TEST_F(EntryOpsTest, UnlinkAndRmdirOfMissingNamesAreOk) {
  write_file("f", to_bytes("x"));
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(root_path("full").c_str(), 0755), 0);
  write_file("full/x", to_bytes("x"));
  ASSERT_TRUE(apply(op(Type::kUnlink, "f")).is_ok());
  ASSERT_TRUE(apply(op(Type::kUnlink, "f")).is_ok()) << "replay";
  ASSERT_TRUE(apply(op(Type::kUnlink, "no/such/file")).is_ok());
  ASSERT_TRUE(apply(op(Type::kRmdir, "d")).is_ok());
  ASSERT_TRUE(apply(op(Type::kRmdir, "d")).is_ok()) << "replay";
  Status st = apply(op(Type::kRmdir, "full"));
  EXPECT_EQ(st.errno_value(), ENOTEMPTY) << st.to_string();
  EXPECT_NE(st.message().find("full"), std::string::npos);
  EXPECT_FALSE(apply(op(Type::kUnlink, "full")).is_ok()) << "a directory";
  EXPECT_EQ(list(), (std::vector<std::string>{"full"}));
}

TEST_F(EntryOpsTest, RenameReplayAndFlags) {
  write_file("a", to_bytes("A"));
  write_file("b", to_bytes("B"));
  wire::EntryOp mv = op(Type::kRename, "a", "c");
  ASSERT_TRUE(apply(mv).is_ok());
  EXPECT_EQ(read_file("c"), to_bytes("A"));
  ASSERT_TRUE(apply(mv).is_ok()) << "replay: source gone, target there";
  EXPECT_EQ(apply(op(Type::kRename, "x", "y")).code(), Code::kNotFound);
  // NOREPLACE converges on the source's state: the target is replaced.
  wire::EntryOp nr = op(Type::kRename, "c", "b");
  nr.flags = 1;
  ASSERT_TRUE(apply(nr).is_ok());
  EXPECT_EQ(read_file("b"), to_bytes("A"));
  EXPECT_FALSE(exists("c"));
  // EXCHANGE swaps.
  write_file("c", to_bytes("C"));
  wire::EntryOp ex = op(Type::kRename, "b", "c");
  ex.flags = 2;
  ASSERT_TRUE(apply(ex).is_ok());
  EXPECT_EQ(read_file("b"), to_bytes("C"));
  EXPECT_EQ(read_file("c"), to_bytes("A"));
  wire::EntryOp bad = op(Type::kRename, "b", "c");
  bad.flags = 3;
  EXPECT_EQ(apply(bad).code(), Code::kInvalidArgument);
  bad.flags = 8;
  EXPECT_EQ(apply(bad).code(), Code::kInvalidArgument);
  // Into a subdirectory, and a directory with its subtree.
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  ASSERT_TRUE(apply(op(Type::kRename, "b", "d/b")).is_ok());
  ASSERT_TRUE(apply(op(Type::kRename, "d", "e")).is_ok());
  EXPECT_EQ(read_file("e/b"), to_bytes("C"));
}

TEST_F(EntryOpsTest, SetattrAppliesOnlyValidFields) {
  write_file("f", to_bytes("x"));
  ASSERT_EQ(::chmod(root_path("f").c_str(), 0644), 0);
  const struct stat before = lstat_of("f");
  wire::EntryOp sa = op(Type::kSetattr, "f");
  sa.attrs.valid = AttrPayload::kMtime;
  sa.attrs.mtime_ns = kMtime;
  sa.attrs.mode = 0777;  // not valid: ignored
  ASSERT_TRUE(apply(sa).is_ok());
  struct stat st = lstat_of("f");
  EXPECT_EQ(mtime_of(st), kMtime);
  EXPECT_EQ(atime_of(st), atime_of(before)) << "atime not valid: kept";
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  sa = op(Type::kSetattr, "f");
  sa.attrs = mode_times(04711);
  sa.attrs.mtime_ns = -1500000000;  // before the epoch, to the ns
  ASSERT_TRUE(apply(sa).is_ok());
  st = lstat_of("f");
  EXPECT_EQ(st.st_mode & 07777, 04711u);
  EXPECT_EQ(mtime_of(st), -1500000000);
  EXPECT_EQ(atime_of(st), kAtime);
  if (options().set_owner) {
    sa = op(Type::kSetattr, "f");
    sa.attrs.valid = AttrPayload::kUid | AttrPayload::kGid;
    sa.attrs.uid = 4321;
    sa.attrs.gid = 8765;
    ASSERT_TRUE(apply(sa).is_ok());
    EXPECT_EQ(lstat_of("f").st_uid, 4321u);
    EXPECT_EQ(lstat_of("f").st_gid, 8765u);
  }
  Status missing = apply(op(Type::kSetattr, "nothing"));
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.message().find("nothing"), std::string::npos);
}

TEST_F(EntryOpsTest, XattrsSetReplaceRemove) {
  write_file("f", to_bytes("x"));
  wire::EntryOp set = op(Type::kSetxattr, "f", "user.colour");
  set.value = to_bytes("blue");
  ASSERT_TRUE(apply(set).is_ok());
  EXPECT_EQ(xattr("f", "user.colour"), "blue");
  set.value = to_bytes("green");
  ASSERT_TRUE(apply(set).is_ok());
  EXPECT_EQ(xattr("f", "user.colour"), "green");
  set.value.clear();  // an empty value is a value
  ASSERT_TRUE(apply(set).is_ok());
  EXPECT_EQ(xattr("f", "user.colour"), "");
  ASSERT_TRUE(apply(op(Type::kRemovexattr, "f", "user.colour")).is_ok());
  EXPECT_EQ(xattr("f", "user.colour"), "<none>");
  ASSERT_TRUE(apply(op(Type::kRemovexattr, "f", "user.colour")).is_ok())
      << "replay";
  EXPECT_EQ(apply(op(Type::kSetxattr, "f", "")).code(), Code::kInvalidArgument);
  EXPECT_EQ(apply(op(Type::kSetxattr, "f", std::string(256, 'u'))).code(),
            Code::kInvalidArgument);
  wire::EntryOp big = op(Type::kSetxattr, "f", "user.big");
  big.value.resize(wire::kMaxXattrValue + 1);
  EXPECT_EQ(apply(big).code(), Code::kInvalidArgument);
  EXPECT_EQ(apply(op(Type::kSetxattr, "none", "user.a")).code(),
            Code::kNotFound);
}

TEST_F(EntryOpsTest, NotAnEntryOpIsRefused) {
  wire::EntryOp o = op(Type::kFileBegin, "f");
  EXPECT_EQ(apply(o).code(), Code::kInvalidArgument);
  EXPECT_EQ(applier_->apply("", op(Type::kMkdir, "d")).code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(exists("d"));
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

// A full disk on the mirror: a clear error naming the path, no partial
// file, and a retry after space is freed works. ROOT is a 1 MiB tmpfs
// (mounting needs root: without it the test is skipped, and says so).
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>

#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

class EnospcTest : public MirrorTest {
 protected:
  void SetUp() override {
    MirrorTest::SetUp();
    applier_.reset();
    if (::mount("tmpfs", root_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                "size=1m,mode=0755") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno)
                   << "): needs root";
    }
    mounted_ = true;
    reopen();
  }
  void TearDown() override {
    applier_.reset();
    if (mounted_) {
      EXPECT_EQ(::umount2(root_.c_str(), MNT_DETACH), 0);
    }
    MirrorTest::TearDown();
  }
  uint64_t free_bytes() const {
    struct statvfs v;
    EXPECT_EQ(::statvfs(root_.c_str(), &v), 0);
    return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  }
  bool mounted_ = false;
};

TEST_F(EnospcTest, FullDiskIsAClearErrorAndARetryWorks) {
  write_file("filler", Bytes(700 << 10, 0x55));
  const uint64_t free_before = free_bytes();
  const Bytes data = random_bytes(600 << 10, 7);
  Status st = put_content("dir-less-name", data);
  ASSERT_FALSE(st.is_ok());
  EXPECT_EQ(st.code(), Code::kIoError) << st.to_string();
  EXPECT_EQ(st.errno_value(), ENOSPC) << st.to_string();
  EXPECT_NE(st.message().find("dir-less-name"), std::string::npos)
      << st.to_string();
  EXPECT_EQ(list(), (std::vector<std::string>{"filler"}));
  EXPECT_EQ(free_bytes(), free_before) << "no space held by a temporary";
  // An update that fits still goes through; then free space and retry.
  ASSERT_TRUE(put_content("small", to_bytes("fits")).is_ok());
  ASSERT_TRUE(apply(op(wire::Type::kUnlink, "filler")).is_ok());
  ASSERT_TRUE(put_content("dir-less-name", data).is_ok());
  EXPECT_EQ(read_file("dir-less-name"), data);
  EXPECT_EQ(list(), (std::vector<std::string>{"dir-less-name", "small"}));
}

TEST_F(EnospcTest, FullDiskWhilePatchingAgainstABasis) {
  const Bytes old = random_bytes(400 << 10, 8);
  write_file("f", old);
  write_file("filler", Bytes(400 << 10, 0x55));
  Bytes now = old;
  now[1000] ^= 1;
  Status st = put_content("f", now, &old);
  EXPECT_EQ(st.errno_value(), ENOSPC) << st.to_string();
  EXPECT_EQ(read_file("f"), old);
  EXPECT_EQ(list(), (std::vector<std::string>{"f", "filler"}));
  ASSERT_TRUE(apply(op(wire::Type::kUnlink, "filler")).is_ok());
  ASSERT_TRUE(put_content("f", now, &old).is_ok());
  EXPECT_EQ(read_file("f"), now);
}

// Without the up-front reservation (as on file systems that cannot
// fallocate) the disk fills while the delta is written.
class EnospcWhileWritingTest : public EnospcTest {
 protected:
  ApplierOptions options() const override {
    ApplierOptions o;
    o.reserve_space = false;
    return o;
  }
};

TEST_F(EnospcWhileWritingTest, WriteErrorDropsTheTemporaryAtOnce) {
  write_file("filler", Bytes(700 << 10, 0x55));
  const uint64_t free_before = free_bytes();
  const Bytes data = random_bytes(600 << 10, 7);
  auto begun = begin_file("big", data.size());
  ASSERT_TRUE(begun.is_ok()) << begun.status().to_string();
  const Bytes delta = delta_of({}, data);
  Status st;
  for (size_t at = 0; at < delta.size() && st.is_ok(); at += 64 << 10) {
    st = begun->writer->write(
        {delta.data() + at, std::min<size_t>(64 << 10, delta.size() - at)});
  }
  if (st.is_ok()) {
    wire::FileEnd end;
    end.new_hash = hash_of(data);
    st = begun->writer->finish(end);
  }
  EXPECT_EQ(st.errno_value(), ENOSPC) << st.to_string();
  EXPECT_NE(st.message().find("big"), std::string::npos) << st.to_string();
  // Freed before the writer is destroyed: the client may take a while.
  EXPECT_EQ(free_bytes(), free_before);
  EXPECT_EQ(list(), (std::vector<std::string>{"filler"}));
  begun->writer.reset();
  ASSERT_TRUE(apply(op(wire::Type::kUnlink, "filler")).is_ok());
  ASSERT_TRUE(put_content("big", data).is_ok());
  EXPECT_EQ(read_file("big"), data);
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

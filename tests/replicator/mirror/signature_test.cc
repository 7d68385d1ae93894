// Applier::signature: byte-identical to `rdiff signature` with rdiff's
// default options, in pieces of at most kMaxChunk, with the content hash
// and size of what was signed.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {
namespace {

class SignatureTest : public MirrorTest {
 protected:
  // The signature and SigEnd from the applier, pieces checked.
  Bytes sign(const std::string& path, wire::SigEnd* end) {
    Bytes out;
    auto r = applier_->signature(path, [&](std::span<const uint8_t> piece) {
      EXPECT_GT(piece.size(), 0u);
      EXPECT_LE(piece.size(), wire::kMaxChunk);
      out.insert(out.end(), piece.begin(), piece.end());
      return Status::ok();
    });
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    if (r.is_ok()) *end = *r;
    return out;
  }
  Bytes rdiff_signature(const std::string& path) {
    const std::string sig = base_ + "/rdiff.sig";
    ::unlink(sig.c_str());  // rdiff will not overwrite
    const std::string cmd = std::string(RDIFF_BIN) + " signature '" +
                            root_path(path) + "' '" + sig + "'";
    const int rc = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << cmd;
    std::ifstream f(sig, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), {});
  }
};

TEST_F(SignatureTest, ByteIdenticalToRdiffForSeveralSizes) {
  ASSERT_EQ(::access(RDIFF_BIN, X_OK), 0)
      << RDIFF_BIN << " is needed (Debian: apt-get install rdiff)";
  // Sizes around rdiff's block-length rules: <= 64 KiB uses 256-byte
  // blocks, larger ones sqrt(size) rounded down to a multiple of 128; the
  // last two span several of the applier's 1 MiB reads.
  for (size_t size : {size_t{0}, size_t{1}, size_t{255}, size_t{65536},
                      size_t{65537}, size_t{1000003}, size_t{3u << 20}}) {
    SCOPED_TRACE(size);
    const Bytes data = random_bytes(size, size);
    write_file("f", data);
    wire::SigEnd end;
    const Bytes mine = sign("f", &end);
    EXPECT_EQ(mine, rdiff_signature("f"));
    EXPECT_TRUE(end.exists);
    EXPECT_EQ(end.size, size);
    EXPECT_EQ(end.hash, hash_of(data));
  }
}

TEST_F(SignatureTest, NoRegularFileMeansExistsFalse) {
  ASSERT_EQ(::mkdir(root_path("d").c_str(), 0755), 0);
  ASSERT_EQ(::mkfifo(root_path("fifo").c_str(), 0644), 0);
  for (const char* p : {"missing", "d", "fifo", "no/dir/f"}) {
    bool called = false;
    auto r = applier_->signature(p, [&](std::span<const uint8_t>) {
      called = true;
      return Status::ok();
    });
    ASSERT_TRUE(r.is_ok()) << p;
    EXPECT_FALSE(r->exists) << p;
    EXPECT_FALSE(called) << p;
  }
}

TEST_F(SignatureTest, SinkErrorStopsIt) {
  write_file("f", random_bytes(10000, 9));
  int calls = 0;
  auto r = applier_->signature("f", [&](std::span<const uint8_t>) {
    ++calls;
    return Status(Code::kIoError, "connection gone", EPIPE);
  });
  EXPECT_EQ(r.status().errno_value(), EPIPE);
  EXPECT_EQ(calls, 1);
}

TEST_F(SignatureTest, SignedFileServesAsBasisWithoutRehash) {
  // The signature's read stores the hash; a patch against it follows.
  const Bytes old = random_bytes(80000, 10);
  write_file("f", old);
  wire::SigEnd end;
  sign("f", &end);
  ASSERT_EQ(end.hash, hash_of(old));
  Bytes now = old;
  now[40000] ^= 1;
  ASSERT_TRUE(put_content("f", now, &old).is_ok());
  EXPECT_EQ(read_file("f"), now);
}

}  // namespace
}  // namespace mirrorfs::replicator::mirror::testing

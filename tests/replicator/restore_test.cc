// `mirrorfs restore` against a real `mirrorfs serve`: into an empty
// directory, over an older copy (deltas: the bytes on the wire stay far
// below the file bytes), a PATH subset, a PATH the mirror lacks, a file
// that changes on the mirror while it is fetched (never torn), beside a
// running replicate of the same host, and the read-only session's
// refusal of every change (raw client).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "tests/fs/journal_replay.h"
#include "tests/replicator/raw_client.h"
#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::testing::compare_trees;

void set_mtime(const std::string& p, int64_t sec, long nsec) {
  const timespec ts[2] = {{0, UTIME_OMIT}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

// "... X on the wire ..." of restore's last line.
uint64_t wire_bytes(const std::string& out) {
  const size_t at = out.find(" on the wire");
  if (at == std::string::npos) return UINT64_MAX;
  size_t from = out.rfind(' ', at - 1);
  return std::strtoull(out.c_str() + from + 1, nullptr, 10);
}

// A PATH's own directory (DEST itself for ".") is not in the listing and
// keeps the attributes it has in DEST (documented): compare_trees, which
// checks the roots' too, gets them copied from the mirror first.
std::string compare_restored(const std::string& mirror, const std::string& dest) {
  struct stat st;
  if (::stat(mirror.c_str(), &st) != 0 || ::chmod(dest.c_str(), st.st_mode & 07777) != 0) {
    return "cannot copy the root's attributes";
  }
  const timespec ts[2] = {{0, UTIME_OMIT}, st.st_mtim};
  if (::utimensat(AT_FDCWD, dest.c_str(), ts, 0) != 0) return "cannot copy the root's mtime";
  return compare_trees(mirror, dest, /*mtimes=*/true);
}

class RestoreTest : public ReplicationTest {
 protected:
  std::pair<int, std::string> restore(const std::vector<std::string>& paths,
                                      const std::string& dest) {
    std::vector<std::string> args = {"restore", "--state", state_, "--mirror",
                                     "m=127.0.0.1:" + std::to_string(port_), "--pin",
                                     "m=" + mirror_fp_, "--to", dest};
    args.insert(args.end(), paths.begin(), paths.end());
    return run_mirrorfs(args);
  }

  // A tree on the mirror: files (empty, small, 3 MiB random), nested
  // directories, symlinks, hard links, modes, ns mtimes.
  void make_tree() {
    std::mt19937_64 rng(99);
    stdfs::create_directories(mirror_ + "/d/e/f");
    stdfs::create_directories(mirror_ + "/other");
    put_file(mirror_ + "/empty", "");
    put_file(mirror_ + "/d/small", "hello\n");
    put_file(mirror_ + "/d/e/big", random_bytes(3 << 20, rng));
    put_file(mirror_ + "/other/x", random_bytes(5000, rng));
    ASSERT_EQ(::chmod((mirror_ + "/d/small").c_str(), 0640), 0);
    ASSERT_EQ(::chmod((mirror_ + "/d/e").c_str(), 0750), 0);
    ASSERT_EQ(::symlink("e/big", (mirror_ + "/d/link").c_str()), 0);
    ASSERT_EQ(::symlink("/nowhere", (mirror_ + "/d/e/f/dangling").c_str()), 0);
    ASSERT_EQ(::link((mirror_ + "/d/e/big").c_str(), (mirror_ + "/d/hard").c_str()), 0);
    ASSERT_EQ(::mkfifo((mirror_ + "/d/fifo").c_str(), 0600), 0);
    set_mtime(mirror_ + "/d/small", 1600000000, 123456789);
    set_mtime(mirror_ + "/d/link", 1600000001, 5);
    set_mtime(mirror_ + "/d/e/f", 1600000002, 7);
    set_mtime(mirror_ + "/d/e", 1600000003, 9);
    set_mtime(mirror_ + "/d", 1600000004, 11);
  }
};

TEST_F(RestoreTest, IntoAnEmptyDirectory) {
  make_tree();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  const std::string dest = root_ + "/restored";
  auto [code, out] = restore({}, dest);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(compare_restored(mirror_, dest), "");
  struct stat a, b;
  ASSERT_EQ(::stat((dest + "/d/e/big").c_str(), &a), 0);
  ASSERT_EQ(::stat((dest + "/d/hard").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard links restored as one file";
  EXPECT_NE(out.find("restored 4 files"), std::string::npos) << out;
  EXPECT_GT(wire_bytes(out), uint64_t{3} << 20) << out;  // random: sent whole
}

TEST_F(RestoreTest, OverAnOlderCopyUsesDeltas) {
  std::mt19937_64 rng(5);
  const std::string v1 = random_bytes(16 << 20, rng);
  std::string v2 = v1;
  for (size_t at : {size_t{1} << 20, size_t{7} << 20, size_t{15} << 20}) {
    const std::string edit = random_bytes(4096, rng);
    v2.replace(at, edit.size(), edit);
  }
  v2.insert(size_t{9} << 20, random_bytes(3000, rng));
  put_file(mirror_ + "/big", v2);
  stdfs::create_directories(mirror_ + "/sub");
  put_file(mirror_ + "/sub/same", "unchanged");
  put_file(mirror_ + "/sub/kind", "a file where DEST has a directory");
  const std::string dest = root_ + "/restored";
  stdfs::create_directories(dest + "/sub");
  put_file(dest + "/big", v1);
  put_file(dest + "/sub/same", "unchanged");
  put_file(dest + "/sub/local-only", "kept");
  stdfs::create_directories(dest + "/sub/kind/inner");
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [code, out] = restore({}, dest);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(stdfs::file_size(dest + "/big"), v2.size());
  EXPECT_TRUE(stdfs::is_regular_file(dest + "/sub/kind")) << "another type is replaced";
  EXPECT_TRUE(stdfs::exists(dest + "/sub/local-only")) << "what the mirror lacks is kept";
  stdfs::remove(dest + "/sub/local-only");
  struct stat sub;
  ASSERT_EQ(::stat((mirror_ + "/sub").c_str(), &sub), 0);
  const timespec ts[2] = {{0, UTIME_OMIT}, sub.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dest + "/sub").c_str(), ts, 0), 0);
  EXPECT_EQ(compare_restored(mirror_, dest), "");
  const uint64_t wire = wire_bytes(out);
  std::printf("restore over an older copy: %zu bytes, %llu on the wire\n", v2.size(),
              static_cast<unsigned long long>(wire));
  EXPECT_LT(wire, v2.size() / 10) << out;
}

TEST_F(RestoreTest, OnlyThePathsAsked) {
  make_tree();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  const std::string dest = root_ + "/restored";
  auto [code, out] = restore({"d/e"}, dest);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(compare_restored(mirror_ + "/d/e", dest + "/d/e"), "");
  EXPECT_FALSE(stdfs::exists(dest + "/other"));
  EXPECT_FALSE(stdfs::exists(dest + "/d/small"));
}

TEST_F(RestoreTest, APathNotOnTheMirrorIsAClearError) {
  make_tree();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  const std::string dest = root_ + "/restored";
  auto [code, out] = restore({"d", "no/such"}, dest);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("PATH no/such is not on the mirror"), std::string::npos) << out;
  EXPECT_FALSE(stdfs::exists(dest)) << "nothing restored before every PATH was found";
  auto [code2, out2] = restore({"../etc"}, dest);
  EXPECT_EQ(code2, 1) << out2;
  EXPECT_NE(out2.find("must be relative"), std::string::npos) << out2;
}

// The mirror's file is rewritten in place (A, B, A...) during the fetch:
// the restore gets a whole version or fails for that file; never a mix,
// never a temporary left behind.
TEST_F(RestoreTest, AFileChangingDuringTheFetchIsNeverTorn) {
  std::mt19937_64 rng(11);
  const std::string a = random_bytes(32 << 20, rng), b = random_bytes(32 << 20, rng);
  put_file(mirror_ + "/moving", a);
  ASSERT_NO_FATAL_FAILURE(start_serve());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const int fd = ::open((mirror_ + "/moving").c_str(), O_WRONLY);
    for (int i = 0; !stop.load(); ++i) {
      const std::string& v = i % 2 ? a : b;
      for (size_t at = 0; at < v.size() && !stop.load(); at += 1 << 20) {
        (void)!::pwrite(fd, v.data() + at, 1 << 20, static_cast<off_t>(at));
      }
    }
    ::close(fd);
  });
  const std::string dest = root_ + "/restored";
  auto [code, out] = restore({}, dest);
  stop = true;
  writer.join();
  if (code == 0) {
    std::string got(32 << 20, '\0');
    const int fd = ::open((dest + "/moving").c_str(), O_RDONLY);
    ASSERT_EQ(::read(fd, got.data(), got.size()), static_cast<ssize_t>(got.size()));
    ::close(fd);
    EXPECT_TRUE(got == a || got == b) << "a torn file was restored";
  } else {
    EXPECT_NE(out.find("changed while it was read"), std::string::npos) << out;
    EXPECT_FALSE(stdfs::exists(dest + "/moving"));
  }
  for (const auto& e : stdfs::directory_iterator(dest)) {
    EXPECT_EQ(e.path().filename().string().find(".mirrorfs-"), std::string::npos) << e.path();
  }
}

TEST_F(RestoreTest, RunsBesideAReplicatingSession) {
  put_file(b("f"), "through the mount");
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  start_replicate();
  ASSERT_TRUE(wait_until([&] { return stdfs::exists(mirror_ + "/f"); }, 30));
  // replicate holds its session open; restore's read-only one goes beside.
  const std::string dest = root_ + "/restored";
  auto [code, out] = restore({}, dest);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(compare_restored(mirror_, dest), "");
  put_file(m("g"), "after the restore");
  EXPECT_TRUE(wait_until([&] { return stdfs::exists(mirror_ + "/g"); }, 30))
      << "replicate went on";
  EXPECT_TRUE(replicate_running());
  // Its first sync (not on a terminal) logged plain progress lines.
  std::ifstream in(state_ + "/replicate.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("mirror m: initial sync: 1/1 files"), std::string::npos) << log;
  EXPECT_EQ(log.find('\r'), std::string::npos);
}

TEST_F(RestoreTest, AReadOnlySessionRefusesEveryChange) {
  put_file(mirror_ + "/keep", "mirror data");
  ASSERT_NO_FATAL_FAILURE(start_serve());
  Result<std::unique_ptr<RawClient>> c =
      RawClient::connect(state_, mirror_fp_, port_, std::string(32, 'e'), wire::kCapReadOnly);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  RawClient& raw = **c;
  auto refused = [&](const std::vector<wire::Message>& answers) {
    ASSERT_FALSE(answers.empty());
    const auto* e = std::get_if<wire::Error>(&answers.back().body);
    ASSERT_NE(e, nullptr);
    EXPECT_NE(e->message.find("read-only"), std::string::npos) << e->message;
  };
  wire::EntryOp unlink;
  unlink.type = wire::Type::kUnlink;
  unlink.seq = 1;
  unlink.path = "keep";
  ASSERT_TRUE(raw.send(wire::Message{1, unlink}).is_ok());
  refused(*raw.answer());
  wire::FileBegin fb;
  fb.seq = 2;
  fb.path = "keep";
  fb.new_size = 1;
  ASSERT_TRUE(raw.send(wire::Message{2, fb}).is_ok());
  ASSERT_TRUE(raw.send(wire::Message{2, wire::FileData{{'x'}}}).is_ok());
  ASSERT_TRUE(raw.send(wire::Message{2, wire::FileEnd{}}).is_ok());
  refused(*raw.answer());
  ASSERT_TRUE(raw.send(wire::Message{3, wire::Barrier{5}}).is_ok());
  refused(*raw.answer());
  // Reads still work in the same session.
  ASSERT_TRUE(raw.send(wire::Message{4, wire::ListRequest{"."}}).is_ok());
  Result<std::vector<wire::Message>> list = raw.answer();
  ASSERT_TRUE(list.is_ok());
  EXPECT_TRUE(std::holds_alternative<wire::ListEnd>(list->back().body));
  ASSERT_TRUE(raw.send(wire::Message{5, wire::FetchBegin{"keep", false}}).is_ok());
  Result<std::vector<wire::Message>> fetched = raw.answer();
  ASSERT_TRUE(fetched.is_ok());
  EXPECT_TRUE(std::holds_alternative<wire::FetchEnd>(fetched->back().body));
  EXPECT_EQ(stdfs::file_size(mirror_ + "/keep"), 11u) << "unchanged";
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

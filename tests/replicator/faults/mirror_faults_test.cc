// Faults between and on the mirror: a connection cut mid-file by a proxy,
// a mirror root that fills up, and files changed or removed on the
// mirror behind its back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/fs/journal_replay.h"
#include "tests/replicator/faults/cut_proxy.h"
#include "tests/replicator/faults/fault_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool mentions_no_space(const std::string& s) {
  return s.find("No space left on device") != std::string::npos;
}

// replicate -> proxy -> serve; the proxy cuts the next 1 to 3 connections
// after a random number of bytes (most land mid-file: each trial sends a
// 1.5 MiB file of incompressible bytes). `replicate --once` retries with
// its backoff and gets there once the proxy passes traffic again.
TEST_F(FaultTest, ConnectionCutMidFileResumesAndConverges) {
  SCOPED_TRACE("seed " + std::to_string(seed_) +
               " (replay: MIRRORFS_FAULT_SEED=" + std::to_string(seed_) + ")");
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  std::string error;
  auto proxy = CutProxy::start(port_, &error);
  ASSERT_NE(proxy, nullptr) << error;
  replicate_port_ = proxy->port();
  auto workload = make_workload();
  TornChecker checker(mirror_, {});
  checker.start();
  const int n = trials(6);
  int cuts = 0;
  for (int trial = 0; trial < n; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    workload->run_ops(30);
    ASSERT_EQ(workload->write_file("big" + std::to_string(trial % 3), 3 << 19), 0);
    std::vector<uint64_t> plan(1 + rng_() % 3);  // fewer than --once's 4 attempts
    for (uint64_t& at : plan) at = 2048 + rng_() % (1 << 20);
    const int before = proxy->cuts_done();
    proxy->cut_next(plan);
    ASSERT_NO_FATAL_FAILURE(expect_converged());
    EXPECT_GE(proxy->cuts_done() - before, 1) << "no connection was cut";
    cuts += proxy->cuts_done() - before;
    if (HasFailure()) break;
  }
  EXPECT_EQ(checker.stop(), "");
  std::fprintf(stderr, "%d trials, %d connections cut, %llu bytes relayed\n", n, cuts,
               static_cast<unsigned long long>(proxy->bytes_relayed()));
}

// The mirror root on an 8 MiB tmpfs, sent 12 MiB: --once fails naming the
// full disk, status and serve's log say it, nothing partial or temporary
// is left on the mirror, and once files are deleted through the mount the
// next --once converges.
TEST_F(FaultTest, FullMirrorDiskFailsClearlyAndConvergesOnceFreed) {
  if (::mount("tmpfs", mirror_.c_str(), "tmpfs", 0, "size=8m,mode=0755") != 0) {
    GTEST_SKIP() << "!!! cannot mount a tmpfs on " << mirror_ << " (" << std::strerror(errno)
                 << "): SKIPPING the full-disk test. It did NOT run. !!!";
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount_tmpfs{mirror_};
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto workload = make_workload();
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(workload->write_file("f" + std::to_string(i), 1 << 20), 0);
  }
  auto [code, out] = replicate_once();
  EXPECT_NE(code, 0) << out;
  EXPECT_TRUE(mentions_no_space(out)) << out;
  const std::string st = status_json();
  EXPECT_NE(st.find("\"last_error\":\""), std::string::npos) << st;
  EXPECT_TRUE(mentions_no_space(st)) << st;
  EXPECT_TRUE(mentions_no_space(read_text(mirror_state_ + "/serve.log")));
  // Every file there is a whole version, and no temporary is left.
  EXPECT_EQ(check_tree(mirror_, {}, /*finished=*/true), "");
  int whole = 0;  // the others are absent or empty (created, no content)
  for (int i = 0; i < 12; ++i) {
    whole += is_complete(read_text(mirror_ + "/f" + std::to_string(i))) ? 1 : 0;
  }
  EXPECT_GT(whole, 0);  // the first files fitted
  EXPECT_LT(whole, 12);

  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(::unlink(m("f" + std::to_string(i)).c_str()), 0);
  }
  ASSERT_NO_FATAL_FAILURE(expect_converged());
  const std::string after = status_json();
  EXPECT_NE(after.find("\"last_error\":null"), std::string::npos) << after;
}

// Writes `n` bytes of `c` at `off` of `path` (not through the mount).
void scribble(const std::string& path, off_t off, size_t n, char c) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  const std::string bytes(n, c);
  ASSERT_EQ(::pwrite(fd, bytes.data(), n, off), static_cast<ssize_t>(n));
  ASSERT_EQ(::close(fd), 0);
}

// A file changed on the mirror behind its back, then changed on the
// source: the mirror says its basis is not the one the replicator
// believes, the replicator asks for the mirror's signature and sends a
// delta against it (kilobytes, not the 3 MiB file), and the file
// converges.
TEST_F(FaultTest, FileChangedOnMirrorIsDetectedAndRepaired) {
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto workload = make_workload();
  ASSERT_EQ(workload->write_file("a", 3 << 20), 0);
  ASSERT_NO_FATAL_FAILURE(expect_converged());
  const uint64_t sent_before = json_number(status_json(), "bytes_sent");

  ASSERT_NO_FATAL_FAILURE(scribble(mirror_ + "/a", 1 << 20, 4096, '#'));
  ASSERT_NO_FATAL_FAILURE(scribble(m("a"), 2 << 20, 4096, '@'));
  ASSERT_NO_FATAL_FAILURE(expect_converged({}, /*versioned=*/false));
  const std::string log = read_text(mirror_state_ + "/serve.log");
  EXPECT_NE(log.find("basis mismatch: a is not"), std::string::npos) << log;
  const uint64_t sent = json_number(status_json(), "bytes_sent") - sent_before;
  EXPECT_LT(sent, 512u << 10) << "a delta against the mirror's signature, not the file";
}

// A file deleted on the mirror behind its back, then changed on the
// source: the mirror says it has no basis, and the file is sent whole.
TEST_F(FaultTest, FileDeletedOnMirrorIsDetectedAndRepaired) {
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto workload = make_workload();
  ASSERT_EQ(workload->write_file("d/b", 1 << 20), ENOENT);  // no d yet
  ASSERT_EQ(::mkdir(m("d").c_str(), 0755), 0);
  ASSERT_EQ(workload->write_file("d/b", 1 << 20), 0);
  ASSERT_NO_FATAL_FAILURE(expect_converged());

  ASSERT_EQ(::unlink((mirror_ + "/d/b").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(scribble(m("d/b"), 4096, 100, '@'));
  ASSERT_NO_FATAL_FAILURE(expect_converged({}, /*versioned=*/false));
  const std::string log = read_text(mirror_state_ + "/serve.log");
  EXPECT_NE(log.find("basis mismatch: d/b is missing"), std::string::npos) << log;
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

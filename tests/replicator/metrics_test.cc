// --metrics on mount, serve and replicate, end to end: real processes,
// scraped with curl (a real HTTP client) after a workload.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

// A port that was free a moment ago (the kernel's pick for port 0).
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ADD_FAILURE() << "no free port: " << strerror(errno);
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// GET http://127.0.0.1:PORT/metrics with curl; the body, or "" on error.
std::string scrape(uint16_t port) {
  const std::string cmd =
      "curl -sS --fail --max-time 5 http://127.0.0.1:" + std::to_string(port) +
      "/metrics 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  return ::pclose(p) == 0 ? out : "";
}

// The value of the sample `series` (name and labels exactly as written),
// NaN if absent.
double value(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t at = ("\n" + text).find(key);
  if (at == std::string::npos) return NAN;
  return std::stod(text.substr(at + key.size() - 1));
}

class MetricsTest : public ReplicationTest {
 protected:
  void SetUp() override {
    ReplicationTest::SetUp();
    ASSERT_EQ(std::system("command -v curl >/dev/null"), 0)
        << "curl is needed (packaging/test.sh installs it)";
  }
};

TEST_F(MetricsTest, MountServeAndReplicateExposeWhatTheyDid) {
  const uint16_t mount_port = free_port(), serve_port = free_port(),
                 replicate_port = free_port();
  mount({"--metrics", "127.0.0.1:" + std::to_string(mount_port)});
  serve_args_ = {"--metrics", "127.0.0.1:" + std::to_string(serve_port),
                 "--in-place-min", "1M"};
  ASSERT_NO_FATAL_FAILURE(start_serve());
  replicate_args_ = {"--metrics",
                     "127.0.0.1:" + std::to_string(replicate_port)};
  ASSERT_NO_FATAL_FAILURE(start_replicate());

  constexpr int kFiles = 20;
  for (int i = 0; i < kFiles; ++i) {
    put_file(m("f" + std::to_string(i)), std::string(10000 + i, 'a' + i % 26));
  }
  put_file(m("big"), std::string(4 << 20, 'b'));
  const std::string mnt = scrape(mount_port);
  ASSERT_FALSE(mnt.empty()) << "mount metrics unreachable; " << daemon_log();
  // (Not release: the kernel sends it after close() returned, so one may
  // be in flight, counted in the histogram but not yet in the total.)
  for (const char* op : {"create", "write", "lookup", "flush"}) {
    const std::string label = std::string("{op=\"") + op + "\"}";
    const double count = value(mnt, "mirrorfs_fuse_operations_total" + label);
    EXPECT_EQ(
        value(mnt, "mirrorfs_fuse_operation_duration_seconds_count" + label),
        count)
        << op;
    EXPECT_EQ(
        value(mnt, "mirrorfs_fuse_operation_duration_seconds_bucket{op=\"" +
                       std::string(op) + "\",le=\"+Inf\"}"),
        count)
        << op;
    EXPECT_GT(
        value(mnt, "mirrorfs_fuse_operation_duration_seconds_sum" + label), 0)
        << op;
  }
  EXPECT_GE(value(mnt, "mirrorfs_fuse_operations_total{op=\"create\"}"), kFiles)
      << mnt;
  EXPECT_GE(value(mnt, "mirrorfs_fuse_operations_total{op=\"write\"}"), kFiles);
  EXPECT_EQ(value(mnt, "mirrorfs_fuse_errors_total{op=\"create\"}"), 0);
  EXPECT_EQ(value(mnt, "mirrorfs_state_readable"), 1);

  // Daemon mode: wait until the mirror acknowledged everything.
  std::string rep;
  const bool converged = wait_until(
      [&] {
        rep = scrape(replicate_port);
        const double last = value(rep, "mirrorfs_journal_last_seq");
        return last > 0 &&
               value(rep, "mirrorfs_mirror_acked_seq{mirror=\"m\"}") == last &&
               value(rep, "mirrorfs_journal_rows") == 0;
      },
      60);
  ASSERT_TRUE(converged) << rep;
  EXPECT_EQ(value(rep, "mirrorfs_mirror_pending_rows{mirror=\"m\"}"), 0);
  EXPECT_EQ(value(rep, "mirrorfs_mirror_lag_seconds{mirror=\"m\"}"), 0);
  EXPECT_GT(value(rep, "mirrorfs_mirror_bytes_sent_total{mirror=\"m\"}"), 0);
  EXPECT_EQ(value(rep, "mirrorfs_mirror_connected{mirror=\"m\"}"), 1);
  EXPECT_EQ(value(rep, "mirrorfs_mirror_errors_total{mirror=\"m\"}"), 0);

  // 4 KiB changed in a 4 MiB file: a dirty-range delta, applied in place.
  {
    const int fd = ::open(m("big").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, std::string(4096, 'c').data(), 4096, 1 << 20), 4096);
    ASSERT_EQ(::close(fd), 0);
  }
  ASSERT_TRUE(wait_until(
      [&] {
        return value(scrape(serve_port),
                     "mirrorfs_serve_in_place_updates_total") == 1;
      },
      60))
      << scrape(serve_port);
  ASSERT_TRUE(wait_until(
      [&] {
        rep = scrape(replicate_port);
        return value(rep, "mirrorfs_mirror_pending_rows{mirror=\"m\"}") == 0;
      },
      60))
      << rep;
  EXPECT_GT(value(rep, "mirrorfs_mirror_bytes_saved_total{mirror=\"m\"}"),
            1 << 20)
      << rep;

  const std::string srv = scrape(serve_port);
  EXPECT_GE(value(srv, "mirrorfs_serve_operations_applied_total"), kFiles)
      << srv;
  EXPECT_GE(value(srv, "mirrorfs_serve_content_updates_total"), kFiles + 2);
  EXPECT_GT(value(srv, "mirrorfs_serve_bytes_received_total"), 0);
  EXPECT_EQ(value(srv, "mirrorfs_serve_sessions_open"), 1);
  EXPECT_EQ(value(srv, "mirrorfs_serve_errors_total{kind=\"content\"}"), 0);
  EXPECT_EQ(value(scrape(mount_port), "mirrorfs_journal_rows"), 0);

  // The mirror goes away: the change waits, and its lag grows.
  stop_serve();
  put_file(m("late"), "written while the mirror was down");
  commit_mount();
  const bool lagging = wait_until(
      [&] {
        rep = scrape(replicate_port);
        return value(rep, "mirrorfs_mirror_lag_seconds{mirror=\"m\"}") > 0.5;
      },
      20);
  ASSERT_TRUE(lagging) << rep;
  EXPECT_GE(value(rep, "mirrorfs_mirror_pending_rows{mirror=\"m\"}"), 1);
  EXPECT_GE(value(rep, "mirrorfs_journal_rows"), 1);
  EXPECT_EQ(value(rep, "mirrorfs_mirror_connected{mirror=\"m\"}"), 0);
  EXPECT_TRUE(wait_until(
      [&] {
        return value(scrape(replicate_port),
                     "mirrorfs_mirror_errors_total{mirror=\"m\"}") >= 1;
      },
      10));

  // Back: acknowledged, and the lag is 0 again.
  ASSERT_NO_FATAL_FAILURE(start_serve(main_, {}, port_));
  EXPECT_TRUE(wait_until(
      [&] {
        rep = scrape(replicate_port);
        return value(rep, "mirrorfs_mirror_pending_rows{mirror=\"m\"}") == 0 &&
               value(rep, "mirrorfs_mirror_lag_seconds{mirror=\"m\"}") == 0;
      },
      60))
      << rep;
}

TEST_F(MetricsTest, BusyMetricsAddressFailsAtStartNamingIt) {
  // Hold a port: every command must refuse it at once, in one line.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string addr = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const std::string want =
      "cannot listen on " + addr + " for --metrics: Address already in use";

  auto [rc, out] =
      run_mirrorfs({"replicate", "--state", state_, "--mirror", "m=127.0.0.1:1",
                    "--pin", "m=" + mirror_fp_, "--metrics", addr});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find(want), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;

  auto [rc2, out2] = run_mirrorfs(
      {"mount", backing_, mnt_, "--state", state_, "--metrics", addr});
  EXPECT_EQ(rc2, 1) << out2;
  EXPECT_NE(out2.find(want), std::string::npos) << out2;

  auto [rc3, out3] =
      run_mirrorfs({"serve", mirror_, "--listen", "127.0.0.1:0", "--state",
                    mirror_state_, "--allow", client_fp_, "--metrics", addr});
  EXPECT_EQ(rc3, 1) << out3;
  EXPECT_NE(out3.find(want), std::string::npos) << out3;
  ::close(fd);
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

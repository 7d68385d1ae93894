#include "tests/fs/mount_fixture.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "db/commit_request.h"
#include "db/schema.h"

#ifndef MIRRORFS_BIN
#error "MIRRORFS_BIN: the path of the mirrorfs executable"
#endif

namespace mirrorfs::fs::testing {
namespace {

dev_t dev_of(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? st.st_dev : 0;
}

std::string read_file(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string outcome(int ret, int err) {
  if (ret >= 0) return "ok";
  return "errno " + std::to_string(err) + " (" + std::strerror(err) + ")";
}

void MountTest::SetUp() {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "!!! /dev/fuse is not usable here: SKIPPING the FUSE "
                    "black-box tests. They did NOT run. !!!";
  }
  char tmpl[] = "/tmp/mirrorfs_fs_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  root_ = tmpl;
  backing_ = root_ + "/backing";
  mnt_ = root_ + "/mnt";
  state_ = root_ + "/state";
  native_ = root_ + "/native";
  for (const auto& d : {backing_, mnt_, state_, native_}) {
    ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;
  }
  start_watchdog();
}

void MountTest::TearDown() {
  if (root_.empty()) return;
  if (pid_ > 0) unmount();
  stop_watchdog();
  if (HasFailure()) {
    std::fprintf(stderr, "--- daemon log (%s/test.log) ---\n%s---\n",
                 state_.c_str(), read_file(state_ + "/test.log").c_str());
  }
  if (HasFailure() && std::getenv("MIRRORFS_KEEP_FAILED") != nullptr) {
    std::fprintf(stderr, "MIRRORFS_KEEP_FAILED: kept %s\n", root_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void MountTest::start_watchdog() {
  watchdog_ = std::thread([this] {
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::seconds(timeout()),
                     [this] { return done_; })) {
      return;
    }
    fired_ = true;
    std::fprintf(stderr,
                 "!!! test timed out after %d s: lazy unmount of %s and "
                 "SIGKILL to the daemon !!!\n",
                 timeout(), mnt_.c_str());
    ::umount2(mnt_.c_str(), MNT_DETACH);
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  });
}

void MountTest::stop_watchdog() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  EXPECT_FALSE(fired_) << "the watchdog had to unmount";
}

void MountTest::mount(const std::vector<std::string>& extra) {
  ASSERT_LT(pid_, 0) << "already mounted";
  const dev_t parent_dev = dev_of(root_);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string log = state_ + "/test.log";
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) ::dup2(fd, 2);
    for (int cap : drop_caps_) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) ::_exit(125);
    }
    if (daemon_uid_ >= 0 &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(daemon_gid_, daemon_gid_, daemon_gid_) != 0 ||
         ::setresuid(daemon_uid_, daemon_uid_, daemon_uid_) != 0)) {
      ::_exit(126);
    }
    std::vector<std::string> args = {"mirrorfs", "mount", backing_, mnt_,
                                      "--state", state_, "-f"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(MIRRORFS_BIN, argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 1000; ++i) {
    if (dev_of(mnt_) != parent_dev) {
      mounted_ = true;
      return;
    }
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "mirrorfs mount exited with status " << status << ": "
             << read_file(state_ + "/test.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "the mount did not appear within 10 s";
}

int MountTest::unmount() {
  if (pid_ < 0) return -1;
  for (int i = 0; i < 100 && ::umount2(mnt_.c_str(), 0) != 0; ++i) {
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Its last journal commit fsyncs state.db, which on ext4 waits for the
  // ordered data of every other writer on the disk: on a busy CI machine
  // that has taken over 10 s. A hang is still caught, by this and by the
  // watchdog.
  int status = -1;
  for (int i = 0; i < 6000; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      mounted_ = false;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "the daemon did not exit within 60 s of the unmount";
  kill_daemon();
  return -1;
}

void MountTest::kill_daemon() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  ::umount2(mnt_.c_str(), MNT_DETACH);
  mounted_ = false;
}

std::string MountTest::daemon_log() const {
  return read_file(state_ + "/test.log");
}

void MountTest::run_daemon_as(uid_t uid, gid_t gid) {
  ASSERT_EQ(::chmod(root_.c_str(), 0755), 0);
  for (const auto& d : {backing_, mnt_, state_}) {
    ASSERT_EQ(::chown(d.c_str(), uid, gid), 0) << d;
  }
  const std::string log = state_ + "/test.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fchown(fd, uid, gid), 0);
  ::close(fd);
  daemon_uid_ = static_cast<int>(uid);
  daemon_gid_ = static_cast<int>(gid);
}

void MountTest::commit_mount() {
  auto r = db::request_commit(state_);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
}

std::vector<db::JournalRecord> MountTest::journal_after(uint64_t after) {
  commit_mount();
  return committed_rows(after);
}

uint64_t MountTest::last_seq() {
  commit_mount();
  return committed_seq();
}

std::vector<db::JournalRecord> MountTest::committed_rows(uint64_t after) {
  auto database = db::open_state_db(state_ + "/state.db");
  EXPECT_TRUE(database.is_ok()) << database.status().to_string();
  if (!database.is_ok()) return {};
  auto journal = db::Journal::open(**database);
  auto rows = (*journal)->read_after(after, 1000000);
  EXPECT_TRUE(rows.is_ok()) << rows.status().to_string();
  return rows.is_ok() ? *rows : std::vector<db::JournalRecord>{};
}

uint64_t MountTest::committed_seq() {
  auto database = db::open_state_db(state_ + "/state.db");
  if (!database.is_ok()) return 0;
  auto journal = db::Journal::open(**database);
  auto seq = (*journal)->last_seq();
  return seq.is_ok() ? *seq : 0;
}

std::pair<int, std::string> run_mirrorfs(const std::vector<std::string>& args,
                                         bool stdout_only) {
  std::string cmd = MIRRORFS_BIN;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += stdout_only ? " 2>/dev/null" : " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace mirrorfs::fs::testing

#include "tests/replicator/replication_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace mirrorfs::replicator::testing {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// SIGTERM to `pid`, then waits up to 10 s (then SIGKILL and a failure
// naming `what`). Returns the exit status as from waitpid; sets pid to -1.
int terminate(pid_t& pid, const char* what) {
  if (pid < 0) return -1;
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill_and_reap(pid);
  ADD_FAILURE() << what << " did not stop on SIGTERM within 10 s";
  return -1;
}

}  // namespace

pid_t spawn_logged(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_CREAT | O_APPEND | O_WRONLY, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

void kill_and_reap(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

uint64_t json_number(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  const size_t at = json.find(k);
  if (at == std::string::npos) return UINT64_MAX;
  return std::strtoull(json.c_str() + at + k.size(), nullptr, 10);
}

void ReplicationTest::SetUp() {
  MountTest::SetUp();
  if (IsSkipped()) return;
  mirror_ = root_ + "/mirror";
  mirror_state_ = root_ + "/mirror-state";
  ASSERT_EQ(::mkdir(mirror_.c_str(), 0755), 0);
  auto [c1, fp1] = run_mirrorfs({"keygen", "--state", state_}, true);
  ASSERT_EQ(c1, 0) << fp1;
  client_fp_ = trim(fp1);
  auto [c2, fp2] = run_mirrorfs({"keygen", "--state", mirror_state_}, true);
  ASSERT_EQ(c2, 0) << fp2;
  mirror_fp_ = trim(fp2);
}

void ReplicationTest::TearDown() {
  stop_replicate();
  stop_serve();
  if (HasFailure()) {
    std::fprintf(stderr, "--- serve log:\n%s\n",
                 read_all(mirror_state_ + "/serve.log").c_str());
    std::fprintf(stderr, "--- replicate daemon log:\n%s\n",
                 read_all(state_ + "/replicate.log").c_str());
  }
  MountTest::TearDown();
}

void ReplicationTest::start_serve(const std::vector<std::string>& allow, uint16_t port) {
  const std::string log = mirror_state_ + "/serve.log";
  const size_t log_from = read_all(log).size();  // earlier runs' lines
  std::vector<std::string> args = {MIRRORFS_BIN, "serve", mirror_, "--listen",
                                   "127.0.0.1:" + std::to_string(port), "--state",
                                   mirror_state_};
  for (const std::string& a : allow.empty() ? std::vector<std::string>{client_fp_} : allow) {
    args.push_back("--allow");
    args.push_back(a);
  }
  args.insert(args.end(), serve_args_.begin(), serve_args_.end());
  const pid_t pid = spawn_logged(args, log);
  ASSERT_GE(pid, 0);
  serve_pid_ = pid;
  // "serving ROOT on 127.0.0.1:PORT" in the log once it listens.
  const std::string listening = "on 127.0.0.1:";
  for (int i = 0; i < 400; ++i) {
    const std::string all = read_all(log);
    const std::string text = all.size() > log_from ? all.substr(log_from) : "";
    const size_t at = text.find(listening);
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      port_ = static_cast<uint16_t>(std::atoi(text.c_str() + at + listening.size()));
      return;
    }
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      serve_pid_ = -1;
      FAIL() << "serve exited: " << text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "serve did not listen: " << read_all(log);
}

void ReplicationTest::stop_serve() { terminate(serve_pid_, "serve"); }

void ReplicationTest::kill_serve() { kill_and_reap(serve_pid_); }

std::vector<std::string> ReplicationTest::replicate_args(bool once,
                                                         const std::string& pin) const {
  const uint16_t port = replicate_port_ != 0 ? replicate_port_ : port_;
  std::vector<std::string> args = {
      "replicate", "--state", state_, "--mirror", "m=127.0.0.1:" + std::to_string(port),
      "--pin", "m=" + (pin.empty() ? mirror_fp_ : pin)};
  if (once) args.push_back("--once");
  return args;
}

void ReplicationTest::start_replicate() {
  ASSERT_LT(replicate_pid_, 0) << "replicate already runs";
  std::vector<std::string> args = replicate_args(false, "");
  args.insert(args.begin(), MIRRORFS_BIN);
  replicate_pid_ = spawn_logged(args, state_ + "/replicate.log");
  ASSERT_GT(replicate_pid_, 0);
}

int ReplicationTest::stop_replicate() { return terminate(replicate_pid_, "replicate"); }

void ReplicationTest::kill_replicate() { kill_and_reap(replicate_pid_); }

std::pair<int, std::string> ReplicationTest::replicate_once(
    const std::string& pin, const std::vector<std::string>& extra) {
  std::vector<std::string> args = replicate_args(true, pin);
  args.insert(args.end(), extra.begin(), extra.end());
  return run_mirrorfs(args);
}

std::string ReplicationTest::status_json() {
  auto [code, out] = run_mirrorfs({"status", "--state", state_, "--json"}, true);
  EXPECT_EQ(code, 0) << out;
  return out;
}

}  // namespace mirrorfs::replicator::testing

#include "tests/replicator/replication_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
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
int terminate(pid_t& pid, const std::string& what) {
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

// A key made with `mirrorfs keygen --state dir`.
std::string keygen(const std::string& dir) {
  auto [code, fp] = run_mirrorfs({"keygen", "--state", dir}, true);
  EXPECT_EQ(code, 0) << fp;
  return trim(fp);
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

void put_file(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size())) << path;
  ASSERT_EQ(::close(fd), 0);
}

std::string random_bytes(size_t n, std::mt19937_64& rng) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(s.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return s;
}

bool wait_until(const std::function<bool()>& pred, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

void ReplicationTest::SetUp() {
  MountTest::SetUp();
  if (IsSkipped()) return;
  client_fp_ = keygen(state_);
  mirror_ = root_ + "/mirror";
  mirror_state_ = root_ + "/mirror-state";
  ASSERT_EQ(::mkdir(mirror_.c_str(), 0755), 0);
  mirror_fp_ = keygen(mirror_state_);
}

Serve& ReplicationTest::add_mirror(const std::string& name) {
  Serve& s = more_.emplace_back();
  s.name = name;
  s.root = root_ + "/" + name;
  s.state = root_ + "/" + name + "-state";
  EXPECT_EQ(::mkdir(s.root.c_str(), 0755), 0) << s.root;
  s.fp = keygen(s.state);
  return s;
}

void ReplicationTest::TearDown() {
  stop_replicate();
  stop_serve(main_);
  for (Serve& s : more_) stop_serve(s);
  if (HasFailure()) {
    std::fprintf(stderr, "--- serve log:\n%s\n", read_all(mirror_state_ + "/serve.log").c_str());
    for (const Serve& s : more_) {
      std::fprintf(stderr, "--- serve %s log:\n%s\n", s.name.c_str(),
                   read_all(s.state + "/serve.log").c_str());
    }
    const std::string rlog = read_all(state_ + "/replicate.log");
    if (!rlog.empty()) std::fprintf(stderr, "--- replicate daemon log:\n%s\n", rlog.c_str());
  }
  MountTest::TearDown();
}

void ReplicationTest::start_serve(Serve& s, const std::vector<std::string>& allow,
                                  uint16_t port) {
  const std::string log = s.state + "/serve.log";
  const size_t log_from = read_all(log).size();  // earlier runs' lines
  std::vector<std::string> args = {MIRRORFS_BIN, "serve", s.root, "--listen",
                                   "127.0.0.1:" + std::to_string(port), "--state", s.state};
  for (const std::string& a : allow.empty() ? std::vector<std::string>{client_fp_} : allow) {
    args.push_back("--allow");
    args.push_back(a);
  }
  args.insert(args.end(), serve_args_.begin(), serve_args_.end());
  const pid_t pid = spawn_logged(args, log);
  ASSERT_GE(pid, 0);
  s.pid = pid;
  // "serving ROOT on 127.0.0.1:PORT" in the log once it listens.
  const std::string listening = "on 127.0.0.1:";
  for (int i = 0; i < 400; ++i) {
    const std::string all = read_all(log);
    const std::string text = all.size() > log_from ? all.substr(log_from) : "";
    const size_t at = text.find(listening);
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      s.port = static_cast<uint16_t>(std::atoi(text.c_str() + at + listening.size()));
      return;
    }
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      s.pid = -1;
      FAIL() << "serve exited: " << text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "serve did not listen: " << read_all(log);
}

void ReplicationTest::stop_serve(Serve& s) { terminate(s.pid, "serve " + s.name); }

void ReplicationTest::kill_serve() { kill_and_reap(main_.pid); }

std::vector<std::string> ReplicationTest::mirror_args(const Serve& s,
                                                      const std::string& pin) const {
  const uint16_t port = (&s == &main_ && replicate_port_ != 0) ? replicate_port_ : s.port;
  return {"--mirror", s.name + "=127.0.0.1:" + std::to_string(port),
          "--pin", s.name + "=" + (pin.empty() ? s.fp : pin)};
}

void ReplicationTest::start_replicate(const std::vector<const Serve*>& to) {
  ASSERT_LT(replicate_pid_, 0) << "replicate already runs";
  std::vector<std::string> args = {MIRRORFS_BIN, "replicate", "--state", state_};
  for (const Serve* s : to.empty() ? std::vector<const Serve*>{&main_} : to) {
    const std::vector<std::string> m = mirror_args(*s, "");
    args.insert(args.end(), m.begin(), m.end());
  }
  args.insert(args.end(), replicate_args_.begin(), replicate_args_.end());
  replicate_pid_ = spawn_logged(args, state_ + "/replicate.log");
  ASSERT_GT(replicate_pid_, 0);
}

int ReplicationTest::stop_replicate() { return terminate(replicate_pid_, "replicate"); }

void ReplicationTest::kill_replicate() { kill_and_reap(replicate_pid_); }

std::pair<int, std::string> ReplicationTest::replicate_once(
    const std::string& pin, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"replicate", "--once", "--state", state_};
  const std::vector<std::string> m = mirror_args(main_, pin);
  args.insert(args.end(), m.begin(), m.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return run_mirrorfs(args);
}

std::string ReplicationTest::status_json() {
  auto [code, out] = run_mirrorfs({"status", "--state", state_, "--json"}, true);
  EXPECT_EQ(code, 0) << out;
  return out;
}

}  // namespace mirrorfs::replicator::testing

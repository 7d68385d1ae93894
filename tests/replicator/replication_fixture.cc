#include "tests/replicator/replication_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
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


pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_CREAT | O_APPEND | O_WRONLY, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// SIGTERM, then SIGKILL after 5 s; false if it had to be killed.
bool terminate(pid_t& pid) {
  if (pid < 0) return true;
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  pid = -1;
  return false;
}

}  // namespace


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
  auto [c1, fp1] = run_mirrorfs({"keygen", "--state", state_}, true);
  ASSERT_EQ(c1, 0) << fp1;
  client_fp_ = trim(fp1);
  mirror_ = root_ + "/mirror";
  mirror_state_ = root_ + "/mirror-state";
  ASSERT_EQ(::mkdir(mirror_.c_str(), 0755), 0);
  auto [c2, fp2] = run_mirrorfs({"keygen", "--state", mirror_state_}, true);
  ASSERT_EQ(c2, 0) << fp2;
  mirror_fp_ = trim(fp2);
}

Serve& ReplicationTest::add_mirror(const std::string& name) {
  Serve& s = more_.emplace_back();
  s.name = name;
  s.root = root_ + "/" + name;
  s.state = root_ + "/" + name + "-state";
  EXPECT_EQ(::mkdir(s.root.c_str(), 0755), 0) << s.root;
  auto [code, fp] = run_mirrorfs({"keygen", "--state", s.state}, true);
  EXPECT_EQ(code, 0) << fp;
  s.fp = trim(fp);
  return s;
}

void ReplicationTest::TearDown() {
  stop_replicate();
  stop_serve(main_);
  for (Serve& s : more_) stop_serve(s);
  if (HasFailure()) {
    for (const Serve* s : {&main_}) {
      std::fprintf(stderr, "--- serve log:\n%s\n", read_all(s->state + "/serve.log").c_str());
    }
    for (const Serve& s : more_) {
      std::fprintf(stderr, "--- serve %s log:\n%s\n", s.name.c_str(),
                   read_all(s.state + "/serve.log").c_str());
    }
    const std::string rlog = read_all(state_ + "/replicate.log");
    if (!rlog.empty()) std::fprintf(stderr, "--- replicate log:\n%s\n", rlog.c_str());
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
  const pid_t pid = spawn(args, log);
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

void ReplicationTest::stop_serve(Serve& s) {
  if (!terminate(s.pid)) ADD_FAILURE() << "serve " << s.name << " did not stop on SIGTERM within 5 s";
}

void ReplicationTest::start_replicate(const std::vector<const Serve*>& to) {
  std::vector<std::string> args = {MIRRORFS_BIN, "replicate", "--state", state_};
  for (const Serve* s : to) {
    args.insert(args.end(), {"--mirror", s->name + "=127.0.0.1:" + std::to_string(s->port),
                             "--pin", s->name + "=" + s->fp});
  }
  replicate_pid_ = spawn(args, state_ + "/replicate.log");
  ASSERT_GE(replicate_pid_, 0);
}

void ReplicationTest::stop_replicate() {
  if (!terminate(replicate_pid_)) ADD_FAILURE() << "replicate did not stop on SIGTERM within 5 s";
}

std::pair<int, std::string> ReplicationTest::replicate_once(
    const std::string& pin, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {
      "replicate", "--once", "--state", state_,
      "--mirror", "m=127.0.0.1:" + std::to_string(port_),
      "--pin", "m=" + (pin.empty() ? mirror_fp_ : pin)};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_mirrorfs(args);
}

std::string ReplicationTest::status_json() {
  auto [code, out] = run_mirrorfs({"status", "--state", state_, "--json"}, true);
  EXPECT_EQ(code, 0) << out;
  return out;
}

}  // namespace mirrorfs::replicator::testing

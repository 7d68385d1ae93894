// --config FILE through the real executable: the file's settings reach the
// commands (status reads its state, keygen its state, replicate its
// mirrors), and a bad file is a usage error naming the line.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "db/schema.h"
#include "db/settings.h"

namespace {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ConfigBlackboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mirrorfs-config-bb-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    state_ = dir_ + "/state";
    std::filesystem::create_directory(state_);
    config_ = dir_ + "/m.toml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write_config(const std::string& text) { std::ofstream(config_) << text; }
  // A state database as a mount leaves it, with `backing` recorded when
  // given (replicate needs one).
  void make_state_db(const std::string& backing = "") {
    auto db = mirrorfs::db::open_state_db(state_ + "/state.db");
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    if (backing.empty()) return;
    auto settings = mirrorfs::db::Settings::open(**db);
    ASSERT_TRUE(settings.is_ok()) << settings.status().to_string();
    ASSERT_TRUE((*settings)->set(mirrorfs::db::kSettingBacking, backing).is_ok());
  }

  // Runs `mirrorfs ARGS...`, stdout and stderr into files; at most 60 s.
  Outcome run(const std::vector<std::string>& args) {
    const std::string out = dir_ + "/out", err = dir_ + "/err";
    const pid_t pid = fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
      std::vector<char*> argv{const_cast<char*>(MIRRORFS_BIN)};
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      alarm(60);
      execv(MIRRORFS_BIN, argv.data());
      _exit(127);
    }
    Outcome r;
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid) {
      r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::string dir_, state_, config_;
};

TEST_F(ConfigBlackboxTest, StatusReadsStateFromTheFile) {
  make_state_db();
  write_config("state = \"" + state_ + "\"\n[status]\njson = true\n");
  const Outcome r = run({"status", "--config", config_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"backing\":null,\"journal_seq\":0,\"mirrors\":[]}", 0), 0u) << r.out;
  // Without the file, status has no state.
  const Outcome bare = run({"status"});
  EXPECT_EQ(bare.code, 1);
  EXPECT_NE(bare.err.find("--state DIR is required"), std::string::npos) << bare.err;
}

TEST_F(ConfigBlackboxTest, FlagOnCommandLineWinsOverTheFile) {
  make_state_db();
  write_config("state = \"" + dir_ + "/nowhere\"\n");
  const Outcome r = run({"status", "--config=" + config_, "--state", state_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("journal: up to seq 0"), std::string::npos) << r.out;
}

TEST_F(ConfigBlackboxTest, ErrorInAnotherSectionIsAUsageErrorWithTheLine) {
  make_state_db();
  write_config("state = \"" + state_ + "\"\n\n[serve]\nlisten = \"0.0.0.0:7070\"\nalow = []\n");
  const Outcome r = run({"status", "--config", config_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "mirrorfs: status: " + config_ +
                       ":5: [serve] unknown key 'alow'; try 'mirrorfs status --help'\n");
}

TEST_F(ConfigBlackboxTest, MissingFileIsAUsageErrorNamingIt) {
  const Outcome r = run({"keygen", "--config", dir_ + "/none.toml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(dir_ + "/none.toml"), std::string::npos) << r.err;
}

TEST_F(ConfigBlackboxTest, ReplicateGetsItsMirrorsFromTheFile) {
  make_state_db(dir_);
  write_config("state = \"" + state_ + "\"\n");
  const Outcome key = run({"keygen", "--config", config_});  // keygen takes state too
  ASSERT_EQ(key.code, 0) << key.err;
  ASSERT_EQ(key.out.rfind("sha256:", 0), 0u) << key.out;
  const std::string pin = key.out.substr(0, key.out.find('\n'));
  // Port 1 on loopback: nobody listens there.
  write_config("state = \"" + state_ + "\"\n[replicate]\nbwlimit = \"1M\"\n" +
               "[mirrors.offsite-a]\naddress = \"127.0.0.1:1\"\npin = \"" + pin + "\"\n");
  const Outcome r = run({"replicate", "--config", config_, "--once"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("offsite-a"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("required"), std::string::npos) << r.err;
}

}  // namespace

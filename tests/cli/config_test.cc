// The config file layer (cli/config.h) over command tables shaped like the
// real ones: values, precedence, and errors with their lines.
#include "cli/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace mirrorfs::cli {
namespace {

const struct option kMount[] = {
    {"state", required_argument, nullptr, 's'},
    {"foreground", no_argument, nullptr, 'f'},
    {"fd-cache", required_argument, nullptr, 'C'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};
const struct option kServe[] = {
    {"listen", required_argument, nullptr, 'l'},
    {"state", required_argument, nullptr, 's'},
    {"allow", required_argument, nullptr, 'a'},
    {"in-place-min", required_argument, nullptr, 'i'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};
const struct option kReplicate[] = {
    {"state", required_argument, nullptr, 's'},
    {"mirror", required_argument, nullptr, 'm'},
    {"pin", required_argument, nullptr, 'p'},
    {"once", no_argument, nullptr, 'o'},
    {"bwlimit", required_argument, nullptr, 'b'},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

const CommandSpec kMountSpec{"mount", ":fho:", kMount, {"backing", "mountpoint"}, {"options"},
                             {{"options", 'o'}}};
const CommandSpec kServeSpec{"serve", ":h", kServe, {"root"}, {"allow"}, {}};
const CommandSpec kReplicateSpec{"replicate", ":h", kReplicate, {}, {}, {}};
const std::vector<const CommandSpec*> kAll{&kMountSpec, &kServeSpec, &kReplicateSpec};

const std::string kPin = "sha256:" + std::string(64, 'a');

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mirrorfs-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/m.toml";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  // expand_config for `cmd` with `args` after the command name.
  Result<std::vector<std::string>> expand(const CommandSpec& cmd, std::vector<std::string> args) {
    args.insert(args.begin(), cmd.name);
    return expand_config(cmd, kAll, args);
  }
  std::string error(const CommandSpec& cmd, const std::string& text) {
    write(text);
    auto r = expand(cmd, {"--config", path_});
    EXPECT_FALSE(r.is_ok());
    return r.is_ok() ? std::string("(no error)") : r.status().message();
  }
  using Args = std::vector<std::string>;
  std::string dir_;
  std::string path_;
};

TEST_F(ConfigTest, NoConfigLeavesArgumentsAlone) {
  auto r = expand(kMountSpec, {"-f", "a", "b"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"mount", "-f", "a", "b"}));
}

TEST_F(ConfigTest, EachValueTypeBecomesArguments) {
  write(
      "[mount]\nstate = \"/var/s\"\nfd-cache = 64\nforeground = true\n"
      "options = [\"allow_other\", \"ro\"]\nbacking = \"/srv\"\nmountpoint = \"/mnt\"\n");
  auto r = expand(kMountSpec, {"--config", path_});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"mount", "--state=/var/s", "--fd-cache=64", "--foreground", "-o",
                      "allow_other", "-o", "ro", "--", "/srv", "/mnt"}));
}

TEST_F(ConfigTest, FalseFlagIsNotGiven) {
  write("[mount]\nforeground = false\n");
  auto r = expand(kMountSpec, {"--config=" + path_, "a", "b"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"mount", "a", "b"}));
}

TEST_F(ConfigTest, TopLevelStateAppliesToEveryCommandThatHasIt) {
  write("state = \"/var/top\"\n[serve]\nlisten = \"0.0.0.0:7070\"\n");
  auto m = expand(kMountSpec, {"--config", path_});
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(*m, (Args{"mount", "--state=/var/top"}));
  auto s = expand(kServeSpec, {"--config", path_});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(*s, (Args{"serve", "--state=/var/top", "--listen=0.0.0.0:7070"}));
}

TEST_F(ConfigTest, SectionReplacesTopLevelKey) {
  write("state = \"/var/top\"\n[serve]\nstate = \"/var/mirror\"\n");
  auto s = expand(kServeSpec, {"--config", path_});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(*s, (Args{"serve", "--state=/var/mirror"}));
}

TEST_F(ConfigTest, ScalarFlagOnCommandLineComesLastAndWins) {
  write("state = \"/var/top\"\n[replicate]\nbwlimit = \"10M\"\n");
  auto r = expand(kReplicateSpec, {"--bwlimit", "1M", "--config", path_, "--once"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  // The file's bwlimit is dropped; the user's is there.
  EXPECT_EQ(*r, (Args{"replicate", "--state=/var/top", "--bwlimit", "1M", "--once"}));
}

TEST_F(ConfigTest, OperandsOnCommandLineReplaceTheFilesOperands) {
  write("[mount]\nbacking = \"/srv\"\nmountpoint = \"/mnt\"\n");
  auto r = expand(kMountSpec, {"/a", "--config", path_, "/b"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"mount", "/a", "/b"}));
  auto d = expand(kMountSpec, {"--config", path_, "--"});
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(*d, (Args{"mount", "--", "/srv", "/mnt"}));
}

TEST_F(ConfigTest, RepeatableOptionOnCommandLineDropsTheFilesValues) {
  write("[serve]\nallow = [\"sha256:1\", \"sha256:2\"]\nroot = \"/srv/m\"\n");
  auto kept = expand(kServeSpec, {"--config", path_});
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  EXPECT_EQ(*kept, (Args{"serve", "--allow=sha256:1", "--allow=sha256:2", "--", "/srv/m"}));
  auto r = expand(kServeSpec, {"--config", path_, "--all=sha256:3"});  // abbreviated, as getopt takes it
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"serve", "--all=sha256:3", "--", "/srv/m"}));
  auto o = expand(kMountSpec, {"--config", path_, "-oro", "x", "y"});
  ASSERT_TRUE(o.is_ok()) << o.status().to_string();
  EXPECT_EQ(*o, (Args{"mount", "-oro", "x", "y"}));
}

TEST_F(ConfigTest, MirrorsBecomeMirrorAndPinInFileOrder) {
  write("[mirrors.offsite]\naddress = \"m.example:7070\"\npin = \"" + kPin +
        "\"\n[mirrors.alpha]\naddress = \"[::1]:7071\"\npin = \"" + kPin + "\"\n");
  auto r = expand(kReplicateSpec, {"--config", path_, "--once"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"replicate", "--mirror=offsite=m.example:7070", "--pin=offsite=" + kPin,
                      "--mirror=alpha=[::1]:7071", "--pin=alpha=" + kPin, "--once"}));
  auto m = expand(kMountSpec, {"--config", path_});  // mount takes no mirrors
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(*m, (Args{"mount"}));
}

TEST_F(ConfigTest, MirrorDefinedOnCommandLineDropsTheFilesMirrors) {
  write("[mirrors.offsite]\naddress = \"m.example:7070\"\npin = \"" + kPin + "\"\n");
  auto r = expand(kReplicateSpec, {"--config", path_, "--mirror", "x=h:1", "--pin", "x=P"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"replicate", "--mirror", "x=h:1", "--pin", "x=P"}));
}

TEST_F(ConfigTest, MirrorSelectionKeepsTheFilesMirrors) {
  write("[mirrors.offsite]\naddress = \"m.example:7070\"\npin = \"" + kPin + "\"\n");
  auto r = expand(kReplicateSpec, {"--mirror", "offsite", "--config", path_});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"replicate", "--mirror=offsite=m.example:7070", "--pin=offsite=" + kPin,
                      "--mirror", "offsite"}));
}

TEST_F(ConfigTest, HelpDoesNotReadTheFile) {
  auto r = expand(kMountSpec, {"--config", dir_ + "/missing.toml", "--help"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"mount", "--help"}));
}

TEST_F(ConfigTest, ConfigAsArgumentOfAnotherOptionIsNotConfig) {
  auto r = expand(kMountSpec, {"--state", "--config", "a", "b"});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, (Args{"mount", "--state", "--config", "a", "b"}));
}

TEST_F(ConfigTest, UnknownKeyInRunningSectionNamesItsLine) {
  EXPECT_EQ(error(kReplicateSpec, "state = \"/s\"\n\n[replicate]\nonce = true\nbwlimt = \"1M\"\n"),
            path_ + ":5: [replicate] unknown key 'bwlimt'");
}

TEST_F(ConfigTest, UnknownKeyInAnotherSectionIsReportedToo) {
  EXPECT_EQ(error(kMountSpec, "[mount]\nstate = \"/s\"\n[serve]\nlisten = \"h:1\"\nalow = \"x\"\n"),
            path_ + ":5: [serve] unknown key 'alow'");
}

TEST_F(ConfigTest, UnknownTopLevelKey) {
  EXPECT_EQ(error(kMountSpec, "# comment\nstat = \"/s\"\n"),
            path_ + ":2: unknown key 'stat' (no command has --stat)");
}

TEST_F(ConfigTest, UnknownSection) {
  EXPECT_EQ(error(kMountSpec, "state = \"/s\"\n[mout]\nstate = \"/x\"\n"),
            path_ + ":2: unknown section [mout]");
}

TEST_F(ConfigTest, WrongValueTypes) {
  EXPECT_EQ(error(kMountSpec, "[mount]\nforeground = \"yes\"\n"),
            path_ + ":2: [mount] 'foreground' is a flag: true or false");
  EXPECT_EQ(error(kServeSpec, "[serve]\nlisten = true\n"),
            path_ + ":2: [serve] 'listen' takes a value, not true or false");
  EXPECT_EQ(error(kServeSpec, "[serve]\nlisten = [\"a:1\"]\n"),
            path_ + ":2: [serve] 'listen' takes one value, not a list");
  EXPECT_EQ(error(kServeSpec, "[serve]\nin-place-min = 1.5\n"),
            path_ + ":2: [serve] 'in-place-min' takes a string or an integer");
  EXPECT_EQ(error(kServeSpec, "[serve]\nallow = [\n  \"a\",\n  false,\n]\n"),
            path_ + ":4: [serve] 'allow' takes a list of strings");
  EXPECT_EQ(error(kServeSpec, "[serve]\nroot = 7\n"), path_ + ":2: [serve] 'root' takes a string");
  EXPECT_EQ(error(kReplicateSpec, "[replicate]\nmirror = \"a=b:1\"\n"),
            path_ + ":2: [replicate] mirrors are given as [mirrors.NAME] address and pin, not 'mirror'");
}

TEST_F(ConfigTest, MirrorErrors) {
  EXPECT_EQ(error(kReplicateSpec, "\n[mirrors.offsite]\naddress = \"m:1\"\n"),
            path_ + ":2: [mirrors.offsite] needs pin = \"FINGERPRINT\"");
  EXPECT_EQ(error(kReplicateSpec, "[mirrors.offsite]\naddress = \"m:1\"\npin = \"p\"\nport = 1\n"),
            path_ + ":4: [mirrors.offsite] unknown key 'port'");
  EXPECT_EQ(error(kReplicateSpec, "[mirrors]\noffsite = \"m:1\"\n"),
            path_ + ":2: [mirrors.offsite] must be a section with address and pin");
}

TEST_F(ConfigTest, SyntaxErrorNamesLineAndColumn) {
  const std::string e = error(kMountSpec, "state = \"/s\"\n[mount\n");
  EXPECT_EQ(e.rfind(path_ + ":2:", 0), 0u) << e;
  EXPECT_NE(e.find(":2:7: "), std::string::npos) << e;
}

TEST_F(ConfigTest, MissingFileIsNamed) {
  auto r = expand(kMountSpec, {"--config", dir_ + "/missing.toml"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find(dir_ + "/missing.toml"), std::string::npos)
      << r.status().to_string();
  EXPECT_NE(r.status().to_string().find("No such file"), std::string::npos)
      << r.status().to_string();
}

TEST_F(ConfigTest, ConfigWithoutFileOrTwice) {
  auto r = expand(kMountSpec, {"--config"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "--config needs a FILE");
  write("");
  auto t = expand(kMountSpec, {"--config", path_, "--config", path_});
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().message(), "--config given twice");
}

}  // namespace
}  // namespace mirrorfs::cli

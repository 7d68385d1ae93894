// Black-box tests of `mirrorfs keygen`: they run the built executable.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "replicator/tls/identity.h"
#include "tests/db/test_dir.h"
#include "tests/replicator/tls/shell.h"

namespace mirrorfs::replicator::tls {
namespace {

using testing::run_shell;
using testing::ShellResult;

class KeygenCommandTest : public ::testing::Test {
 protected:
  ShellResult keygen(const std::string& args) {
    return run_shell(std::string("'") + MIRRORFS_BIN + "' keygen " + args,
                     tmp_.file(""));
  }
  std::string state() const { return tmp_.file("state"); }

  db::testing::TempDir tmp_;
};

// Whether `out` is exactly one line matching ^sha256:[0-9a-f]{64}$.
// (Not std::regex: gcc 12 warns inside it under the sanitizers.)
bool is_one_fingerprint_line(const std::string& out) {
  if (out.size() != 7 + 64 + 1 || out.rfind("sha256:", 0) != 0 ||
      out.back() != '\n') {
    return false;
  }
  for (size_t i = 7; i < 7 + 64; ++i) {
    const char c = out[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST_F(KeygenCommandTest, PrintsTheSameFingerprintEveryRun) {
  const ShellResult first = keygen("--state '" + state() + "'");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(is_one_fingerprint_line(first.out)) << first.out;
  EXPECT_NE(first.err.find("created a new identity"), std::string::npos)
      << first.err;

  const ShellResult second = keygen("--state='" + state() + "'");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  EXPECT_EQ(second.err, "");

  auto id = load_identity(state());
  ASSERT_TRUE(id) << id.status().message();
  EXPECT_EQ(first.out, id->fingerprint + "\n");
}

TEST_F(KeygenCommandTest, MissingStateIsAUsageError) {
  const ShellResult r = keygen("");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--state DIR is required"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;

  EXPECT_EQ(keygen("--state").exit_code, 1);
  EXPECT_EQ(keygen("--state '" + state() + "' extra").exit_code, 1);
  EXPECT_EQ(keygen("--bogus").exit_code, 1);
  struct stat st;
  EXPECT_NE(::stat(state().c_str(), &st), 0) << "a refused run made DIR";
}

TEST_F(KeygenCommandTest, KeyReadableByOthersIsRefused) {
  ASSERT_EQ(keygen("--state '" + state() + "'").exit_code, 0);
  ASSERT_EQ(::chmod((state() + "/identity.key").c_str(), 0644), 0);
  const ShellResult r = keygen("--state '" + state() + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("mirrorfs: keygen: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

TEST_F(KeygenCommandTest, HelpDescribesTheCommand) {
  const ShellResult r = keygen("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("Usage: mirrorfs keygen --state DIR\n", 0), 0u)
      << r.out;
  const ShellResult top =
      run_shell(std::string("'") + MIRRORFS_BIN + "' --help", tmp_.file(""));
  EXPECT_NE(top.out.find("\n  keygen "), std::string::npos) << top.out;
}

}  // namespace
}  // namespace mirrorfs::replicator::tls

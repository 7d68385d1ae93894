#include "replicator/tls/fingerprint.h"

#include <gtest/gtest.h>

#include <string>

namespace mirrorfs::replicator::tls {
namespace {

const std::string kHex =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ParseFingerprintTest, CanonicalIsAcceptedAsIs) {
  auto fp = parse_fingerprint("sha256:" + kHex);
  ASSERT_TRUE(fp) << fp.status().message();
  EXPECT_EQ(*fp, "sha256:" + kHex);
  EXPECT_EQ(fp->size(), kFingerprintLen);
}

TEST(ParseFingerprintTest, UpperCaseBecomesLowerCase) {
  auto fp = parse_fingerprint(
      "SHA256:"
      "0123456789ABCDEF0123456789ABCDEF0123456789abcdef0123456789ABCDEF");
  ASSERT_TRUE(fp) << fp.status().message();
  EXPECT_EQ(*fp, "sha256:" + kHex);
}

void expect_refused(const std::string& text, const std::string& why) {
  auto fp = parse_fingerprint(text);
  ASSERT_FALSE(fp) << "accepted '" << text << "'";
  EXPECT_EQ(fp.status().code(), Code::kInvalidArgument);
  EXPECT_NE(fp.status().message().find(why), std::string::npos)
      << fp.status().message();
}

TEST(ParseFingerprintTest, BareHexIsRefused) {
  expect_refused(kHex, "does not begin with 'sha256:'");
}

TEST(ParseFingerprintTest, OtherAlgorithmsAreRefused) {
  expect_refused("sha1:" + kHex.substr(0, 40), "does not begin with");
  expect_refused("sha512:" + kHex + kHex, "does not begin with");
}

TEST(ParseFingerprintTest, WrongLengthIsRefused) {
  expect_refused("sha256:" + kHex.substr(1), "has 63 hex digits");
  expect_refused("sha256:" + kHex + "0", "has 65 hex digits");
  expect_refused("sha256:", "has 0 hex digits");
  expect_refused("", "does not begin with");
}

TEST(ParseFingerprintTest, NonHexIsRefused) {
  std::string s = "sha256:" + kHex;
  s[20] = 'g';
  expect_refused(s, "not a hex digit");
  s[20] = '\0';
  expect_refused(s, "not a hex digit");
  // SSH's base64 form is not ours.
  expect_refused("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
                 "hex digits");
}

TEST(ParseFingerprintTest, SurroundingWhitespaceIsRefused) {
  expect_refused(" sha256:" + kHex, "does not begin with");
  expect_refused("sha256:" + kHex + "\n", "has 65 hex digits");
}

TEST(ParseFingerprintTest, MessageShowsTheTextCutShortAndPrintable) {
  auto fp = parse_fingerprint(std::string(1000, 'x') + "\n");
  ASSERT_FALSE(fp);
  EXPECT_LT(fp.status().message().size(), 300u);
  EXPECT_EQ(fp.status().message().find('\n'), std::string::npos);
}

TEST(FingerprintOfTest, NullIsEmpty) {
  EXPECT_EQ(fingerprint_of(nullptr), "");
  EXPECT_EQ(fingerprint_of_key(nullptr), "");
}

}  // namespace
}  // namespace mirrorfs::replicator::tls

#include "replicator/tls/identity.h"

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "replicator/tls/openssl_util.h"
#include "tests/db/test_dir.h"
#include "tests/replicator/tls/shell.h"

namespace mirrorfs::replicator::tls {
namespace {

using db::testing::TempDir;
using testing::run_shell;
using testing::slurp;
using testing::spit;

class IdentityTest : public ::testing::Test {
 protected:
  std::string state() const { return tmp_.file("state"); }
  std::string key() const { return state() + "/identity.key"; }
  std::string cert() const { return state() + "/identity.crt"; }

  Identity create() {
    bool created = false;
    auto id = load_or_create_identity(state(), &created);
    EXPECT_TRUE(id) << id.status().message();
    EXPECT_TRUE(created);
    return id ? *id : Identity{};
  }

  // load_or_create_identity finds `made`'s key (it creates none).
  Identity expect_kept(const Identity& made) {
    bool created = true;
    auto id = load_or_create_identity(state(), &created);
    EXPECT_TRUE(id) << id.status().message();
    EXPECT_FALSE(created);
    if (!id) return Identity{};
    EXPECT_EQ(id->fingerprint, made.fingerprint);
    EXPECT_EQ(id->key_pem, made.key_pem);
    return *id;
  }

  // load_identity fails with kCorrupt and a message holding `why`.
  void expect_corrupt(const std::string& why) {
    auto id = load_identity(state());
    ASSERT_FALSE(id);
    EXPECT_EQ(id.status().code(), Code::kCorrupt) << id.status().message();
    EXPECT_NE(id.status().message().find(why), std::string::npos)
        << id.status().message();
  }

  TempDir tmp_;
};

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(IdentityTest, NoneIsNotFound) {
  auto id = load_identity(state());
  ASSERT_FALSE(id);
  EXPECT_EQ(id.status().code(), Code::kNotFound);
}

TEST_F(IdentityTest, CreatedOnceThenLoaded) {
  const Identity made = create();
  EXPECT_EQ(mode_of(state()), 0700u);
  EXPECT_EQ(mode_of(key()), 0600u);
  ASSERT_TRUE(parse_fingerprint(made.fingerprint));
  EXPECT_EQ(*parse_fingerprint(made.fingerprint), made.fingerprint);

  EXPECT_EQ(expect_kept(made).cert_pem, made.cert_pem);

  auto loaded = load_identity(state());
  ASSERT_TRUE(loaded) << loaded.status().message();
  EXPECT_EQ(loaded->fingerprint, made.fingerprint);
  EXPECT_EQ(loaded->key_pem, slurp(key()));
  EXPECT_EQ(loaded->cert_pem, slurp(cert()));

  // Exactly the two files: no temporary file left behind.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(state())) {
    names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"identity.crt", "identity.key"}));
}

TEST_F(IdentityTest, TwoStateDirsGetDifferentKeys) {
  const Identity a = create();
  TempDir other;
  auto b = load_or_create_identity(other.file("s"), nullptr);
  ASSERT_TRUE(b) << b.status().message();
  EXPECT_NE(a.fingerprint, b->fingerprint);
}

TEST_F(IdentityTest, FingerprintIsWhatTheOpensslCommandComputes) {
  const Identity made = create();
  auto r = run_shell(
      "openssl pkey -in '" + key() + "' -pubout -outform DER | sha256sum",
      tmp_.file(""));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GE(r.out.size(), 64u);
  EXPECT_EQ(made.fingerprint, "sha256:" + r.out.substr(0, 64));
  // The certificate carries the same key.
  r = run_shell("openssl x509 -in '" + cert() +
                    "' -noout -pubkey | openssl pkey -pubin -outform DER"
                    " | sha256sum",
                tmp_.file(""));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(made.fingerprint, "sha256:" + r.out.substr(0, 64));
}

TEST_F(IdentityTest, CertificateIsSelfSignedV3ForAHundredYears) {
  const Identity made = create();
  auto x = parse_certificate_pem(made.cert_pem, "cert");
  ASSERT_TRUE(x) << x.status().message();
  X509* c = x->get();
  EXPECT_EQ(X509_get_version(c), X509_VERSION_3);
  EXPECT_EQ(fingerprint_of(c), made.fingerprint);
  // Self-signed: issued by its own name, signature verified by its own key.
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)),
            0);
  EXPECT_EQ(X509_verify(c, X509_get0_pubkey(c)), 1);
  EXPECT_EQ(EVP_PKEY_get_id(X509_get0_pubkey(c)), EVP_PKEY_ED25519);

  char cn[256] = {};
  ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName,
                                      cn, sizeof cn),
            0);
  EXPECT_EQ(std::string(cn).rfind("mirrorfs ", 0), 0u) << cn;

  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(c)), 1);
  EXPECT_EQ(days, -1);  // now - 1 day, give or take the test's runtime
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(c)), 1);
  EXPECT_GE(days, 36524);
  EXPECT_LE(days, 36525);

  // A random serial: a second identity's differs.
  TempDir other;
  auto b = load_or_create_identity(other.file("s"), nullptr);
  ASSERT_TRUE(b);
  auto y = parse_certificate_pem(b->cert_pem, "cert");
  ASSERT_TRUE(y);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(c),
                             X509_get0_serialNumber(y->get())),
            0);
}

TEST_F(IdentityTest, KeyReadableByOthersIsRefused) {
  const Identity made = create();
  for (mode_t mode : {0644, 0640, 0604, 0602, 0620}) {
    ASSERT_EQ(::chmod(key().c_str(), mode), 0);
    expect_corrupt("must be accessible to its owner only");
    expect_corrupt(key());
    // load_or_create neither accepts nor replaces it.
    auto id = load_or_create_identity(state(), nullptr);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.status().code(), Code::kCorrupt);
  }
  ASSERT_EQ(::chmod(key().c_str(), 0644), 0);
  expect_corrupt("mode 0644");
  ASSERT_EQ(::chmod(key().c_str(), 0400), 0);  // owner-only is fine
  auto id = load_identity(state());
  ASSERT_TRUE(id) << id.status().message();
  EXPECT_EQ(id->fingerprint, made.fingerprint);
}

TEST_F(IdentityTest, GarbageKeyIsCorrupt) {
  create();
  spit(key(), "not a key\n");
  expect_corrupt("is not an unencrypted PEM private key");
}

TEST_F(IdentityTest, GarbageCertificateIsCorrupt) {
  create();
  spit(cert(),
       "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  expect_corrupt("is not a PEM certificate");
  spit(cert(), "");
  expect_corrupt("is not a PEM certificate");
}

TEST_F(IdentityTest, CertificateOfAnotherKeyIsCorrupt) {
  create();
  TempDir other;
  ASSERT_TRUE(load_or_create_identity(other.file("s"), nullptr));
  spit(cert(), slurp(other.file("s/identity.crt")));
  expect_corrupt("is not a certificate for");
  EXPECT_FALSE(load_or_create_identity(state(), nullptr));
}

TEST_F(IdentityTest, EncryptedKeyIsRefusedWithoutPrompting) {
  create();
  auto r = run_shell("openssl pkey -in '" + key() +
                         "' -aes256 -passout pass:secret -out '" + key() +
                         ".enc' && mv '" + key() + ".enc' '" + key() +
                         "' && chmod 600 '" + key() + "'",
                     tmp_.file(""));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(slurp(key()).find("ENCRYPTED"), std::string::npos);
  expect_corrupt("is not an unencrypted PEM private key");
}

TEST_F(IdentityTest, KeyOtherThanEd25519IsRefused) {
  create();
  auto r = run_shell("cd '" + state() +
                         "' && openssl genpkey -algorithm EC -pkeyopt "
                         "ec_paramgen_curve:P-256 -out identity.key && "
                         "chmod 600 identity.key && openssl req -new -x509 "
                         "-key identity.key -subj /CN=x -days 1 -out "
                         "identity.crt",
                     tmp_.file(""));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_corrupt("Ed25519 keys only");
}

TEST_F(IdentityTest, OversizedFileIsCorrupt) {
  create();
  spit(cert(), slurp(cert()) + std::string(kMaxIdentityFileSize, '\n'));
  expect_corrupt("larger than");
}

TEST_F(IdentityTest, KeyThatIsNotAFileIsCorrupt) {
  create();
  ASSERT_EQ(::unlink(key().c_str()), 0);
  ASSERT_EQ(::mkdir(key().c_str(), 0700), 0);
  expect_corrupt("not a regular file");
}

TEST_F(IdentityTest, LostKeyIsNeverReplaced) {
  create();
  ASSERT_EQ(::unlink(key().c_str()), 0);
  expect_corrupt("the key is lost");
  auto id = load_or_create_identity(state(), nullptr);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.status().code(), Code::kCorrupt);
  EXPECT_FALSE(std::filesystem::exists(key()));
}

TEST_F(IdentityTest, MissingCertificateIsReissuedForTheSameKey) {
  const Identity made = create();
  ASSERT_EQ(::unlink(cert().c_str()), 0);
  expect_corrupt("identity.crt is missing");

  EXPECT_NE(expect_kept(made).cert_pem, made.cert_pem);  // a new serial
  EXPECT_EQ(mode_of(cert()), 0644u);
  auto loaded = load_identity(state());
  ASSERT_TRUE(loaded) << loaded.status().message();
  EXPECT_EQ(loaded->fingerprint, made.fingerprint);
}

TEST_F(IdentityTest, ConcurrentCreatorsAgreeOnOneKey) {
  constexpr int kThreads = 6;
  std::vector<std::string> fps(kThreads);
  std::atomic<int> created_count{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      bool created = false;
      auto id = load_or_create_identity(state(), &created);
      if (id) fps[i] = id->fingerprint;
      if (created) ++created_count;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(created_count.load(), 1);
  for (const auto& fp : fps) EXPECT_EQ(fp, fps[0]);
  auto loaded = load_identity(state());
  ASSERT_TRUE(loaded) << loaded.status().message();
  EXPECT_EQ(loaded->fingerprint, fps[0]);
}

TEST_F(IdentityTest, StateDirWithoutParentIsAnError) {
  auto id = load_or_create_identity(tmp_.file("no/such/dir"), nullptr);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.status().code(), Code::kIoError);
  EXPECT_NE(id.status().message().find("no/such/dir"), std::string::npos);
}

}  // namespace
}  // namespace mirrorfs::replicator::tls

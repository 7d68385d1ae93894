// The signature cache: round trips (a large blob read incrementally),
// one row per content hash, and gc keeping exactly what is referenced.
#include "db/signature_cache.h"

#include <gtest/gtest.h>

#include <random>

#include "db/catalog.h"
#include "db/mirror_state.h"
#include "db/schema.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::db {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes hash_of(uint8_t tag) { return Bytes(32, tag); }

Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

class SignatureCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = open_state_db(tmp_.file("state.db"));
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    db_ = std::move(*db);
    auto cache = SignatureCache::open(*db_);
    ASSERT_TRUE(cache.is_ok()) << cache.status().to_string();
    cache_ = std::move(*cache);
  }
  void TearDown() override {
    cache_.reset();
    db_.reset();
  }

  testing::TempDir tmp_;  // outlives db_: declared first
  std::unique_ptr<Database> db_;
  std::unique_ptr<SignatureCache> cache_;
};

TEST_F(SignatureCacheTest, RoundTrip) {
  const Bytes sig = random_bytes(1000, 1);
  ASSERT_TRUE(cache_->put(hash_of(1), sig).is_ok());
  Result<Bytes> got = cache_->get(hash_of(1));
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(*got, sig);
  EXPECT_TRUE(*cache_->contains(hash_of(1)));
  EXPECT_FALSE(*cache_->contains(hash_of(2)));
  EXPECT_EQ(cache_->get(hash_of(2)).status().code(), Code::kNotFound);
  EXPECT_EQ(cache_->put({}, sig).code(), Code::kInvalidArgument);
}

TEST_F(SignatureCacheTest, LargeSignatureRoundTrip) {
  const Bytes sig = random_bytes(5 << 20, 7);  // 5 MiB
  ASSERT_TRUE(cache_->put(hash_of(9), sig).is_ok());
  Result<Bytes> got = cache_->get(hash_of(9));
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  ASSERT_EQ(got->size(), sig.size());
  EXPECT_TRUE(*got == sig);
}

TEST_F(SignatureCacheTest, EmptySignatureRoundTrip) {
  ASSERT_TRUE(cache_->put(hash_of(3), {}).is_ok());
  Result<Bytes> got = cache_->get(hash_of(3));
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_TRUE(got->empty());
}

TEST_F(SignatureCacheTest, SameHashIsStoredOnce) {
  const Bytes first = random_bytes(100, 1), second = random_bytes(200, 2);
  ASSERT_TRUE(cache_->put(hash_of(1), first).is_ok());
  ASSERT_TRUE(cache_->put(hash_of(1), second).is_ok());
  EXPECT_EQ(*cache_->count(), 1u);
  EXPECT_EQ(*cache_->get(hash_of(1)), first);  // the first put wins
  ASSERT_TRUE(cache_->put(hash_of(2), second).is_ok());
  EXPECT_EQ(*cache_->count(), 2u);
}

TEST_F(SignatureCacheTest, GcKeepsOnlyReferencedSignatures) {
  auto catalog = Catalog::open(*db_);
  auto mirrors = MirrorState::open(*db_);
  ASSERT_TRUE(catalog.is_ok() && mirrors.is_ok());
  for (uint8_t tag = 1; tag <= 4; ++tag) {
    ASSERT_TRUE(cache_->put(hash_of(tag), random_bytes(64, tag)).is_ok());
  }
  // 1: the catalog's replicated version of a file.
  FileAttrs a;
  a.hash = hash_of(1);
  Result<FileId> f = (*catalog)->create(kRootId, "f", a);
  ASSERT_TRUE(f.is_ok());
  // A file with no hash (NULL) must not stop gc from deleting anything.
  ASSERT_TRUE((*catalog)->create(kRootId, "nohash", FileAttrs{}).is_ok());
  // 2: the version a mirror holds.
  Result<MirrorId> m = (*mirrors)->add_mirror("backup");
  ASSERT_TRUE(m.is_ok());
  ASSERT_TRUE((*mirrors)->set_file_version(*m, *f, hash_of(2)).is_ok());
  // 3 and 4: nobody's.

  Result<uint64_t> removed = cache_->gc();
  ASSERT_TRUE(removed.is_ok()) << removed.status().to_string();
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(*cache_->count(), 2u);
  EXPECT_TRUE(*cache_->contains(hash_of(1)));
  EXPECT_TRUE(*cache_->contains(hash_of(2)));
  EXPECT_FALSE(*cache_->contains(hash_of(3)));
  EXPECT_FALSE(*cache_->contains(hash_of(4)));
  EXPECT_EQ(*cache_->gc(), 0u);

  // Once the mirror moves on, its old version's signature may go.
  ASSERT_TRUE((*mirrors)->set_file_version(*m, *f, hash_of(1)).is_ok());
  EXPECT_EQ(*cache_->gc(), 1u);
  EXPECT_FALSE(*cache_->contains(hash_of(2)));
  EXPECT_EQ(*cache_->get(hash_of(1)), random_bytes(64, 1));
}

}  // namespace
}  // namespace mirrorfs::db

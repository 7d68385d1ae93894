#include "core/signature_format.h"

#include <gtest/gtest.h>

namespace mirrorfs::core {
namespace {

SignatureParams resolve(SignatureRequest r, std::optional<uint64_t> size) {
  auto p = resolve_signature_params(r, size);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return p.is_ok() ? *p : SignatureParams{};
}

TEST(SignatureFormatTest, BlockLengthAsRdiffChooses) {
  EXPECT_EQ(resolve({}, 0).block_len, 256u);
  EXPECT_EQ(resolve({}, 65536).block_len, 256u);
  // sqrt(65537) = 256.0..., rounded down to a multiple of 128.
  EXPECT_EQ(resolve({}, 65537).block_len, 256u);
  EXPECT_EQ(resolve({}, 1u << 20).block_len, 1024u);
  EXPECT_EQ(resolve({}, 256u << 20).block_len, 16384u);
  EXPECT_EQ(resolve({}, 1000000).block_len, 896u);  // sqrt = 1000
  EXPECT_EQ(resolve({}, std::nullopt).block_len, 2048u);
  SignatureRequest r;
  r.block_len = 100;
  EXPECT_EQ(resolve(r, 1u << 30).block_len, 100u);
}

TEST(SignatureFormatTest, StrongLength) {
  SignatureRequest r;
  EXPECT_EQ(resolve(r, 1000).strong_len, 32u);
  r.magic = SigMagic::kRollsumMd4;
  EXPECT_EQ(resolve(r, 1000).strong_len, 16u);
  r.strong_len = -1;
  // 2 + (log2(1000 + 2^24) + log2(1000/256 + 1) + 7) / 8 = 2 + (24+1+7)/8.
  EXPECT_EQ(resolve(r, 1000).strong_len, 6u);
  EXPECT_EQ(resolve(r, std::nullopt).strong_len, 12u);
  r.strong_len = 17;
  EXPECT_FALSE(resolve_signature_params(r, 1000).is_ok());
  r.magic = SigMagic::kRabinKarpBlake2;
  EXPECT_EQ(resolve(r, 1000).strong_len, 17u);
  r.strong_len = 33;
  EXPECT_FALSE(resolve_signature_params(r, 1000).is_ok());
  r.strong_len = -2;
  EXPECT_FALSE(resolve_signature_params(r, 1000).is_ok());
}

TEST(SignatureFormatTest, MagicKinds) {
  EXPECT_EQ(weak_kind(SigMagic::kRabinKarpMd4), WeakKind::kRabinKarp);
  EXPECT_EQ(strong_kind(SigMagic::kRabinKarpMd4), StrongKind::kMd4);
  EXPECT_EQ(weak_kind(SigMagic::kRollsumBlake2), WeakKind::kRollsum);
  EXPECT_EQ(strong_kind(SigMagic::kRollsumBlake2), StrongKind::kBlake2);
  EXPECT_FALSE(magic_from_u32(0x72730236).has_value());  // the delta magic
  EXPECT_TRUE(magic_from_u32(0x72730147).has_value());
}

}  // namespace
}  // namespace mirrorfs::core

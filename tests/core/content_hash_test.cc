#include "core/content_hash.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace mirrorfs::core {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

ContentHash b2(const std::vector<uint8_t>& v) {
  ContentHash h;
  blake2b(v.data(), v.size(), h.data(), h.size());
  return h;
}

// The root as the spec writes it, built by hand from one-shot BLAKE2b.
ContentHash by_the_spec(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> root;
  for (size_t off = 0; off < data.size(); off += kContentLeafLen) {
    const size_t n = std::min(kContentLeafLen, data.size() - off);
    const ContentHash leaf =
        b2(std::vector<uint8_t>(data.begin() + off, data.begin() + off + n));
    root.insert(root.end(), leaf.begin(), leaf.end());
  }
  for (int i = 0; i < 8; ++i) root.push_back(static_cast<uint8_t>(data.size() >> (8 * i)));
  const char* domain = "mirrorfs-content-v1";
  root.insert(root.end(), domain, domain + std::strlen(domain));
  return b2(root);
}

TEST(ContentHashTest, MatchesTheSpecAtLeafBoundaries) {
  for (size_t n : {size_t{0}, size_t{1}, kContentLeafLen - 1, kContentLeafLen,
                   kContentLeafLen + 1, 3 * kContentLeafLen + 12345}) {
    const auto data = random_bytes(n, static_cast<uint32_t>(n));
    EXPECT_EQ(content_hash(data.data(), data.size()), by_the_spec(data)) << n;
  }
}

TEST(ContentHashTest, StreamingInOddPiecesEqualsOneShot) {
  const auto data = random_bytes(2 * kContentLeafLen + 777, 7);
  ContentHasher h;
  std::mt19937 rng(1);
  size_t off = 0;
  while (off < data.size()) {
    const size_t n = std::min<size_t>(rng() % 300000, data.size() - off);
    h.update(data.data() + off, n);
    off += n;
  }
  EXPECT_EQ(h.size(), data.size());
  EXPECT_EQ(h.finish(), content_hash(data.data(), data.size()));
}

TEST(ContentHashTest, SizeIsPartOfTheHash) {
  // Same leaves would not tell a file from the same file with a zero
  // byte more; the size in the root does.
  std::vector<uint8_t> a(100, 0), b(101, 0);
  EXPECT_NE(content_hash(a.data(), a.size()), content_hash(b.data(), b.size()));
  EXPECT_NE(content_hash(nullptr, 0), content_hash(a.data(), 1));
}

TEST(ContentHashTest, FileDescriptorMatchesMemory) {
  const auto data = random_bytes(5 * kContentLeafLen + 3, 3);
  char path[] = "/tmp/content_hash_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  auto h = content_hash_fd(fd);
  ::close(fd);
  ASSERT_TRUE(h.is_ok()) << h.status().to_string();
  EXPECT_EQ(*h, content_hash(data.data(), data.size()));
  EXPECT_EQ(content_hash_hex(*h).size(), 8u + 64u);
  EXPECT_FALSE(content_hash_fd(-1).is_ok());
}

}  // namespace
}  // namespace mirrorfs::core

#include "core/content_hash.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace mirrorfs::core {
namespace {
constexpr char kDomain[] = "mirrorfs-content-v1";
}  // namespace

ContentHasher::ContentHasher() : leaf_(kContentHashLen) {}

void ContentHasher::close_leaf() {
  ContentHash h;
  leaf_.final(h.data());
  leaves_.push_back(h);
  leaf_ = Blake2b(kContentHashLen);
  leaf_have_ = 0;
}

void ContentHasher::update(const uint8_t* data, size_t len) {
  size_ += len;
  while (len > 0) {
    const size_t take = std::min(len, kContentLeafLen - leaf_have_);
    leaf_.update(data, take);
    leaf_have_ += take;
    data += take;
    len -= take;
    if (leaf_have_ == kContentLeafLen) close_leaf();
  }
}

ContentHash ContentHasher::finish() {
  if (leaf_have_ > 0) close_leaf();
  return content_hash_from_leaves(leaves_, size_);
}

ContentHash content_hash_from_leaves(const std::vector<ContentHash>& leaves,
                                     uint64_t size) {
  Blake2b root(kContentHashLen);
  for (const ContentHash& l : leaves) root.update(l.data(), l.size());
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(size >> (8 * i));
  root.update(le, sizeof le);
  root.update(reinterpret_cast<const uint8_t*>(kDomain), sizeof kDomain - 1);
  ContentHash out;
  root.final(out.data());
  return out;
}

ContentHash content_hash(const uint8_t* data, size_t len) {
  ContentHasher h;
  h.update(data, len);
  return h.finish();
}

Result<ContentHash> content_hash_fd(int fd, std::vector<ContentHash>* leaves) {
  ContentHasher h;
  std::vector<uint8_t> buf(4 * kContentLeafLen);
  off_t off = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "read for content hash");
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    off += n;
  }
  const ContentHash out = h.finish();
  if (leaves) *leaves = h.leaves();
  return out;
}

std::string content_hash_hex(const ContentHash& h) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "blake2b:";
  for (uint8_t b : h) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace mirrorfs::core

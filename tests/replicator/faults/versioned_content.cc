#include "tests/replicator/faults/versioned_content.h"

#include <cstring>

namespace mirrorfs::replicator::testing {
namespace {

constexpr char kMagic[8] = {'M', 'F', 'S', 'F', 'A', 'U', 'L', 'T'};
constexpr uint64_t kPage = 4096;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

void put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint64_t get64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t get32(const char* p) { return static_cast<uint32_t>(get64(p) & 0xffffffffu); }

// Body bytes of (file id, version): 8 at a time from one hash per word.
class Body {
 public:
  Body(uint64_t file_id, uint32_t version)
      : key_(splitmix64(file_id) ^ (uint64_t{version} * 0xD1B54A32D192ED03ull)) {}
  unsigned char at(uint64_t offset) {
    const uint64_t word = offset / 8;
    if (word != word_) {
      word_ = word;
      value_ = splitmix64(key_ + word);
    }
    return static_cast<unsigned char>(value_ >> (8 * (offset % 8)));
  }

 private:
  uint64_t key_;
  uint64_t word_ = UINT64_MAX;
  uint64_t value_ = 0;
};

std::string header_bytes(const Version& v) {
  std::string h(kVersionHeaderSize, '\0');
  std::memcpy(h.data(), kMagic, sizeof kMagic);
  put64(&h[8], v.file_id);
  put32(&h[16], v.version);
  put32(&h[20], v.chunk);
  put64(&h[24], v.size);
  put32(&h[32], v.prev_version);
  put64(&h[40], v.prev_size);
  put64(&h[56], fnv1a64(std::string_view(h).substr(0, 56)));
  return h;
}

std::string describe(const Version& v) {
  std::string d = "file " + std::to_string(v.file_id) + " version " +
                  std::to_string(v.version) + " of " + std::to_string(v.size) +
                  " bytes in chunks of " + std::to_string(v.chunk);
  if (v.prev_version != 0) {
    d += ", in place over version " + std::to_string(v.prev_version) + " of " +
         std::to_string(v.prev_size) + " bytes";
  }
  return d;
}

}  // namespace

std::string make_content(const Version& v) {
  std::string s = header_bytes(v);
  s.resize(v.size);
  Body body(v.file_id, v.version);
  for (uint64_t i = kVersionHeaderSize; i < v.size; ++i) {
    s[i] = static_cast<char>(body.at(i));
  }
  return s;
}

bool parse_header(std::string_view data, Version* out) {
  if (data.size() < kVersionHeaderSize) return false;
  if (std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) return false;
  if (get64(&data[56]) != fnv1a64(data.substr(0, 56))) return false;
  Version v;
  v.file_id = get64(&data[8]);
  v.version = get32(&data[16]);
  v.chunk = get32(&data[20]);
  v.size = get64(&data[24]);
  v.prev_version = get32(&data[32]);
  v.prev_size = get64(&data[40]);
  if (v.version == 0 || v.chunk < kVersionHeaderSize || v.size < kVersionHeaderSize) {
    return false;
  }
  if (v.prev_version != 0 && v.prev_size < kVersionHeaderSize) return false;
  *out = v;
  return true;
}

bool is_complete(std::string_view data) {
  Version v;
  return parse_header(data, &v) && data.size() == v.size &&
         data == std::string_view(make_content(v));
}

std::string check_content(std::string_view data, const CheckOptions& opt) {
  if (data.empty()) return "";  // created, not yet written
  Version v;
  if (!parse_header(data, &v)) {
    return "no valid header (" + std::to_string(data.size()) + " bytes)";
  }
  const uint64_t n = data.size();
  // p: how far data agrees with the new version.
  const std::string header = header_bytes(v);
  Body fresh(v.file_id, v.version);
  uint64_t p = 0;
  const uint64_t common = std::min<uint64_t>(n, v.size);
  while (p < common &&
         static_cast<unsigned char>(data[p]) ==
             (p < kVersionHeaderSize ? static_cast<unsigned char>(header[p]) : fresh.at(p))) {
    ++p;
  }
  if (n == v.size && p == n) return "";
  // q: from where on data agrees with the previous version's body.
  uint64_t q = n;
  if (v.prev_version != 0) {
    Body old(v.file_id, v.prev_version);
    while (q > kVersionHeaderSize && q <= v.prev_size &&
           static_cast<unsigned char>(data[q - 1]) == old.at(q - 1)) {
      --q;
    }
  }
  // A cut after the new version's first E bytes, E at a chunk's end (or,
  // with page cuts, at a page boundary).
  auto fits = [&](uint64_t e) {
    if (e > v.size || e > p) return false;
    if (v.prev_version == 0) return e < v.size && n == e;
    return n == std::max(v.prev_size, e) && q <= e;
  };
  for (uint64_t k = 1; (k - 1) * v.chunk < v.size; ++k) {
    if (fits(std::min<uint64_t>(k * v.chunk, v.size))) return "";
  }
  if (opt.allow_page_cuts) {
    for (uint64_t e = kPage; e < v.size; e += kPage) {
      if (fits(e)) return "";
    }
  }
  return "torn: " + std::to_string(n) + " bytes, header says " + describe(v) +
         "; agrees with that version up to offset " + std::to_string(p) +
         (v.prev_version != 0 ? ", with the previous one from offset " + std::to_string(q)
                              : std::string());
}

}  // namespace mirrorfs::replicator::testing

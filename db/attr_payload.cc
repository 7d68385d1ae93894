#include "db/attr_payload.h"

#include "core/coding.h"

namespace mirrorfs::db {
namespace {

// version(1) valid(4) mode(4) uid(4) gid(4) size(8) atime(8) mtime(8)
// rdev(8), big-endian like every mirrorfs format.
constexpr uint8_t kVersion = 1;
constexpr size_t kEncodedSize = 1 + 4 * 4 + 8 * 4;

}  // namespace

std::vector<uint8_t> AttrPayload::encode() const {
  std::vector<uint8_t> out(kEncodedSize);
  uint8_t* p = out.data();
  *p++ = kVersion;
  for (uint32_t v : {valid, mode, uid, gid}) {
    put_be32(p, v);
    p += 4;
  }
  for (uint64_t v : {size, static_cast<uint64_t>(atime_ns),
                     static_cast<uint64_t>(mtime_ns), rdev}) {
    put_be(p, v, 8);
    p += 8;
  }
  return out;
}

Result<AttrPayload> AttrPayload::decode(std::span<const uint8_t> data) {
  if (data.size() != kEncodedSize || data[0] != kVersion) {
    return Status::corrupt("attribute payload: bad version or length " +
                           std::to_string(data.size()));
  }
  const uint8_t* p = data.data() + 1;
  AttrPayload a;
  for (uint32_t* v : {&a.valid, &a.mode, &a.uid, &a.gid}) {
    *v = get_be32(p);
    p += 4;
  }
  a.size = get_be(p, 8);
  a.atime_ns = static_cast<int64_t>(get_be(p + 8, 8));
  a.mtime_ns = static_cast<int64_t>(get_be(p + 16, 8));
  a.rdev = get_be(p + 24, 8);
  return a;
}

}  // namespace mirrorfs::db

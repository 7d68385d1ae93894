#include "replicator/wire/zstd_chunk.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <memory>
#include <string>

#include "replicator/wire/messages.h"

namespace mirrorfs::replicator::wire {
namespace {

// log2(kMaxChunk): no frame we accept needs a larger window, and without
// this cap a hostile frame header could make zstd allocate 128 MiB.
constexpr int kWindowLogMax = 20;
static_assert((size_t{1} << kWindowLogMax) == kMaxChunk);

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context of each kind per thread, kept: creating them costs more
// than compressing a small chunk. Null if zstd could not allocate.
ZSTD_CCtx* cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> c(ZSTD_createCCtx());
  return c.get();
}

ZSTD_DCtx* dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> d([] {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    if (d && ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax,
                                                 kWindowLogMax))) {
      ZSTD_freeDCtx(d);
      d = nullptr;
    }
    return d;
  }());
  return d.get();
}

Status zstd_corrupt(const std::string& why) {
  return Status::corrupt("zstd body: " + why);
}

}  // namespace

Result<bool> compress_if_smaller(std::span<const uint8_t> in, int level,
                                 std::vector<uint8_t>& out) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
    return Status::invalid_argument("zstd level " + std::to_string(level) +
                                    " out of range");
  if (in.size() <= 1) return false;
  ZSTD_CCtx* c = cctx();
  if (!c) return Status::internal("zstd: cannot allocate a context");
  // Room for one byte less than the input: zstd fails with dstSize_tooSmall
  // when the frame would not be smaller, which is our "send it raw".
  const size_t at = out.size();
  out.resize(at + in.size() - 1);
  const size_t n = ZSTD_compressCCtx(c, out.data() + at, in.size() - 1,
                                     in.data(), in.size(), level);
  if (ZSTD_isError(n)) {
    out.resize(at);
    if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall) return false;
    return Status::internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  out.resize(at + n);
  return true;
}

Result<std::vector<uint8_t>> decompress_chunk(std::span<const uint8_t> in) {
  const unsigned long long declared =
      ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return zstd_corrupt("not a zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > kMaxChunk)
    return zstd_corrupt("declares more than kMaxChunk bytes");
  ZSTD_DCtx* d = dctx();
  if (!d) return Status::internal("zstd: cannot allocate a context");
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);

  // The declared size is checked by zstd against what the frame holds;
  // without one, room for the most we accept.
  const size_t cap =
      declared == ZSTD_CONTENTSIZE_UNKNOWN ? kMaxChunk : size_t(declared);
  std::vector<uint8_t> out(cap);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  // Once `dst` is full, zstd writes into this one byte: anything there
  // means the frame holds more than `cap`.
  uint8_t overflow = 0;
  ZSTD_outBuffer probe{&overflow, 1, 0};
  for (;;) {
    ZSTD_outBuffer* o = dst.pos < dst.size ? &dst : &probe;
    const size_t in_before = src.pos, out_before = o->pos;
    const size_t ret = ZSTD_decompressStream(d, o, &src);
    if (ZSTD_isError(ret)) return zstd_corrupt(ZSTD_getErrorName(ret));
    if (probe.pos != 0) return zstd_corrupt("holds more than kMaxChunk bytes");
    if (ret == 0) break;  // the frame is complete
    if (src.pos == in_before && o->pos == out_before)
      return zstd_corrupt("truncated frame");
  }
  if (src.pos != src.size) return zstd_corrupt("bytes after the frame");
  out.resize(dst.pos);
  if (out.size() != cap) out.shrink_to_fit();
  return out;
}

}  // namespace mirrorfs::replicator::wire

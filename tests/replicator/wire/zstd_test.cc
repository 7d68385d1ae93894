// zstd on FileData and SigData: when it is used, and what a hostile
// compressed body (a bomb, a huge window, trailing bytes) gets.
#include <gtest/gtest.h>
#include <sys/resource.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <random>

#include "replicator/wire/codec.h"
#include "replicator/wire/frame_reader.h"
#include "tests/replicator/wire/wire_test_util.h"

namespace mirrorfs::replicator::wire {
namespace {

using namespace testing;

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// `total` zero bytes as one zstd frame, compressed in a stream from a
// 1 MiB buffer (so making it costs no more memory than that). The content
// size is written only if `declare_size`.
std::vector<uint8_t> zeros_frame(uint64_t total, bool declare_size,
                                 int window_log = 0) {
  std::unique_ptr<ZSTD_CCtx, CCtxFree> c(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, 1);
  if (window_log) ZSTD_CCtx_setParameter(c.get(), ZSTD_c_windowLog, window_log);
  if (declare_size) ZSTD_CCtx_setPledgedSrcSize(c.get(), total);
  const std::vector<uint8_t> zeros(1u << 20);
  std::vector<uint8_t> out(64 << 10);
  std::vector<uint8_t> frame_bytes;
  // The input goes in with ZSTD_e_continue and the frame is ended apart,
  // so zstd cannot shrink the window to the input it saw.
  auto drain = [&](ZSTD_inBuffer& in, ZSTD_EndDirective end) {
    size_t ret;
    do {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      ret = ZSTD_compressStream2(c.get(), &o, &in, end);
      if (ZSTD_isError(ret)) return false;
      frame_bytes.insert(frame_bytes.end(), out.begin(), out.begin() + o.pos);
    } while (end == ZSTD_e_end ? ret != 0 : in.pos < in.size);
    return true;
  };
  for (uint64_t left = total; left > 0;) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(left, zeros.size()));
    left -= n;
    ZSTD_inBuffer in{zeros.data(), n, 0};
    if (!drain(in, ZSTD_e_continue)) return {};
  }
  ZSTD_inBuffer none{nullptr, 0, 0};
  if (!drain(none, ZSTD_e_end)) return {};
  return frame_bytes;
}

long max_rss_kib() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

Code zstd_file_data_code(const std::vector<uint8_t>& z) {
  return decode_frame(frame(31, 1, z, kFlagZstd)).status().code();
}

TEST(ZstdTest, CompressedOnlyWhenSmaller) {
  std::vector<uint8_t> text(100000);
  for (size_t i = 0; i < text.size(); ++i) text[i] = "abcabd"[i % 6];
  std::vector<uint8_t> noise(100000);
  std::mt19937 rng(1);
  for (uint8_t& b : noise) b = static_cast<uint8_t>(rng());

  for (bool sig : {false, true}) {
    auto m = [&](std::vector<uint8_t> b) {
      return sig ? Message{1, SigData{std::move(b)}}
                 : Message{1, FileData{std::move(b)}};
    };
    std::vector<uint8_t> f = encoded(m(text));
    EXPECT_EQ(f[5], kFlagZstd);
    EXPECT_LT(f.size(), 1000u);
    EXPECT_EQ(*decode_frame(f), m(text));

    f = encoded(m(noise));
    EXPECT_EQ(f[5], 0);
    EXPECT_EQ(f.size(), kFrameHeaderLen + noise.size());
    EXPECT_EQ(*decode_frame(f), m(noise));

    f = encoded(m(text), {.compress = false});
    EXPECT_EQ(f[5], 0);
    EXPECT_EQ(f.size(), kFrameHeaderLen + text.size());

    for (std::vector<uint8_t> tiny : {std::vector<uint8_t>{}, {7}, {7, 7}}) {
      f = encoded(m(tiny));
      EXPECT_EQ(f[5], 0);  // a zstd frame is never smaller than 3 bytes
      EXPECT_EQ(*decode_frame(f), m(tiny));
    }
  }
}

TEST(ZstdTest, LevelsOutOfRangeAreInvalid) {
  std::vector<uint8_t> out;
  const Message m{1, FileData{std::vector<uint8_t>(1000, 'x')}};
  EXPECT_EQ(encode(m, out, {.zstd_level = ZSTD_maxCLevel() + 1}).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
  for (int level : {-5, 1, 19}) {
    out.clear();
    ASSERT_TRUE(encode(m, out, {.zstd_level = level}).is_ok()) << level;
    EXPECT_EQ(*decode_frame(out), m);
  }
}

// A gibibyte of zeros in ~40 KiB, with no content size in the frame: the
// decoder must stop at kMaxChunk, not inflate it.
TEST(ZstdTest, BombIsCorruptAndCostsLittleMemory) {
  const std::vector<uint8_t> bomb = zeros_frame(uint64_t{1} << 30, false);
  ASSERT_FALSE(bomb.empty());
  ASSERT_LE(bomb.size(), kMaxFrameBody);
  const long before = max_rss_kib();
  Result<Message> r = decode_frame(frame(31, 1, bomb, kFlagZstd));
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("kMaxChunk"), std::string::npos)
      << r.status().to_string();
  FrameReader reader;
  const std::vector<uint8_t> f = frame(41, 1, bomb, kFlagZstd);
  std::span<const uint8_t> in(f);
  EXPECT_EQ(reader.next(in).status().code(), Code::kCorrupt);
  const long grown_kib = max_rss_kib() - before;
  EXPECT_LT(grown_kib, 64 * 1024)
      << "peak memory grew by " << grown_kib << " KiB";
}

TEST(ZstdTest, DeclaredSizeOverTheLimitIsCorrupt) {
  EXPECT_EQ(zstd_file_data_code(zeros_frame(uint64_t{1} << 30, true)),
            Code::kCorrupt);
  EXPECT_EQ(zstd_file_data_code(zeros_frame(kMaxChunk + 1, true)),
            Code::kCorrupt);
}

TEST(ZstdTest, ExactlyOneChunkPasses) {
  for (bool declared : {false, true}) {
    Result<Message> r =
        decode_frame(frame(31, 1, zeros_frame(kMaxChunk, declared), kFlagZstd));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(*r, (Message{1, FileData{std::vector<uint8_t>(kMaxChunk)}}));
  }
  EXPECT_EQ(zstd_file_data_code(zeros_frame(kMaxChunk + 1, false)),
            Code::kCorrupt);
}

TEST(ZstdTest, WindowOverOneMiBIsCorrupt) {
  // 2 MiB window, no content size: zstd would allocate the window first.
  const std::vector<uint8_t> z = zeros_frame(1000, false, 21);
  ZSTD_frameHeader h;
  ASSERT_EQ(ZSTD_getFrameHeader(&h, z.data(), z.size()), 0u);
  ASSERT_EQ(h.windowSize, 2u << 20);
  ASSERT_EQ(h.frameContentSize, ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_EQ(zstd_file_data_code(zeros_frame(1000, false, 21)), Code::kCorrupt);
  EXPECT_EQ(zstd_file_data_code(zeros_frame(1000, false, 20)), Code::kOk);
}

TEST(ZstdTest, MalformedCompressedBodies) {
  const std::vector<uint8_t> z = zeros_frame(5000, true);
  EXPECT_EQ(zstd_file_data_code(z), Code::kOk);
  std::vector<uint8_t> trailing = z;
  trailing.push_back(0);
  EXPECT_EQ(zstd_file_data_code(trailing), Code::kCorrupt);
  std::vector<uint8_t> two = z;
  two.insert(two.end(), z.begin(), z.end());
  EXPECT_EQ(zstd_file_data_code(two), Code::kCorrupt);
  for (size_t n = 0; n < z.size(); ++n) {
    std::vector<uint8_t> cut(z.begin(), z.begin() + n);
    EXPECT_EQ(zstd_file_data_code(cut), Code::kCorrupt) << n;
  }
  EXPECT_EQ(zstd_file_data_code({1, 2, 3, 4, 5, 6, 7, 8}), Code::kCorrupt);
  EXPECT_EQ(zstd_file_data_code({}), Code::kCorrupt);
}

}  // namespace
}  // namespace mirrorfs::replicator::wire

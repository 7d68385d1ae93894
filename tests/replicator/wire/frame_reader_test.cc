#include "replicator/wire/frame_reader.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/replicator/wire/wire_test_util.h"

namespace mirrorfs::replicator::wire {
namespace {

using namespace testing;

// Every sample, then a 1 MiB raw FileData and a 1 MiB zstd one.
std::vector<Message> stream_messages() {
  std::vector<Message> ms = sample_messages();
  std::vector<uint8_t> noise(kMaxChunk);
  std::mt19937 rng(7);
  for (uint8_t& b : noise) b = static_cast<uint8_t>(rng());
  ms.push_back(Message{100, FileData{noise}});
  ms.push_back(Message{101, FileData{std::vector<uint8_t>(kMaxChunk, 'z')}});
  return ms;
}

std::vector<uint8_t> stream_of(const std::vector<Message>& ms) {
  std::vector<uint8_t> s;
  for (const Message& m : ms) {
    const std::vector<uint8_t> f = encoded(m);
    s.insert(s.end(), f.begin(), f.end());
  }
  return s;
}

// Feeds `s` in pieces of the sizes `piece()` returns, collecting messages.
template <class Piece>
std::vector<Message> read_all(const std::vector<uint8_t>& s, Piece piece) {
  FrameReader reader;
  std::vector<Message> got;
  size_t at = 0;
  while (at < s.size()) {
    const size_t n = std::min(piece(), s.size() - at);
    std::span<const uint8_t> in(s.data() + at, n);
    at += n;
    for (;;) {
      Result<std::optional<Message>> r = reader.next(in);
      EXPECT_TRUE(r.is_ok()) << r.status().to_string();
      if (!r.is_ok()) return got;
      if (!*r) break;
      got.push_back(std::move(**r));
    }
    EXPECT_TRUE(in.empty());
  }
  EXPECT_FALSE(reader.mid_frame());
  return got;
}

TEST(FrameReaderTest, WholeStreamInOnePiece) {
  const std::vector<Message> ms = stream_messages();
  const std::vector<uint8_t> s = stream_of(ms);
  EXPECT_EQ(read_all(s, [&] { return s.size(); }), ms);
}

TEST(FrameReaderTest, OneByteAtATime) {
  const std::vector<Message> ms = sample_messages();
  EXPECT_EQ(read_all(stream_of(ms), [] { return size_t{1}; }), ms);
}

TEST(FrameReaderTest, RandomPieces) {
  const std::vector<Message> ms = stream_messages();
  const std::vector<uint8_t> s = stream_of(ms);
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    // Mostly small pieces, sometimes large ones that span frames.
    auto piece = [&] {
      return rng() % 4 ? size_t{1} + rng() % 40 : size_t{1} + rng() % 300000;
    };
    EXPECT_EQ(read_all(s, piece), ms);
  }
}

TEST(FrameReaderTest, StopsAtTheEndOfEachFrame) {
  const std::vector<uint8_t> a = encoded(Message{1, Barrier{5}});
  const std::vector<uint8_t> b = encoded(Message{2, Ok{}});
  std::vector<uint8_t> s = a;
  s.insert(s.end(), b.begin(), b.end());
  FrameReader reader;
  std::span<const uint8_t> in(s);
  Result<std::optional<Message>> r = reader.next(in);
  ASSERT_TRUE(r.is_ok() && *r);
  EXPECT_EQ(**r, (Message{1, Barrier{5}}));
  EXPECT_EQ(in.size(), b.size());
  r = reader.next(in);
  ASSERT_TRUE(r.is_ok() && *r);
  EXPECT_EQ(**r, (Message{2, Ok{}}));
  EXPECT_TRUE(in.empty());
  r = reader.next(in);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(*r);
}

TEST(FrameReaderTest, MidFrameAndLastHeader) {
  const std::vector<uint8_t> f = encoded(Message{9, Barrier{5}});
  FrameReader reader;
  EXPECT_FALSE(reader.mid_frame());
  EXPECT_FALSE(reader.last_header());
  for (size_t i = 0; i + 1 < f.size(); ++i) {
    std::span<const uint8_t> in(f.data() + i, 1);
    Result<std::optional<Message>> r = reader.next(in);
    ASSERT_TRUE(r.is_ok());
    EXPECT_FALSE(*r);
    EXPECT_TRUE(reader.mid_frame()) << i;
    EXPECT_EQ(reader.last_header().has_value(), i + 1 >= kFrameHeaderLen);
  }
  std::span<const uint8_t> in(f.data() + f.size() - 1, 1);
  Result<std::optional<Message>> r = reader.next(in);
  ASSERT_TRUE(r.is_ok() && *r);
  EXPECT_FALSE(reader.mid_frame());
  EXPECT_EQ(reader.last_header()->request_id, 9u);
}

TEST(FrameReaderTest, ErrorsAreFinal) {
  std::vector<uint8_t> s = encoded(Message{1, Ok{}});
  const std::vector<uint8_t> bad = frame(200, 2, {});  // unknown type
  s.insert(s.end(), bad.begin(), bad.end());
  const std::vector<uint8_t> good = encoded(Message{3, Ok{}});
  s.insert(s.end(), good.begin(), good.end());
  FrameReader reader;
  std::span<const uint8_t> in(s);
  Result<std::optional<Message>> r = reader.next(in);
  ASSERT_TRUE(r.is_ok() && *r);
  r = reader.next(in);
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  const size_t left = in.size();
  r = reader.next(in);
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_EQ(in.size(), left) << "took bytes after an error";
}

TEST(FrameReaderTest, BadBodyInPiecesIsCorrupt) {
  // A Barrier with a trailing byte, in two pieces.
  const std::vector<uint8_t> f = frame(50, 1, {1, 0, 0, 0, 0, 0, 0, 0, 0});
  FrameReader reader;
  std::span<const uint8_t> a(f.data(), 20), b(f.data() + 20, f.size() - 20);
  Result<std::optional<Message>> r = reader.next(a);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(reader.next(b).status().code(), Code::kCorrupt);
}

TEST(FrameReaderTest, OversizedHeaderIsRefusedBeforeItsBody) {
  std::vector<uint8_t> f = frame(31, 1, {});
  f[0] = f[1] = f[2] = f[3] = 0xff;  // 4 GiB body
  FrameReader reader;
  std::span<const uint8_t> in(f);
  EXPECT_EQ(reader.next(in).status().code(), Code::kCorrupt);
}

}  // namespace
}  // namespace mirrorfs::replicator::wire

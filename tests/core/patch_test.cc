#include "core/patch.h"

#include <gtest/gtest.h>

#include "core/delta_format.h"
#include "tests/support/drive.h"

namespace mirrorfs::core {
namespace {

using Bytes = std::vector<uint8_t>;
using mirrorfs::testing::Chunker;
using mirrorfs::testing::run_job;

Bytes magic() { return {0x72, 0x73, 0x02, 0x36}; }

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Result<Bytes> patch(const Bytes& basis, const Bytes& delta,
                    size_t chunk = 1 << 20) {
  auto reader = new_memory_basis_reader(basis);
  auto job = new_patch_job(reader.get(), nullptr);
  return run_job(*job, delta, Chunker::fixed(chunk), Chunker::fixed(chunk));
}

const Bytes kBasis = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};

TEST(PatchTest, EveryOpcodeWidth) {
  // LITERAL immediate, then 1/2/4/8-byte lengths; COPY with every pair of
  // widths.
  Bytes d = cat(magic(), {0x02, 'a', 'b', 0x41, 0x01, 'c', 0x42, 0x00, 0x01,
                          'd', 0x43, 0, 0, 0, 1, 'e', 0x44, 0, 0, 0, 0, 0,
                          0, 0, 1, 'f'});
  for (int wp = 0; wp < 4; ++wp) {
    for (int wl = 0; wl < 4; ++wl) {
      d.push_back(static_cast<uint8_t>(0x45 + 4 * wp + wl));
      for (int i = 1; i < (1 << wp); ++i) d.push_back(0);
      d.push_back(static_cast<uint8_t>(wp + wl));  // pos
      for (int i = 1; i < (1 << wl); ++i) d.push_back(0);
      d.push_back(2);  // len
    }
  }
  d.push_back(0x00);
  Bytes want = {'a', 'b', 'c', 'd', 'e', 'f'};
  for (int wp = 0; wp < 4; ++wp) {
    for (int wl = 0; wl < 4; ++wl) {
      want.push_back(kBasis[wp + wl]);
      want.push_back(kBasis[wp + wl + 1]);
    }
  }
  for (size_t chunk : {1, 2, 3, 7, 1000}) {
    auto r = patch(kBasis, d, chunk);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(*r, want) << "chunk " << chunk;
  }
}

void expect_corrupt(const Bytes& delta, const std::string& needle) {
  auto r = patch(kBasis, delta);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
}

TEST(PatchTest, BadMagic) {
  expect_corrupt({0x72, 0x73, 0x01, 0x36, 0}, "bad magic");
  expect_corrupt({0x72, 0x73}, "no magic");
  expect_corrupt({}, "no magic");
}

TEST(PatchTest, ReservedOpcodes) {
  for (int op = 0x55; op <= 0xff; ++op) {
    expect_corrupt(cat(magic(), {static_cast<uint8_t>(op), 0}), "reserved opcode");
  }
}

TEST(PatchTest, Truncations) {
  expect_corrupt(magic(), "without END");
  expect_corrupt(cat(magic(), {0x03, 'a'}), "literal lacks 2 bytes");
  expect_corrupt(cat(magic(), {0x42, 0x01}), "cut short");
  expect_corrupt(cat(magic(), {0x45, 0x00}), "cut short");
}

TEST(PatchTest, ZeroLengthCopyIsCorrupt) {
  expect_corrupt(cat(magic(), {0x45, 0x00, 0x00, 0x00}), "zero-length COPY");
}

TEST(PatchTest, ZeroLengthLiteralIsCorrupt) {
  expect_corrupt(cat(magic(), {0x41, 0x00, 0x00}), "zero-length LITERAL");
  expect_corrupt(cat(magic(), {0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x00}),
                 "zero-length LITERAL");
}

TEST(PatchTest, CopyPastEndOfBasisIsOutOfRange) {
  for (Bytes cmd : {Bytes{0x45, 9, 2, 0}, Bytes{0x45, 10, 1, 0},
                    Bytes{0x45, 200, 1, 0}}) {
    auto r = patch(kBasis, cat(magic(), cmd));
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Code::kOutOfRange) << r.status().message();
  }
  // pos + len overflows 64 bits.
  Bytes d = cat(magic(), {0x54});
  for (int i = 0; i < 8; ++i) d.push_back(0xff);
  for (int i = 0; i < 8; ++i) d.push_back(0xff);
  d.push_back(0);
  expect_corrupt(d, "overflows");
}

TEST(PatchTest, AbsurdLiteralLengthFailsWithoutAllocating) {
  // A LITERAL claiming 2^62 bytes followed by 3: fails for lack of input;
  // the job only ever copies what it has into the caller's buffer.
  Bytes d = cat(magic(), {0x44, 0x40, 0, 0, 0, 0, 0, 0, 0, 'x', 'y', 'z'});
  expect_corrupt(d, "literal lacks");
}

TEST(PatchTest, BytesAfterEndAreIgnored) {
  auto r = patch(kBasis, cat(magic(), {0x01, 'z', 0x00, 0xff, 0xff}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, Bytes{'z'});
}

}  // namespace
}  // namespace mirrorfs::core

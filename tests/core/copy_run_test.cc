#include "core/copy_run.h"

#include <gtest/gtest.h>

namespace mirrorfs::core {
namespace {

struct Collect {
  std::vector<DeltaCommand> cmds;
  CopyRun::Sink sink() {
    return [this](const DeltaCommand& c) { cmds.push_back(c); };
  }
};

constexpr uint64_t L = 4096;

TEST(CopyRunTest, ExtendPlanWinsOnIdenticalBlocks) {
  // Zeros: every block matches every window. "first" names block 0 each
  // time (one COPY per block, as rdiff writes); "extend" one long COPY.
  Collect out;
  CopyRun run(out.sink());
  for (uint64_t i = 0; i < 100; ++i) run.add(i * L, i * L, 0, L);
  run.finish();
  ASSERT_EQ(out.cmds.size(), 1u);
  EXPECT_EQ(out.cmds[0].basis_pos, 0u);
  EXPECT_EQ(out.cmds[0].len, 100 * L);
}

TEST(CopyRunTest, FirstPlanWinsWhenItsOffsetsAreNarrower) {
  // The period-37 case found by the interop tests: "extend" runs on into
  // high offsets and must then jump to another high offset; "first"
  // jumps early to block 0, whose offset fits in one byte.
  Collect out;
  CopyRun run(out.sink());
  uint64_t off = 0;
  // Blocks 31..36 match in both plans.
  for (uint64_t b = 31; b <= 36; ++b, off += L) run.add(off, b * L, b * L, L);
  // Then "extend" takes 37..47 while "first" takes 0..10.
  for (uint64_t k = 0; k <= 10; ++k, off += L) {
    run.add(off, (37 + k) * L, k * L, L);
  }
  // "extend" must break to block 11; "first" continues 11..25.
  for (uint64_t k = 11; k <= 25; ++k, off += L) run.add(off, k * L, k * L, L);
  run.finish();
  uint64_t bytes = 0;
  for (const auto& c : out.cmds) {
    uint8_t buf[kMaxCommandHeader];
    bytes += encode_copy(c.basis_pos, c.len, buf);
  }
  // first: COPY(31*L, 6L) + COPY(0, 26L) = (1+4+2) + (1+1+4) = 13 bytes;
  // extend: COPY(31*L, 17L) + COPY(11*L, 15L) = (1+4+4) + (1+2+2) = 14.
  EXPECT_EQ(bytes, 13u);
  ASSERT_EQ(out.cmds.size(), 2u);
  EXPECT_EQ(out.cmds[1].basis_pos, 0u);
  EXPECT_EQ(out.cmds[1].new_off, 6 * L);
}

TEST(CopyRunTest, MemoryIsBoundedAndCoverageExact) {
  // Alternating blocks never merge in either plan: the run settles every
  // kMaxPlanCommands commands and still covers every byte once, in order.
  Collect out;
  CopyRun run(out.sink());
  const uint64_t n = 5 * CopyRun::kMaxPlanCommands + 7;
  for (uint64_t i = 0; i < n; ++i) run.add(i * L, (i % 2) * 2 * L, 0, L);
  run.finish();
  uint64_t next = 0;
  for (const auto& c : out.cmds) {
    EXPECT_EQ(c.new_off, next);
    next += c.len;
  }
  EXPECT_EQ(next, n * L);
}

TEST(CopyRunTest, FinishButOpenLeavesTheLastCopy) {
  Collect out;
  CopyRun run(out.sink());
  run.add(0, 0, 0, L);
  run.add(L, 5 * L, 5 * L, L);
  const DeltaCommand open = run.finish_but_open();
  ASSERT_EQ(out.cmds.size(), 1u);
  EXPECT_EQ(open.basis_pos, 5 * L);
  EXPECT_EQ(open.new_off, L);
  EXPECT_TRUE(run.empty());
}

}  // namespace
}  // namespace mirrorfs::core

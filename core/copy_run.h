// Turning one run of consecutive block matches into COPY commands.
//
// Where several basis blocks hold the same bytes (runs of zeros, periodic
// data), which block a match names decides how matches merge into COPY
// commands and how wide their fields are. Two plans are kept side by side
// for the run: "extend" (the scan's choice: the block that extends the
// open COPY, else the first) and "first" (always the lowest-numbered
// matching block, which is rdiff's choice). Both cover the same bytes of
// the new file, since the choice never changes where matches are found.
// At the end of the run the cheaper plan is emitted, so a delta is never
// larger than rdiff's for the same matches (zeros: one COPY where rdiff
// writes one per block; periodic data: rdiff's narrower offsets when they
// win). Memory is bounded: past kMaxPlanCommands closed commands the
// cheaper plan so far is emitted and both plans continue from its open
// COPY.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/delta_encoder.h"

namespace mirrorfs::core {

class CopyRun {
 public:
  static constexpr size_t kMaxPlanCommands = 1024;
  using Sink = std::function<void(const DeltaCommand&)>;

  explicit CopyRun(Sink sink) : sink_(std::move(sink)) {}

  bool empty() const { return plans_[0].open.len == 0; }

  // A match of `len` new-file bytes at new_off. extend_pos and first_pos
  // are the basis offsets of the block each plan names.
  void add(uint64_t new_off, uint64_t extend_pos, uint64_t first_pos,
           uint64_t len);

  // Ends the run, emitting every COPY of the cheaper plan.
  void finish();

  // Ends the run but for the open COPY of the cheaper plan, which is
  // returned (len 0 if the run was empty) and not emitted.
  DeltaCommand finish_but_open();

 private:
  struct Plan {
    std::vector<DeltaCommand> closed;
    DeltaCommand open{true, 0, 0, 0};
    uint64_t cost = 0;  // encoded bytes of `closed`
    uint64_t total() const;
  };
  static void extend(Plan& p, uint64_t new_off, uint64_t pos, uint64_t len);
  // Emits the closed commands of the cheaper plan; both plans then hold
  // only its open COPY.
  void settle();

  Sink sink_;
  Plan plans_[2];
};

}  // namespace mirrorfs::core

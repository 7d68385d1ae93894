// Delta generation: new-file bytes in, librsync delta out, against a
// loaded Signature. Format: docs/formats/delta.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/delta_encoder.h"
#include "core/job.h"
#include "core/signature.h"
#include "core/stats.h"

namespace mirrorfs::core {

// REQUIRES: sig has its index built and outlives the job. `stats` may be
// null; if not, it must outlive the job and is updated as the job runs.
// Memory: the signature plus buffers bounded by the block length and
// kMaxLiteralRun, whatever the size of the new file.
std::unique_ptr<Job> new_delta_job(const Signature& sig, Stats* stats);

// A delta job run as one segment of a parallel delta (whole_file.cc).
//
// The scan is greedy: at each position it visits, it looks for a match of
// the next block_len bytes; a match jumps a block, a miss one byte. Which
// positions are visited after a visited position depends only on the data,
// never on how the scan got there. So two scans of the same file that
// visit one same position agree from there on: a second segment started
// at an offset can be spliced onto the first at the first position both
// visit, giving exactly the matches of one sequential scan.
struct DeltaSegment {
  // Offset in the new file of the job's first input byte. Positions the
  // job records or reports are offsets in the new file.
  uint64_t base = 0;
  // Non-null: the job records its commands here (merged as it would
  // encode them) and produces no output at all, not even magic or END.
  std::vector<DeltaCommand>* record = nullptr;
  // Set: at every position p >= stop_from that the scan visits, the job
  // asks stop(p); on true it emits its pending literal, leaves its pending
  // COPY unemitted, writes no END, reports both in DeltaStop and finishes.
  std::function<bool(uint64_t)> stop;
  uint64_t stop_from = UINT64_MAX;
};

struct DeltaStop {
  bool stopped = false;
  uint64_t at = 0;  // the new-file position where the job stopped
  // The COPY pending at that position (len 0: none), which ends at `at`.
  uint64_t copy_pos = 0, copy_len = 0;
};

// REQUIRES: as new_delta_job; `stop_out` outlives the job when seg.stop is
// set.
std::unique_ptr<Job> new_delta_segment_job(const Signature& sig, Stats* stats,
                                           DeltaSegment seg,
                                           DeltaStop* stop_out);

}  // namespace mirrorfs::core

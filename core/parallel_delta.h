// Delta of a regular file on two cores: see DeltaSegment (delta.h) for
// why the spliced result has exactly the matches of a sequential scan.
#pragma once

#include <cstddef>

#include "core/signature.h"
#include "core/stats.h"
#include "core/status.h"

namespace mirrorfs::core {

// Writes the delta of new_fd, from its current offset to its end, to
// delta_fd, using two threads. Leaves new_fd's offset at its end.
// REQUIRES: new_fd is a regular file that nobody writes meanwhile (it is
// read twice in places; the replicator checks stability around the whole
// read in any case).
Result<Stats> parallel_delta_fd(const Signature& sig, int new_fd, int delta_fd,
                                size_t buffer_size);

}  // namespace mirrorfs::core

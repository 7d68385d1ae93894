// The source half of `mirrorfs verify`: BACKING listed as the mirror
// lists its root (wire::ListEntry, pre-order, never following a symlink),
// each regular file hashed by reading it now.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "replicator/wire/messages.h"

namespace mirrorfs::replicator {

// Appends the entries beneath `rel` ("." for the root) of the directory
// tree at `backing` to *out, and the bytes hashed to *hashed. A file that
// cannot be read whole (gone, changed while read) is listed without a
// hash. kNotFound if `rel` is not a directory there.
Status list_source(const std::string& backing, const std::string& rel,
                   std::vector<wire::ListEntry>* out, uint64_t* hashed);

}  // namespace mirrorfs::replicator

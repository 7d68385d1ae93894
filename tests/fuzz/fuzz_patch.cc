// Fuzz target: a basis and a hostile delta through the patch job.
//
// Input layout:  flags:u8  L:u16be  basis[L]  delta[...]
//   flags bit 0: the BasisReader reports its size (else "unknown");
//   flags bit 1: eof_in comes with the last input chunk;
//   all bits:    seed of the uneven input/output chunk sizes.
// If the input is shorter than L, the basis is what there is.
//
// Oracle: the plain, whole-buffer reference patcher of delta_ref.h.
// Whenever both accept, outputs must be equal; a delta the reference finds
// clearly valid must be accepted and one it finds clearly corrupt must be
// refused, with nothing written before the refusal that a streaming
// patcher could not legitimately have written. Output is capped at kMaxOut:
// a huge length field must fail by running out of input, never allocate.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "core/patch.h"
#include "tests/fuzz/delta_ref.h"
#include "tests/support/drive.h"

namespace {

using namespace mirrorfs::core;
using mirrorfs::testing::RefPatch;

// 16 MiB rather than more: the fuzzer soon learns to chain COPYs, and every
// byte of output costs time in each of the two patchers.
constexpr size_t kMaxOut = size_t{16} << 20;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_patch: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t flags = data[0];
  const size_t want = (size_t{data[1]} << 8) | data[2];
  const size_t blen = std::min(want, size - 3);
  const std::span<const uint8_t> basis(data + 3, blen);
  const std::span<const uint8_t> delta(data + 3 + blen, size - 3 - blen);

  std::vector<uint8_t> expect;
  const RefPatch ref =
      mirrorfs::testing::reference_patch(basis, delta, &expect, kMaxOut);

  auto reader_ptr = mirrorfs::core::new_memory_basis_reader(basis, flags & 1);
  auto& reader = *reader_ptr;
  Stats stats;
  auto job = new_patch_job(&reader, &stats);
  std::vector<uint8_t> out;
  mirrorfs::testing::DriveOptions opt;
  opt.max_out = kMaxOut;
  opt.eof_with_last_chunk = flags & 2;
  const uint64_t seed = flags * 0x100000001b3ull + size;
  auto r = mirrorfs::testing::drive_job(*job, delta, seed, &out, opt);

  if (r.contract_violation) fail(r.status.to_string().c_str());
  if (r.output_limit) {
    if (ref != RefPatch::kTooBig)
      fail("output beyond what the delta describes");
    return 0;
  }
  const bool ok = r.status.is_ok();
  switch (ref) {
    case RefPatch::kOk:
      if (!ok) {
        std::fprintf(stderr, "patch refused: %s\n",
                     r.status.to_string().c_str());
        fail("refused a valid delta");
      }
      break;
    case RefPatch::kCorrupt:
      if (ok) fail("accepted a corrupt delta");
      if (r.status.code() == mirrorfs::Code::kInternal)
        fail("internal error on a corrupt delta");
      // What was written before the error must still be right.
      if (out.size() > expect.size() ||
          !std::equal(out.begin(), out.end(), expect.begin()))
        fail("wrong bytes written before refusing a corrupt delta");
      return 0;
    case RefPatch::kTooBig:
      if (ok) fail("finished a delta bigger than the cap without hitting it");
      return 0;
    case RefPatch::kAmbiguous:
      break;
  }
  if (ok) {
    if (out != expect) fail("patch output differs from the reference");
    if (stats.out_bytes != 0 && stats.out_bytes != out.size())
      fail("stats.out_bytes differs from the output size");
  }
  return 0;
}

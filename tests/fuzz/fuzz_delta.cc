// Fuzz target: signature -> delta -> patch round trip, plus the delta job
// against a hostile signature.
//
// Input layout:  magic:u8  block:u8  strong:u8  flags:u8  split:u16be  rest
//   magic & 3      one of the four signature magics;
//   block % 64 + 1 block_len (small, so that short inputs span many blocks);
//   strong         strong_len = strong % max + 1;
//   flags          seed of the uneven chunk sizes; bit 0: eof with last chunk;
//   split          rest[0..split) is the basis, rest[split..) the new file.
//
// Oracles (abort() on failure):
//   - the signature job's output is the header + sign_blocks(basis), and
//     loads back;
//   - the delta is well formed, its literals are the new file's bytes at
//     their offsets, its COPYs start on block boundaries and lie inside the
//     basis, and it describes exactly new.size() bytes;
//   - the delta does not depend on how the input and output were chunked;
//   - patching it gives the new file.
// With strong_len < 6 a false match is the algorithm, not a bug: then the
// patched bytes are not compared, and a COPY may run past the basis's end
// (a full window matching the short last block) up to block_count *
// block_len, in which case the patch may fail with kOutOfRange.
// Then the raw fuzz bytes are tried as a signature; if they load, the delta
// of the new file against them must be well formed in the same sense.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "core/coding.h"
#include "core/delta.h"
#include "core/patch.h"
#include "core/signature.h"
#include "tests/fuzz/delta_ref.h"
#include "tests/support/drive.h"

namespace {

using namespace mirrorfs::core;
using mirrorfs::testing::Chunker;
using mirrorfs::testing::drive_job;
using mirrorfs::testing::DriveOptions;
using mirrorfs::testing::RefVerdict;

constexpr size_t kMinAssertedStrongLen = 6;
constexpr size_t kHeader = 6;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_delta: %s\n", what);
  std::abort();
}

void check_drive(const mirrorfs::testing::DriveResult& r, const char* what) {
  if (r.contract_violation) fail(r.status.to_string().c_str());
  if (!r.status.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status.to_string().c_str());
    fail("a job failed on valid input");
  }
}

// Checks that `delta` could have come from `sig` for `newf`: see above.
// basis_size: the signed basis's size when known (else block_count *
// block_len bounds COPYs). Returns the number of COPY commands.
size_t check_delta_shape(const Signature& sig, std::span<const uint8_t> newf,
                         std::span<const uint8_t> delta,
                         std::optional<uint64_t> basis_size) {
  const uint64_t block_len = sig.params().block_len;
  const uint64_t basis_max =
      basis_size.value_or(uint64_t{sig.block_count()} * block_len);
  uint64_t at = 0;
  size_t copies = 0;
  const RefVerdict v = mirrorfs::testing::walk_delta(
      delta,
      [&](const uint8_t* p, uint64_t len) {
        if (len == 0) fail("encoder wrote a zero-length literal");
        if (len > newf.size() - at) fail("delta longer than the new file");
        if (std::memcmp(p, newf.data() + at, len) != 0)
          fail("literal bytes differ from the new file");
        at += len;
        return true;
      },
      [&](uint64_t pos, uint64_t len) {
        if (pos % block_len != 0) fail("COPY not on a block boundary");
        if (pos > basis_max || len > basis_max - pos)
          fail("COPY outside the signed basis");
        if (len > newf.size() - at) fail("delta longer than the new file");
        at += len;
        ++copies;
        return true;
      });
  if (v != RefVerdict::kOk) fail("encoder wrote a malformed delta");
  if (at != newf.size()) fail("delta shorter than the new file");
  return copies;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  static constexpr SigMagic kMagics[] = {
      SigMagic::kRollsumMd4, SigMagic::kRollsumBlake2, SigMagic::kRabinKarpMd4,
      SigMagic::kRabinKarpBlake2};
  SignatureParams p;
  p.magic = kMagics[data[0] & 3];
  p.block_len = data[1] % 64 + 1;
  p.strong_len = static_cast<uint32_t>(data[2] % max_strong_len(p.magic) + 1);
  const uint8_t flags = data[3];
  const std::span<const uint8_t> rest(data + kHeader, size - kHeader);
  const size_t split =
      std::min<size_t>((size_t{data[4]} << 8) | data[5], rest.size());
  const auto basis = rest.first(split);
  const auto newf = rest.subspan(split);
  const uint64_t seed = flags * 0x100000001b3ull + size;
  DriveOptions opt;
  opt.eof_with_last_chunk = flags & 1;

  // Signature, streamed, against the one-shot sign_blocks().
  std::vector<uint8_t> sig_bytes;
  {
    auto job = new_signature_job(p, nullptr);
    check_drive(drive_job(*job, basis, seed, &sig_bytes, opt), "signature");
  }
  const size_t blocks = (basis.size() + p.block_len - 1) / p.block_len;
  if (sig_bytes.size() != signature_size(p, basis.size()))
    fail("signature size differs from signature_size()");
  {
    std::vector<uint8_t> direct(kSigHeaderLen + blocks * sig_entry_len(p));
    mirrorfs::put_be32(direct.data(), static_cast<uint32_t>(p.magic));
    mirrorfs::put_be32(direct.data() + 4, p.block_len);
    mirrorfs::put_be32(direct.data() + 8, p.strong_len);
    sign_blocks(p, basis.data(), basis.size(), direct.data() + kSigHeaderLen);
    if (sig_bytes != direct) fail("signature job differs from sign_blocks");
  }
  auto sig = load_signature(sig_bytes);
  if (!sig.is_ok()) fail("our own signature does not load");
  if ((*sig)->block_count() != blocks) fail("loaded block_count differs");

  // Delta, twice: uneven chunks, then large fixed buffers.
  std::vector<uint8_t> delta, delta2;
  {
    Stats stats;
    auto job = new_delta_job(**sig, &stats);
    check_drive(drive_job(*job, newf, seed, &delta, opt), "delta");
  }
  {
    auto job = new_delta_job(**sig, nullptr);
    check_drive(drive_job(*job, newf, Chunker::fixed(1 << 16),
                          Chunker::fixed(1 << 16), &delta2),
                "delta, large buffers");
  }
  if (delta != delta2) fail("delta depends on the buffer sizes");
  // With short strong sums a false match is the algorithm, not a bug; one
  // against the short last block even yields a COPY past the end of the
  // basis (the signature does not record the last block's length).
  const bool strong = p.strong_len >= kMinAssertedStrongLen;
  check_delta_shape(
      **sig, newf, delta,
      strong ? std::optional<uint64_t>(basis.size()) : std::nullopt);

  // Patch.
  {
    auto reader_ptr = mirrorfs::core::new_memory_basis_reader(basis, flags & 2);
    auto& reader = *reader_ptr;
    auto job = new_patch_job(&reader, nullptr);
    std::vector<uint8_t> out;
    auto r = drive_job(*job, delta, seed ^ 0xabcdef, &out, opt);
    if (strong || r.status.code() != mirrorfs::Code::kOutOfRange) {
      check_drive(r, "patch");
      if (out.size() != newf.size()) fail("patched size differs");
    }
    if (strong && !std::equal(out.begin(), out.end(), newf.begin()))
      fail("patched output differs from the new file");
  }

  // The raw input as a hostile signature.
  auto hostile = load_signature({data, size});
  if (hostile.is_ok()) {
    auto job = new_delta_job(**hostile, nullptr);
    std::vector<uint8_t> hd;
    check_drive(drive_job(*job, newf, seed, &hd, opt), "hostile delta");
    check_delta_shape(**hostile, newf, hd, std::nullopt);
  }
  return 0;
}

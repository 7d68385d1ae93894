// Fuzz target: arbitrary bytes as a signature file.
//
// Checks that load_signature() never crashes or over-allocates, that a
// signature it accepts holds exactly the entries in the bytes, that every
// block is found by its own weak sum, and that the streaming
// SignatureLoader, fed in uneven chunks, agrees with load_signature().
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "core/coding.h"
#include "core/signature.h"
#include "core/signature_format.h"
#include "tests/support/drive.h"

namespace {

using mirrorfs::get_be32;
using namespace mirrorfs::core;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_signature_load: %s\n", what);
  std::abort();
}

void check_signature(const Signature& sig, const uint8_t* data, size_t size) {
  const SignatureParams& p = sig.params();
  const auto magic = magic_from_u32(static_cast<uint32_t>(p.magic));
  if (!magic) fail("accepted an unknown magic");
  if (static_cast<uint32_t>(p.magic) != get_be32(data)) fail("magic differs");
  if (p.block_len != get_be32(data + 4)) fail("block_len differs");
  if (p.strong_len != get_be32(data + 8)) fail("strong_len differs");
  if (p.block_len == 0 || p.block_len > kMaxBlockLen)
    fail("accepted a block_len out of range");
  if (p.strong_len < 1 || p.strong_len > max_strong_len(*magic))
    fail("accepted a strong_len out of range");

  const size_t entry = sig_entry_len(p);
  const size_t body = size - kSigHeaderLen;
  // A trailing partial entry is a truncated file and must be refused.
  if (body % entry != 0) fail("accepted a truncated final entry");
  if (sig.block_count() != body / entry) fail("block_count != entries");

  const uint8_t* e = data + kSigHeaderLen;
  for (size_t i = 0; i < sig.block_count(); ++i, e += entry) {
    const uint32_t w = get_be32(e);
    if (sig.weak(i) != w) fail("weak sum differs from the file");
    if (std::memcmp(sig.strong(i), e + 4, p.strong_len) != 0)
      fail("strong sum differs from the file");
    if (!sig.maybe_contains(w)) fail("prefilter misses a present weak sum");
    // Candidates come in increasing block order, all with this weak sum,
    // and the walk reaches block i.
    bool bad = false, found = false;
    size_t last = 0;
    bool first = true;
    sig.for_each_candidate(w, [&](size_t j) {
      if (j >= sig.block_count() || sig.weak(j) != w) bad = true;
      if (!first && j <= last) bad = true;
      first = false;
      last = j;
      if (j == i) found = true;
      return j >= i;  // stop once block i has been seen
    });
    if (bad) fail("candidate with another weak sum, out of range or order");
    if (!found) fail("block not found by its own weak sum");
  }
  // A weak sum taken from the bytes (probably absent): any candidate must
  // really have it.
  if (size >= 4) {
    const uint32_t probe = get_be32(data + size - 4) ^ 0x9e3779b9u;
    sig.for_each_candidate(probe, [&](size_t j) {
      if (j >= sig.block_count() || sig.weak(j) != probe)
        fail("candidate for an absent weak sum");
      return false;
    });
  }
  (void)sig.memory_bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto loaded = load_signature(in);
  if (loaded.is_ok()) {
    if (size < kSigHeaderLen) fail("accepted a signature without a header");
    check_signature(**loaded, data, size);
  }

  // The streaming loader, in uneven chunks, must agree.
  SignatureLoader loader;
  std::vector<uint8_t> out;
  const uint64_t seed = size ? data[size / 2] * 131u + size : 0;
  auto r = mirrorfs::testing::drive_job(loader, in, seed, &out);
  if (r.contract_violation) fail(r.status.to_string().c_str());
  if (!out.empty()) fail("signature loader produced output");
  if (r.status.is_ok() != loaded.is_ok())
    fail("streaming loader and load_signature disagree");
  if (r.status.is_ok()) {
    auto sig = loader.take();
    if (!sig) fail("take() returned null after kDone");
    if (sig->block_count() != (*loaded)->block_count())
      fail("streaming loader block_count differs");
    check_signature(*sig, data, size);
  }
  return 0;
}

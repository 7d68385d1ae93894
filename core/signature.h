// Signatures: generation (a streaming job), the in-memory Signature with
// its lookup index, and loading (a streaming job).
// Format: docs/formats/signature.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/job.h"
#include "core/signature_format.h"
#include "core/stats.h"
#include "core/status.h"

namespace mirrorfs::core {

// Size of one signature entry: weak sum + strong sum.
inline size_t sig_entry_len(const SignatureParams& p) {
  return 4 + p.strong_len;
}

// Computes the signature entries of data[0..len): one entry per block of
// p.block_len, the last one short if len is not a multiple. Writes
// ceil(len / block_len) * sig_entry_len(p) bytes to out. Pure and
// thread-safe: callers may split a large buffer at block boundaries and
// run several of these at once.
void sign_blocks(const SignatureParams& p, const uint8_t* data, size_t len,
                 uint8_t* out);

// Streaming signature generation: basis bytes in, signature file out.
// REQUIRES: params resolved (see resolve_signature_params).
std::unique_ptr<Job> new_signature_job(const SignatureParams& params,
                                       Stats* stats);

// A loaded signature with an index for delta search.
//
// Blocks are numbered from 0; block i covers basis bytes
// [i * block_len, (i + 1) * block_len), the last possibly short.
// Thread-safety: const methods may be called concurrently once
// build_index() has returned.
class Signature {
 public:
  explicit Signature(const SignatureParams& params);

  const SignatureParams& params() const { return params_; }
  size_t block_count() const { return weak_.size(); }
  uint32_t weak(size_t i) const { return weak_[i]; }
  const uint8_t* strong(size_t i) const {
    return strong_.data() + i * params_.strong_len;
  }

  void reserve(size_t blocks);
  void add_block(uint32_t weak, const uint8_t* strong);

  // Builds the hash index and the prefilter. REQUIRES: called once, after
  // the last add_block() and before any lookup.
  void build_index();

  // The prefilter as plain values, for hot loops that keep it in
  // registers: false from test() means no block has this weak sum; a true
  // may be a false positive (about 1 in 64 for random sums).
  struct Prefilter {
    const uint64_t* words;
    size_t mask;
    bool test(uint32_t weak) const {
      const uint32_t h = mix(weak);
      return (words[(h >> 6) & mask] >> (h & 63)) & 1;
    }
  };
  Prefilter prefilter() const { return {filter_.data(), filter_mask_}; }
  bool maybe_contains(uint32_t weak) const { return prefilter().test(weak); }

  // Calls fn(block_index) for every block whose weak sum is `weak`, in
  // increasing block order, until fn returns true. Returns whether one did.
  template <typename Fn>
  bool for_each_candidate(uint32_t weak, Fn&& fn) const {
    if (table_.empty()) return false;
    size_t slot = mix(weak) & table_mask_;
    for (;;) {
      const Slot& s = table_[slot];
      if (s.count == 0) return false;
      if (s.weak == weak) {
        for (uint32_t k = 0; k < s.count; ++k) {
          if (fn(chain_[s.first + k])) return true;
        }
        return false;
      }
      slot = (slot + 1) & table_mask_;
    }
  }

  // Bytes held, for memory accounting.
  size_t memory_bytes() const;

 private:
  // A mixing step so that structured weak sums (e.g. rollsum of zeros)
  // spread over the table: a MurmurHash3-style finaliser.
  static uint32_t mix(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
  }

  struct Slot {
    uint32_t weak = 0;
    uint32_t first = 0;  // index into chain_
    uint32_t count = 0;  // 0: empty slot
  };

  SignatureParams params_;
  std::vector<uint32_t> weak_;
  std::vector<uint8_t> strong_;
  std::vector<Slot> table_;  // open addressing, one slot per weak sum
  size_t table_mask_ = 0;
  std::vector<uint32_t> chain_;   // block indices grouped by weak sum
  std::vector<uint64_t> filter_;  // prefilter bitset
  size_t filter_mask_ = 0;
};

// Streaming signature loading: signature file bytes in, no output. Memory
// grows with the bytes actually received, never with a header field.
// On kDone, take() yields the signature with its index built.
class SignatureLoader : public Job {
 public:
  SignatureLoader() = default;
  Result<JobStep> iterate(JobBuffers& buf) override;
  // REQUIRES: iterate() returned kDone. Leaves the loader empty.
  std::unique_ptr<Signature> take();

 private:
  uint8_t header_[kSigHeaderLen];
  size_t header_have_ = 0;
  std::unique_ptr<Signature> sig_;
  uint8_t entry_[4 + kMaxStrongLen];
  size_t entry_have_ = 0;
  bool done_ = false;
};

// Parses a whole signature held in memory (tests, fuzzing, the database).
Result<std::unique_ptr<Signature>> load_signature(
    std::span<const uint8_t> data);

}  // namespace mirrorfs::core

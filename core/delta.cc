// Delta generation.
//
// The job buffers new-file bytes in a window and scans it greedily, as
// rsync and librsync do: at each position, the weak sum of the next
// block_len bytes is looked up (prefilter, then hash table) and confirmed
// by the strong sum; a match becomes a COPY and the scan jumps a block,
// a miss makes one byte literal and the weak sum rolls on by one byte.
//
// Beyond librsync: after a match the next block of the basis is the likely
// next match, so the job checks up to four following blocks at once (weak
// sums computed directly, strong sums with 4-lane BLAKE2b) before falling
// back to the general lookup; among blocks with equal sums it prefers the
// one that extends the current COPY. Both only change which of several
// equally valid matches is taken, never where a match is found, so the
// delta is never larger than a plain greedy scan's.
#include "core/delta.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "core/coding.h"
#include "core/copy_run.h"
#include "core/delta_encoder.h"
#include "core/delta_format.h"
#include "core/strong_sum.h"
#include "core/weak_sum.h"

namespace mirrorfs::core {
namespace {

constexpr size_t kNoBlock = SIZE_MAX;
// Staged output is drained to the caller before more input is scanned.
constexpr size_t kOutHighWater = 256 << 10;

template <typename Weak>
class DeltaJob : public Job {
 public:
  DeltaJob(const Signature& sig, Stats* stats, DeltaSegment seg,
           DeltaStop* stop_out)
      : sig_(sig),
        stats_(stats ? stats : &own_stats_),
        seg_(std::move(seg)),
        stop_out_(stop_out),
        win_base_(seg_.base),
        L_(sig.params().block_len),
        strong_len_(sig.params().strong_len),
        strong_kind_(strong_kind(sig.params().magic)),
        cap_(kMaxLiteralRun + L_ + (2u << 20)),
        run_([this](const DeltaCommand& c) { emit_copy(c); }) {
    stats_->block_len = L_;
    stats_->sig_blocks = sig.block_count();
    if (!seg_.record) {
      uint8_t magic[4];
      put_be32(magic, kDeltaMagic);
      stage(magic, 4);
    }
    if (sig.block_count() == 0) next_block_ = kNoBlock;
  }

  Result<JobStep> iterate(JobBuffers& buf) override {
    for (;;) {
      drain(buf);
      if (out_off_ < out_.size()) return JobStep::kBlocked;
      if (ended_) return JobStep::kDone;
      if (stopped_) {
        ended_ = true;
        continue;
      }
      ingest(buf);
      const bool eof = buf.eof_in && buf.avail_in == 0;
      scan(eof);
      if (out_.size() > out_off_ || stopped_) continue;
      if (eof && scan_ == win_len_) {
        run_.finish();
        flush_literal();
        if (!seg_.record) {
          const uint8_t end = kOpEnd;
          stage(&end, 1);
        }
        ended_ = true;
        continue;
      }
      if (buf.avail_in == 0 && !eof) return JobStep::kBlocked;
    }
  }

 private:
  // --- input window -------------------------------------------------------

  // Appends input to the window, first discarding what is already emitted.
  void ingest(JobBuffers& buf) {
    if (buf.avail_in == 0) return;
    if (lit_start_ > 0 && (win_len_ + buf.avail_in > win_size_)) {
      std::memmove(win_.get(), win_.get() + lit_start_, win_len_ - lit_start_);
      win_base_ += lit_start_;
      win_len_ -= lit_start_;
      scan_ -= lit_start_;
      lit_start_ = 0;
    }
    const size_t want = std::min(cap_, win_len_ + buf.avail_in);
    if (want > win_size_) grow(want);
    const size_t n = std::min(buf.avail_in, win_size_ - win_len_);
    std::memcpy(win_.get() + win_len_, buf.next_in, n);
    win_len_ += n;
    buf.next_in += n;
    buf.avail_in -= n;
    stats_->in_bytes += n;
  }

  // Memory grows with the bytes received, up to cap_, never with a header
  // field alone.
  void grow(size_t want) {
    size_t size = std::max<size_t>(win_size_ * 2, 64 << 10);
    size = std::min(std::max(size, want), cap_);
    auto w = std::make_unique_for_overwrite<uint8_t[]>(size);
    if (win_len_) std::memcpy(w.get(), win_.get(), win_len_);
    win_ = std::move(w);
    win_size_ = size;
  }

  // --- scanning -------------------------------------------------------------

  void scan(bool eof) {
    const uint8_t* w = win_.get();
    while (!stopped_ && out_.size() - out_off_ < kOutHighWater) {
      const size_t avail = win_len_ - scan_;
      if (avail == 0 || (avail < L_ && !eof)) return;
      if (seg_.stop && win_base_ + scan_ >= seg_.stop_from &&
          seg_.stop(win_base_ + scan_)) {
        stop_here();
        return;
      }
      if (!have_weak_ && scan_ == lit_start_ && next_block_ != kNoBlock &&
          avail >= L_ && try_continue()) {
        continue;
      }
      const size_t wlen = std::min<size_t>(avail, L_);
      if (!have_weak_) {
        weak_.reset();
        weak_.update(w + scan_, wlen);
        have_weak_ = true;
        checked_ = false;
      }
      if (!checked_) {
        const Match m = find_match(w + scan_, wlen, avail < L_);
        if (m.take != kNoBlock) {
          take_match(m.take, m.first, wlen);
          continue;
        }
        checked_ = true;
      }
      // No match here: this byte becomes literal.
      if (!run_.empty()) run_.finish();
      if (avail > L_) {
        skip_misses();
      } else if (eof) {
        // The tail of the file: the window shrinks as it slides.
        weak_.rollout(w[scan_]);
        ++scan_;
        checked_ = false;
        cap_literal();
      } else {
        return;  // need the next byte
      }
    }
  }

  // Rolls through positions whose weak sum fails the prefilter: the hot
  // loop for data that does not match. Stops at the first position that
  // passes it (left unchecked), or where the window or literal run ends.
  void skip_misses() {
    const uint8_t* w = win_.get();
    const size_t L = L_;
    size_t s = scan_;
    assert(win_len_ - s > L);
    // Positions s+1 .. limit are reachable with a full window.
    size_t limit = win_len_ - L;
    limit = std::min(limit, lit_start_ + kMaxLiteralRun);
    if (seg_.stop) {
      // Positions from stop_from on are visited one at a time, so that
      // scan() can ask seg_.stop at each.
      const uint64_t rel =
          seg_.stop_from > win_base_ ? seg_.stop_from - win_base_ : 0;
      limit = std::min<uint64_t>(limit, std::max<uint64_t>(rel, s + 1));
    }
    Weak weak = weak_;
    const Signature::Prefilter filter = sig_.prefilter();
    bool hit = false;
    while (s < limit) {
      weak.rotate(w[s], w[s + L]);
      ++s;
      if (filter.test(weak.digest())) {
        hit = true;
        break;
      }
    }
    weak_ = weak;
    scan_ = s;
    // A full window that fails the prefilter has no match: it counts as
    // checked. One that passes is looked up by the caller.
    checked_ = !hit;
    cap_literal();
  }

  // Emits the pending literal once it reaches the longest run we emit.
  void cap_literal() {
    if (scan_ - lit_start_ >= kMaxLiteralRun) flush_literal();
  }

  // After a match, checks whether the following blocks of the new file
  // are the following blocks of the basis, up to four at once.
  bool try_continue() {
    const uint8_t* p = win_.get() + scan_;
    const size_t nblocks = sig_.block_count();
    size_t n = std::min<size_t>((win_len_ - scan_) / L_, 4);
    n = std::min(n, nblocks - next_block_);
    size_t weak_hits = 0;
    uint32_t first_weak = 0;
    for (; weak_hits < n; ++weak_hits) {
      const uint32_t ws = weak_sum_direct(kind(), p + weak_hits * L_, L_);
      if (weak_hits == 0) first_weak = ws;
      if (ws != sig_.weak(next_block_ + weak_hits)) break;
    }
    if (weak_hits == 0) {
      // Hand the weak sum over so the general path need not recompute it.
      if (n > 0) seed_weak(p, first_weak);
      return false;
    }
    uint8_t sums[4][kMaxStrongLen];
    if (weak_hits == 4) {
      const uint8_t* in[4] = {p, p + L_, p + 2 * L_, p + 3 * L_};
      uint8_t* out[4] = {sums[0], sums[1], sums[2], sums[3]};
      strong_sum_x4(strong_kind_, in, L_, out, strong_len_);
    } else {
      for (size_t k = 0; k < weak_hits; ++k) {
        strong_sum(strong_kind_, p + k * L_, L_, sums[k], strong_len_);
      }
    }
    size_t matched = 0;
    while (matched < weak_hits &&
           std::memcmp(sums[matched], sig_.strong(next_block_ + matched),
                       strong_len_) == 0) {
      ++matched;
    }
    if (matched == 0) {
      // The weak sum matched the expected block only: let the general
      // path try other candidates, with the strong sum already known.
      seed_weak(p, first_weak);
      have_strong_ = true;
      std::memcpy(strong_, sums[0], strong_len_);
      return false;
    }
    for (size_t k = 0; k < matched; ++k) {
      take_match(next_block_, first_equal_block(next_block_), L_);
    }
    return true;
  }

  void seed_weak(const uint8_t* p, uint32_t digest) {
    weak_.reset();
    weak_.update(p, L_);
    assert(weak_.digest() == digest);
    (void)digest;
    have_weak_ = true;
    checked_ = false;
  }

  WeakKind kind() const {
    return std::is_same_v<Weak, RabinKarp> ? WeakKind::kRabinKarp
                                           : WeakKind::kRollsum;
  }

  // The blocks matching the window p[0..len): the one to take (the one
  // extending the COPY if it matches, else the first) and the first;
  // kNoBlock if none. At the tail of the file (a window shorter than a
  // block) only the last block, which may be short, can match.
  struct Match {
    size_t take = kNoBlock;
    size_t first = kNoBlock;
  };
  Match find_match(const uint8_t* p, size_t len, bool tail) {
    const uint32_t ws = weak_.digest();
    bool strong_done = have_strong_;
    have_strong_ = false;
    auto strong_equals = [&](size_t b) {
      if (!strong_done) {
        strong_sum(strong_kind_, p, len, strong_, strong_len_);
        strong_done = true;
      }
      return std::memcmp(strong_, sig_.strong(b), strong_len_) == 0;
    };
    const size_t nblocks = sig_.block_count();
    if (nblocks == 0) return {};
    if (tail) {
      const size_t last = nblocks - 1;
      if (sig_.weak(last) != ws) return {};
      if (strong_equals(last)) return {last, last};
      ++stats_->false_matches;
      return {};
    }
    if (!sig_.maybe_contains(ws)) return {};
    Match m;
    sig_.for_each_candidate(ws, [&](uint32_t b) {
      if (!strong_equals(b)) return false;
      m.first = b;
      return true;
    });
    if (m.first == kNoBlock) {
      if (strong_done) ++stats_->false_matches;
      return m;
    }
    // Prefer the block that extends the current COPY.
    m.take = m.first;
    if (next_block_ != kNoBlock && next_block_ != m.first &&
        sig_.weak(next_block_) == ws && strong_equals(next_block_)) {
      m.take = next_block_;
    }
    return m;
  }

  // The first block with the same sums as block b (b itself if unique).
  size_t first_equal_block(size_t b) const {
    size_t first = b;
    sig_.for_each_candidate(sig_.weak(b), [&](uint32_t c) {
      if (std::memcmp(sig_.strong(c), sig_.strong(b), strong_len_) != 0) {
        return false;
      }
      first = c;
      return true;
    });
    return first;
  }

  void take_match(size_t block, size_t first, size_t len) {
    flush_literal();
    run_.add(win_base_ + scan_, uint64_t{block} * L_, uint64_t{first} * L_,
             len);
    scan_ += len;
    lit_start_ = scan_;
    have_weak_ = false;
    next_block_ = block + 1 < sig_.block_count() ? block + 1 : kNoBlock;
  }

  // --- output -------------------------------------------------------------

  void flush_literal() {
    const uint8_t* w = win_.get();
    while (lit_start_ < scan_) {
      const uint64_t n = std::min<uint64_t>(scan_ - lit_start_, kMaxLiteralRun);
      uint8_t cmd[kMaxCommandHeader];
      const size_t cmd_len = encode_literal_header(n, cmd);
      if (seg_.record) {
        seg_.record->push_back({false, win_base_ + lit_start_, n, 0});
      } else {
        stage(cmd, cmd_len);
        stage(w + lit_start_, n);
      }
      ++stats_->literal_cmds;
      stats_->literal_bytes += n;
      stats_->literal_cmd_bytes += cmd_len;
      lit_start_ += n;
    }
  }

  void emit_copy(const DeltaCommand& c) {
    uint8_t cmd[kMaxCommandHeader];
    const size_t cmd_len = encode_copy(c.basis_pos, c.len, cmd);
    if (seg_.record) {
      seg_.record->push_back(c);
    } else {
      stage(cmd, cmd_len);
    }
    ++stats_->copy_cmds;
    stats_->copy_bytes += c.len;
    stats_->copy_cmd_bytes += cmd_len;
  }

  // Ends the job at the current position for a splice: see DeltaSegment.
  void stop_here() {
    flush_literal();
    stopped_ = true;
    stop_out_->stopped = true;
    stop_out_->at = win_base_ + scan_;
    const DeltaCommand open = run_.finish_but_open();
    stop_out_->copy_pos = open.basis_pos;
    stop_out_->copy_len = open.len;
  }

  void stage(const uint8_t* p, size_t n) {
    if (out_off_ == out_.size()) {
      out_.clear();
      out_off_ = 0;
    }
    out_.insert(out_.end(), p, p + n);
  }

  void drain(JobBuffers& buf) {
    const size_t n = std::min(buf.avail_out, out_.size() - out_off_);
    if (n == 0) return;
    std::memcpy(buf.next_out, out_.data() + out_off_, n);
    buf.next_out += n;
    buf.avail_out -= n;
    out_off_ += n;
    stats_->out_bytes += n;
  }

  const Signature& sig_;
  Stats own_stats_;
  Stats* stats_;
  const DeltaSegment seg_;
  DeltaStop* const stop_out_;
  uint64_t win_base_;  // new-file offset of win_[0]
  const uint32_t L_;
  const size_t strong_len_;
  const StrongKind strong_kind_;
  // The most new-file bytes held at once: the longest literal run, one
  // block, and room to look ahead a few blocks (for the usual block
  // lengths). A hostile block_len costs memory only as data arrives.
  const size_t cap_;

  std::unique_ptr<uint8_t[]> win_;
  size_t win_size_ = 0;   // allocated
  size_t win_len_ = 0;    // filled
  size_t scan_ = 0;       // start of the current window
  size_t lit_start_ = 0;  // pending literal is [lit_start_, scan_)

  Weak weak_;  // weak sum of the window at scan_
  bool have_weak_ = false;
  bool checked_ = false;      // the window at scan_ was looked up, no match
  bool have_strong_ = false;  // strong_ holds the window's strong sum
  uint8_t strong_[kMaxStrongLen];

  CopyRun run_;            // the pending COPY commands of the current run
  size_t next_block_ = 0;  // the block that would extend the COPY

  std::vector<uint8_t> out_;  // staged output, drained from out_off_
  size_t out_off_ = 0;
  bool ended_ = false;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Job> new_delta_segment_job(const Signature& sig, Stats* stats,
                                           DeltaSegment seg,
                                           DeltaStop* stop_out) {
  assert(!seg.stop || stop_out);
  if (weak_kind(sig.params().magic) == WeakKind::kRabinKarp) {
    return std::make_unique<DeltaJob<RabinKarp>>(sig, stats, std::move(seg),
                                                 stop_out);
  }
  return std::make_unique<DeltaJob<Rollsum>>(sig, stats, std::move(seg),
                                             stop_out);
}

std::unique_ptr<Job> new_delta_job(const Signature& sig, Stats* stats) {
  return new_delta_segment_job(sig, stats, DeltaSegment{}, nullptr);
}

}  // namespace mirrorfs::core

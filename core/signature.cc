#include "core/signature.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdio>
#include <cstring>

#include "core/coding.h"
#include "core/strong_sum.h"
#include "core/weak_sum.h"

namespace mirrorfs::core {

// ---------------------------------------------------------------------------
// Generation

void sign_blocks(const SignatureParams& p, const uint8_t* data, size_t len,
                 uint8_t* out) {
  const WeakKind wk = weak_kind(p.magic);
  const StrongKind sk = strong_kind(p.magic);
  const size_t L = p.block_len, entry = sig_entry_len(p);
  size_t full = len / L, i = 0;
  for (; i + 4 <= full; i += 4) {
    const uint8_t* in[4];
    uint8_t* sums[4];
    for (int k = 0; k < 4; ++k) {
      in[k] = data + (i + k) * L;
      uint8_t* e = out + (i + k) * entry;
      put_be32(e, weak_sum_direct(wk, in[k], L));
      sums[k] = e + 4;
    }
    strong_sum_x4(sk, in, L, sums, p.strong_len);
  }
  for (; i * L < len; ++i) {
    const size_t n = std::min(L, len - i * L);
    uint8_t* e = out + i * entry;
    put_be32(e, weak_sum_direct(wk, data + i * L, n));
    strong_sum(sk, data + i * L, n, e + 4, p.strong_len);
  }
}

namespace {

class SignatureJob : public Job {
 public:
  SignatureJob(const SignatureParams& p, Stats* stats)
      : p_(p), stats_(stats ? stats : &own_stats_) {
    put_be32(pending_, static_cast<uint32_t>(p.magic));
    put_be32(pending_ + 4, p.block_len);
    put_be32(pending_ + 8, p.strong_len);
    pending_len_ = kSigHeaderLen;
    stats_->block_len = p.block_len;
  }

  Result<JobStep> iterate(JobBuffers& buf) override {
    const size_t L = p_.block_len, entry = sig_entry_len(p_);
    for (;;) {
      // Drain what is staged before producing more.
      if (pending_off_ < pending_len_) {
        const size_t n = std::min(buf.avail_out, pending_len_ - pending_off_);
        copy_bytes(buf.next_out, pending_ + pending_off_, n);
        buf.next_out += n;
        buf.avail_out -= n;
        pending_off_ += n;
        stats_->out_bytes += n;
        if (pending_off_ < pending_len_) return JobStep::kBlocked;
      }
      if (done_) return JobStep::kDone;
      if (partial_.empty() && buf.avail_in >= L && buf.avail_out >= entry) {
        // Whole blocks straight from the caller's buffer into its output.
        const size_t n = std::min(buf.avail_in / L, buf.avail_out / entry);
        sign_blocks(p_, buf.next_in, n * L, buf.next_out);
        consume(buf, n * L);
        buf.next_out += n * entry;
        buf.avail_out -= n * entry;
        stats_->out_bytes += n * entry;
        stats_->sig_blocks += n;
        continue;
      }
      // A block split across input buffers, or too little output space:
      // gather into partial_, stage its entry in pending_.
      const size_t take = std::min(buf.avail_in, L - partial_.size());
      partial_.insert(partial_.end(), buf.next_in, buf.next_in + take);
      consume(buf, take);
      const bool eof = buf.eof_in && buf.avail_in == 0;
      if (partial_.size() == L || (eof && !partial_.empty())) {
        sign_blocks(p_, partial_.data(), partial_.size(), pending_);
        pending_off_ = 0;
        pending_len_ = entry;
        stats_->sig_blocks += 1;
        partial_.clear();
        continue;
      }
      if (eof) {
        done_ = true;
        continue;
      }
      if (buf.avail_in == 0) return JobStep::kBlocked;
    }
  }

 private:
  void consume(JobBuffers& buf, size_t n) {
    buf.next_in += n;
    buf.avail_in -= n;
    stats_->in_bytes += n;
  }

  const SignatureParams p_;
  Stats own_stats_;
  Stats* stats_;
  uint8_t pending_[kSigHeaderLen + 4 + kMaxStrongLen];
  size_t pending_off_ = 0, pending_len_ = 0;
  std::vector<uint8_t> partial_;  // grows with input received, up to L
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Job> new_signature_job(const SignatureParams& params,
                                       Stats* stats) {
  assert(params.block_len > 0);
  assert(params.strong_len >= 1 &&
         params.strong_len <= max_strong_len(params.magic));
  return std::make_unique<SignatureJob>(params, stats);
}

// ---------------------------------------------------------------------------
// The in-memory signature and its index

Signature::Signature(const SignatureParams& params) : params_(params) {}

void Signature::reserve(size_t blocks) {
  weak_.reserve(blocks);
  strong_.reserve(blocks * params_.strong_len);
}

void Signature::add_block(uint32_t weak, const uint8_t* strong) {
  weak_.push_back(weak);
  strong_.insert(strong_.end(), strong, strong + params_.strong_len);
}

void Signature::build_index() {
  const size_t n = weak_.size();
  // Group block indices by weak sum, in block order within a group, so a
  // lookup sees the first occurrence first.
  chain_.resize(n);
  for (size_t i = 0; i < n; ++i) chain_[i] = static_cast<uint32_t>(i);
  std::stable_sort(
      chain_.begin(), chain_.end(),
      [this](uint32_t a, uint32_t b) { return weak_[a] < weak_[b]; });
  size_t distinct = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == 0 || weak_[chain_[i]] != weak_[chain_[i - 1]]) ++distinct;
  }
  // Load factor at most 1/2; the prefilter gets 64 bits per distinct sum,
  // so a random miss passes it about once in 64 lookups (16 KiB blocks of
  // a 4 GiB file: 256 KiB of filter, which stays in L2).
  const size_t slots = std::bit_ceil(std::max<size_t>(2 * distinct, 16));
  table_.assign(slots, Slot{});
  table_mask_ = slots - 1;
  const size_t words = std::bit_ceil(std::max<size_t>(distinct, 8));
  filter_.assign(words, 0);
  filter_mask_ = words - 1;
  for (size_t i = 0; i < n;) {
    const uint32_t w = weak_[chain_[i]];
    size_t j = i;
    while (j < n && weak_[chain_[j]] == w) ++j;
    const uint32_t h = mix(w);
    size_t slot = h & table_mask_;
    while (table_[slot].count != 0) slot = (slot + 1) & table_mask_;
    table_[slot] =
        Slot{w, static_cast<uint32_t>(i), static_cast<uint32_t>(j - i)};
    filter_[(h >> 6) & filter_mask_] |= uint64_t{1} << (h & 63);
    i = j;
  }
}

size_t Signature::memory_bytes() const {
  return weak_.capacity() * 4 + strong_.capacity() +
         table_.capacity() * sizeof(Slot) + chain_.capacity() * 4 +
         filter_.capacity() * 8;
}

// ---------------------------------------------------------------------------
// Loading

Result<JobStep> SignatureLoader::iterate(JobBuffers& buf) {
  if (done_) return JobStep::kDone;
  if (!sig_) {
    const size_t take = std::min(buf.avail_in, kSigHeaderLen - header_have_);
    copy_bytes(header_ + header_have_, buf.next_in, take);
    header_have_ += take;
    buf.next_in += take;
    buf.avail_in -= take;
    if (header_have_ < kSigHeaderLen) {
      if (buf.eof_in) {
        return Status::corrupt("truncated signature: header has " +
                               std::to_string(header_have_) + " of 12 bytes");
      }
      return JobStep::kBlocked;
    }
    const uint32_t magic = get_be32(header_);
    auto m = magic_from_u32(magic);
    if (!m) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", magic);
      return Status::corrupt(std::string("not a signature: bad magic ") + hex);
    }
    SignatureParams p;
    p.magic = *m;
    p.block_len = get_be32(header_ + 4);
    p.strong_len = get_be32(header_ + 8);
    if (p.block_len == 0 || p.block_len > kMaxBlockLen) {
      return Status::corrupt(
          "signature block length " + std::to_string(p.block_len) +
          " is out of range (1.." + std::to_string(kMaxBlockLen) + ")");
    }
    if (p.strong_len == 0 || p.strong_len > max_strong_len(p.magic)) {
      return Status::corrupt("signature strong sum length " +
                             std::to_string(p.strong_len) + " is invalid for " +
                             magic_name(p.magic));
    }
    sig_ = std::make_unique<Signature>(p);
  }
  const size_t entry = sig_entry_len(sig_->params());
  while (buf.avail_in > 0) {
    if (entry_have_ == 0 && buf.avail_in >= entry) {
      const size_t n = buf.avail_in / entry;
      if (sig_->block_count() + n > UINT32_MAX) {
        return Status::corrupt("signature has too many blocks");
      }
      sig_->reserve(sig_->block_count() + n);
      for (size_t i = 0; i < n; ++i) {
        sig_->add_block(get_be32(buf.next_in), buf.next_in + 4);
        buf.next_in += entry;
      }
      buf.avail_in -= n * entry;
      continue;
    }
    const size_t take = std::min(buf.avail_in, entry - entry_have_);
    copy_bytes(entry_ + entry_have_, buf.next_in, take);
    entry_have_ += take;
    buf.next_in += take;
    buf.avail_in -= take;
    if (entry_have_ == entry) {
      if (sig_->block_count() >= UINT32_MAX) {
        return Status::corrupt("signature has too many blocks");
      }
      sig_->add_block(get_be32(entry_), entry_ + 4);
      entry_have_ = 0;
    }
  }
  if (!buf.eof_in) return JobStep::kBlocked;
  if (entry_have_ != 0) {
    return Status::corrupt("truncated signature: last entry has " +
                           std::to_string(entry_have_) + " of " +
                           std::to_string(entry) + " bytes");
  }
  sig_->build_index();
  done_ = true;
  return JobStep::kDone;
}

std::unique_ptr<Signature> SignatureLoader::take() {
  assert(done_);
  return std::move(sig_);
}

Result<std::unique_ptr<Signature>> load_signature(
    std::span<const uint8_t> data) {
  SignatureLoader loader;
  JobBuffers buf;
  buf.next_in = data.data();
  buf.avail_in = data.size();
  buf.eof_in = true;
  Result<JobStep> r = loader.iterate(buf);
  if (!r.is_ok()) return r.status();
  assert(*r == JobStep::kDone);
  return loader.take();
}

}  // namespace mirrorfs::core

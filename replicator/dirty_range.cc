#include "replicator/dirty_range.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/coding.h"
#include "core/delta_encoder.h"
#include "core/signature.h"
#include "db/attr_payload.h"

namespace mirrorfs::replicator {
namespace {

constexpr uint64_t kLeaf = core::kContentLeafLen;

Ranges merged(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (const auto& [a, b] : r) {
    if (a >= b) continue;
    if (!out.empty() && a <= out.back().second) {
      out.back().second = std::max(out.back().second, b);
    } else {
      out.emplace_back(a, b);
    }
  }
  return out;
}

uint64_t units(uint64_t size, uint64_t unit) { return size / unit + (size % unit != 0); }

// Which units (leaves or signature blocks) of the new version must be
// recomputed: those the changed ranges touch, and the last one when the
// size moved (a partial last unit differs even where no byte did).
std::vector<bool> units_to_redo(const Ranges& changed, uint64_t unit, uint64_t old_size,
                                uint64_t new_size) {
  std::vector<bool> need(units(new_size, unit));
  for (const auto& [a, b] : changed) {
    for (uint64_t i = a / unit; i <= (b - 1) / unit; ++i) need[i] = true;
  }
  if (old_size != new_size && !need.empty()) need.back() = true;
  return need;
}

void add_unit_ranges(const std::vector<bool>& need, uint64_t unit, uint64_t size, Ranges* out) {
  for (uint64_t i = 0; i < need.size(); ++i) {
    if (need[i]) out->emplace_back(i * unit, std::min((i + 1) * unit, size));
  }
}

// The delta stream of one update, in FileData frames of at most
// wire::kMaxChunk bytes.
class DeltaOut {
 public:
  DeltaOut(const MessageSink& send, uint64_t request_id) : send_(send), id_(request_id) {
    buf_.reserve(wire::kMaxChunk);
  }

  Status magic() {
    uint8_t m[4];
    put_be32(m, core::kDeltaMagic);
    return append(m, sizeof m);
  }
  Status copy(uint64_t pos, uint64_t len) {
    uint8_t cmd[core::kMaxCommandHeader];
    return append(cmd, core::encode_copy(pos, len, cmd));
  }
  Status literal(const uint8_t* data, uint64_t len) {
    while (len > 0) {
      const uint64_t n = std::min(len, core::kMaxLiteralRun);
      uint8_t cmd[core::kMaxCommandHeader];
      MIRRORFS_RETURN_IF_ERROR(append(cmd, core::encode_literal_header(n, cmd)));
      MIRRORFS_RETURN_IF_ERROR(append(data, n));
      data += n;
      len -= n;
    }
    return Status::ok();
  }
  Status end() {
    const uint8_t e = core::kOpEnd;
    MIRRORFS_RETURN_IF_ERROR(append(&e, 1));
    return flush();
  }

 private:
  Status append(const uint8_t* p, size_t n) {
    while (n > 0) {
      const size_t take = std::min(n, wire::kMaxChunk - buf_.size());
      buf_.insert(buf_.end(), p, p + take);
      p += take;
      n -= take;
      if (buf_.size() == wire::kMaxChunk) MIRRORFS_RETURN_IF_ERROR(flush());
    }
    return Status::ok();
  }
  Status flush() {
    if (buf_.empty()) return Status::ok();
    wire::Message d{id_, wire::FileData{std::move(buf_)}};
    buf_ = {};
    buf_.reserve(wire::kMaxChunk);
    return send_(d);
  }

  const MessageSink& send_;
  uint64_t id_;
  std::vector<uint8_t> buf_;
};

// The header of a cached signature, checked against the size it claims
// to sign; nullopt when they disagree (the cache is then not used).
std::optional<core::SignatureParams> signature_shape(const KnownVersion& v) {
  const std::vector<uint8_t>& s = v.signature;
  if (s.size() < core::kSigHeaderLen) return std::nullopt;
  const std::optional<core::SigMagic> magic = core::magic_from_u32(get_be32(s.data()));
  if (!magic) return std::nullopt;
  core::SignatureParams p;
  p.magic = *magic;
  p.block_len = get_be32(s.data() + 4);
  p.strong_len = get_be32(s.data() + 8);
  if (p.block_len == 0 || p.block_len > core::kMaxBlockLen || p.strong_len == 0 ||
      p.strong_len > core::max_strong_len(p.magic)) {
    return std::nullopt;
  }
  const uint64_t entry = 4 + p.strong_len;
  if (s.size() != core::kSigHeaderLen + units(v.size, p.block_len) * entry) return std::nullopt;
  if (v.leaves.size() != units(v.size, kLeaf)) return std::nullopt;
  return p;
}

bool catalog_agrees(const db::FileAttrs& e, const struct stat& st) {
  return e.backing_ino == st.st_ino && e.size == static_cast<uint64_t>(st.st_size) &&
         e.mtime_ns == db::ns_of(st.st_mtim) && e.ctime_ns == db::ns_of(st.st_ctim);
}

Status read_fully(int fd, uint8_t* buf, uint64_t off, size_t n, bool* short_read) {
  size_t have = 0;
  while (have < n) {
    const ssize_t r = ::pread(fd, buf + have, n - have, static_cast<off_t>(off + have));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "read");
    }
    if (r == 0) {
      *short_read = true;
      return Status::ok();
    }
    have += static_cast<size_t>(r);
  }
  return Status::ok();
}

core::ContentHash leaf_digest(const uint8_t* data, size_t len) {
  core::ContentHasher h;
  h.update(data, len);
  h.finish();
  return h.leaves().front();
}

}  // namespace

Ranges changed_ranges(const std::vector<std::pair<uint64_t, uint64_t>>& extents,
                      uint64_t min_truncate, uint64_t old_size, uint64_t new_size) {
  Ranges r;
  for (const auto& [off, len] : extents) {
    if (len == 0 || off >= new_size) continue;
    r.emplace_back(off, len > new_size - off ? new_size : off + len);
  }
  const uint64_t tail = std::min(old_size, min_truncate);
  if (tail < new_size) r.emplace_back(tail, new_size);
  return merged(std::move(r));
}

bool signature_carries(const core::SignatureParams& have, uint64_t new_size) {
  const uint64_t want = mirror_signature_params(new_size).block_len;
  return uint64_t{have.block_len} <= 2 * want && want <= 2 * uint64_t{have.block_len};
}

Result<ContentResult> send_dirty_range(const MessageSink& send, const SendContentArgs& args,
                                       const KnownVersion& old, const DirtyRange& dirty) {
  ContentResult result;
  result.outcome = ContentResult::Outcome::kNotApplicable;
  const std::optional<core::SignatureParams> params = signature_shape(old);
  if (!params) return result;
  struct stat before;
  MIRRORFS_ASSIGN_OR_RETURN(fd, open_backing_file(args.backing_dir_fd, args.backing_path, &before));
  if (fd.get() < 0) {
    result.outcome = ContentResult::Outcome::kVanished;
    return result;
  }
  if (!catalog_agrees(dirty.expected, before)) return result;
  const uint64_t new_size = static_cast<uint64_t>(before.st_size);
  if (!signature_carries(*params, new_size)) return result;
  const Ranges changed = changed_ranges(dirty.extents, dirty.min_truncate, old.size, new_size);
  uint64_t literal = 0;
  for (const auto& [a, b] : changed) literal += b - a;
  if (literal > new_size / 4) return result;

  const uint64_t block = params->block_len, entry = 4 + params->strong_len;
  const std::vector<bool> redo_leaf = units_to_redo(changed, kLeaf, old.size, new_size);
  const std::vector<bool> redo_block = units_to_redo(changed, block, old.size, new_size);
  Ranges reads;
  add_unit_ranges(redo_leaf, kLeaf, new_size, &reads);
  add_unit_ranges(redo_block, block, new_size, &reads);
  reads = merged(std::move(reads));

  // What stays: the old leaf digests and signature entries, cut or
  // extended to the new size; the units read below are overwritten.
  result.leaves = old.leaves;
  result.leaves.resize(redo_leaf.size());
  result.signature.assign(old.signature.begin(),
                          old.signature.begin() +
                              static_cast<ptrdiff_t>(core::kSigHeaderLen +
                                                     std::min(redo_block.size(), units(old.size, block)) * entry));
  result.signature.resize(core::kSigHeaderLen + redo_block.size() * entry);

  wire::Message begin = file_begin(args, new_size);
  wire::FileBegin& fb = std::get<wire::FileBegin>(begin.body);
  fb.has_basis = true;
  fb.basis_path = args.mirror_path;
  fb.basis_hash = old.hash;
  fb.flags = wire::kFileInPlace;
  fb.literal_bytes = literal;
  MIRRORFS_RETURN_IF_ERROR(send(begin));
  auto abort = [&](ContentResult::Outcome why) -> Result<ContentResult> {
    MIRRORFS_RETURN_IF_ERROR(send(wire::Message{args.request_id, wire::FileAbort{}}));
    result.outcome = why;
    return result;
  };

  DeltaOut out(send, args.request_id);
  MIRRORFS_RETURN_IF_ERROR(out.magic());
  std::vector<uint8_t> buf(kLeaf), partial;  // partial: a block across reads
  uint64_t emitted = 0;  // the delta describes the new version up to here
  size_t next_change = 0;
  for (const auto& [a, b] : reads) {
    for (uint64_t p = a; p < b;) {
      // One read never crosses a leaf boundary: a leaf to redo is read whole.
      const uint64_t n = std::min(b, (p / kLeaf + 1) * kLeaf) - p;
      bool short_read = false;
      const Status rs = read_fully(fd.get(), buf.data(), p, n, &short_read);
      if (!rs.is_ok()) {
        (void)abort(ContentResult::Outcome::kUnstable);
        return Status(rs.code(), rs.message() + " " + args.backing_path);
      }
      if (short_read) return abort(ContentResult::Outcome::kUnstable);
      if (redo_leaf[p / kLeaf]) result.leaves[p / kLeaf] = leaf_digest(buf.data(), n);
      for (uint64_t j = p / block; j * block < p + n; ++j) {
        if (!redo_block[j]) continue;
        const uint64_t bs = j * block, be = std::min(bs + block, new_size);
        const uint64_t s = std::max(bs, p), t = std::min(be, p + n);
        partial.insert(partial.end(), buf.data() + (s - p), buf.data() + (t - p));
        if (t == be) {
          core::sign_blocks(*params, partial.data(), partial.size(),
                            result.signature.data() + core::kSigHeaderLen + j * entry);
          partial.clear();
        }
      }
      for (; next_change < changed.size() && changed[next_change].first < p + n; ++next_change) {
        const uint64_t s = std::max(changed[next_change].first, p);
        const uint64_t t = std::min(changed[next_change].second, p + n);
        if (s > emitted) MIRRORFS_RETURN_IF_ERROR(out.copy(emitted, s - emitted));
        MIRRORFS_RETURN_IF_ERROR(out.literal(buf.data() + (s - p), t - s));
        emitted = t;
        if (changed[next_change].second > p + n) break;  // goes on in the next read
      }
      p += n;
    }
  }
  if (emitted < new_size) MIRRORFS_RETURN_IF_ERROR(out.copy(emitted, new_size - emitted));
  MIRRORFS_RETURN_IF_ERROR(out.end());

  struct stat after;
  if (::fstat(fd.get(), &after) != 0) return Status::from_errno(errno, "stat " + args.backing_path);
  if (!same_version(before, after)) return abort(ContentResult::Outcome::kUnstable);
  result.outcome = ContentResult::Outcome::kSent;
  result.size = new_size;
  result.hash = core::content_hash_from_leaves(result.leaves, new_size);
  result.delta.literal_bytes = literal;
  result.delta.copy_bytes = new_size - literal;
  MIRRORFS_RETURN_IF_ERROR(send(file_end(args, result.hash, after)));
  return result;
}

}  // namespace mirrorfs::replicator

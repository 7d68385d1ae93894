// Fixture of the in-place tests: small thresholds (1 MiB files qualify,
// literals spill to the state directory past 64 KiB), a crash hook the
// test arms, and dirty-range deltas made by hand.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/replicator/mirror/mirror_fixture.h"

namespace mirrorfs::replicator::mirror::testing {

using Step = ApplierOptions::InPlaceStep;
using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;  // [at, at+len)
inline constexpr uint64_t kMiB = 1u << 20;

// The dirty-range delta that makes `now` from `old`: LITERALs for the
// given ranges and for everything past old's size, identity COPYs for the
// rest.
inline Bytes dirty_delta(const Bytes& old, const Bytes& now, Ranges lits) {
  std::vector<Cmd> cmds;
  uint64_t pos = 0;
  if (now.size() > old.size()) lits.push_back({old.size(), now.size() - old.size()});
  auto literal = [&](uint64_t at, uint64_t len) {
    cmds.push_back({false, 0, 0, Bytes(now.begin() + at, now.begin() + at + len)});
  };
  for (const auto& [at, len] : lits) {
    if (at > pos) cmds.push_back({true, pos, at - pos, {}});
    literal(at, len);
    pos = at + len;
  }
  if (now.size() > pos) cmds.push_back({true, pos, now.size() - pos, {}});
  return make_delta(cmds);
}

class InPlaceTest : public MirrorTest {
 protected:
  ApplierOptions options() const override {
    ApplierOptions o;
    o.in_place_min_size = kMiB;
    o.in_place_memory = 64u << 10;
    o.crash_at = [this](Step s) { return crash_ && *crash_ == s; };
    return o;
  }
  // Writes `data` at rel and lets the mirror learn its leaves (signature).
  void seed(const std::string& rel, const Bytes& data) {
    write_file(rel, data);
    auto sig = applier_->signature(
        rel, [](std::span<const uint8_t>) { return Status::ok(); });
    ASSERT_TRUE(sig.is_ok()) << sig.status().to_string();
  }
  wire::FileBegin begin_of(const std::string& rel, const Bytes& old,
                           const Bytes& now, uint64_t literal_bytes) {
    wire::FileBegin fb;
    fb.seq = ++seq_;
    fb.path = fb.basis_path = rel;
    fb.has_basis = true;
    fb.basis_hash = hash_of(old);
    fb.new_size = now.size();
    fb.flags = wire::kFileInPlace;
    fb.literal_bytes = literal_bytes;
    return fb;
  }
  // One update: begin (in place when it qualifies), the delta in 64 KiB
  // pieces, finish with `new_hash` (now's hash when not given). The first
  // error is returned.
  Status update(const std::string& rel, const Bytes& old, const Bytes& now,
                const Bytes& delta, uint64_t literal_bytes,
                std::optional<wire::Hash> new_hash = std::nullopt) {
    auto r = applier_->begin_file(kClient, begin_of(rel, old, now, literal_bytes));
    if (!r.is_ok()) return r.status();
    if (!r->writer) return Status::internal("basis mismatch");
    for (size_t at = 0; at < delta.size(); at += 65536) {
      const size_t n = std::min<size_t>(65536, delta.size() - at);
      MIRRORFS_RETURN_IF_ERROR(r->writer->write({delta.data() + at, n}));
    }
    wire::FileEnd end;
    end.new_hash = new_hash ? *new_hash : hash_of(now);
    return r->writer->finish(end);
  }
  Status update(const std::string& rel, const Bytes& old, const Bytes& now,
                const Ranges& lits) {
    uint64_t n = now.size() > old.size() ? now.size() - old.size() : 0;
    for (const auto& r : lits) n += r.second;
    return update(rel, old, now, dirty_delta(old, now, lits), n);
  }
  // Undo logs (and anything else but mirror.db*) in the state directory.
  std::vector<std::string> state_files() const {
    std::vector<std::string> out;
    DIR* d = ::opendir(state_.c_str());
    while (const dirent* e = d ? ::readdir(d) : nullptr) {
      const std::string n = e->d_name;
      if (n != "." && n != ".." && n.rfind("mirror.db", 0) != 0) out.push_back(n);
    }
    if (d) ::closedir(d);
    return out;
  }
  std::optional<Step> crash_;
};

}  // namespace mirrorfs::replicator::mirror::testing

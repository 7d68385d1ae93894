// The dirty-range strategy against the reference: the delta it sends
// patches the old version into exactly the new one, and the hash, leaves
// and signature it derives from the changed ranges alone equal those of a
// full read of the new version.
#include "replicator/dirty_range.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "core/coding.h"
#include "core/whole_file.h"
#include "db/attr_payload.h"

namespace mirrorfs::replicator {
namespace {

using Bytes = std::vector<uint8_t>;
using Extents = std::vector<std::pair<uint64_t, uint64_t>>;

core::UniqueFd memfd_with(const Bytes& data) {
  core::UniqueFd fd(::memfd_create("t", 0));
  EXPECT_EQ(::pwrite(fd.get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  return fd;
}

Bytes read_all(int fd) {
  Bytes out(static_cast<size_t>(::lseek(fd, 0, SEEK_END)));
  EXPECT_EQ(::pread(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  return out;
}

Bytes signature_of(const Bytes& data, const core::SignatureRequest& req) {
  core::UniqueFd in = memfd_with(data), out(::memfd_create("s", 0));
  EXPECT_TRUE(core::signature_fd(in.get(), out.get(), req).is_ok());
  return read_all(out.get());
}

core::SignatureRequest request_for(const Bytes& old_sig) {
  core::SignatureRequest req;
  req.block_len = get_be32(old_sig.data() + 4);
  req.strong_len = static_cast<int>(get_be32(old_sig.data() + 8));
  return req;
}

KnownVersion known(const Bytes& data) {
  KnownVersion v;
  core::ContentHasher h;
  h.update(data.data(), data.size());
  v.hash = h.finish();
  v.leaves = h.leaves();
  v.size = data.size();
  v.signature = signature_of(data, core::SignatureRequest{});
  return v;
}

class DirtyRangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dirty_range_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    dir_fd_ = core::UniqueFd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `now` as BACKING's file "f" and sends it against `old` with
  // the journal's view of what changed.
  Result<ContentResult> send(const Bytes& old, const Bytes& now, const Extents& extents,
                             uint64_t min_truncate, int64_t skew_mtime = 0) {
    const std::string path = (dir_ / "f").string();
    core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    EXPECT_EQ(::write(fd.get(), now.data(), now.size()), static_cast<ssize_t>(now.size()));
    struct stat st;
    ::fstat(fd.get(), &st);
    DirtyRange dirty;
    dirty.extents = extents;
    dirty.min_truncate = min_truncate;
    dirty.expected.size = static_cast<uint64_t>(st.st_size);
    dirty.expected.mtime_ns = db::ns_of(st.st_mtim) + skew_mtime;
    dirty.expected.ctime_ns = db::ns_of(st.st_ctim);
    dirty.expected.backing_ino = st.st_ino;
    SendContentArgs args;
    args.request_id = 7;
    args.seq = 3;
    args.mirror_path = "f";
    args.backing_dir_fd = dir_fd_.get();
    args.backing_path = "f";
    sent_.clear();
    const MessageSink sink = [this](const wire::Message& m) {
      sent_.push_back(m);
      return Status::ok();
    };
    old_ = known(old);
    return send_dirty_range(sink, args, old_, dirty);
  }

  // Checks what was sent and derived against a full read of `now`.
  void expect_matches(const Bytes& old, const Bytes& now, const ContentResult& r) {
    ASSERT_EQ(r.outcome, ContentResult::Outcome::kSent);
    ASSERT_GE(sent_.size(), 3u);
    const auto* begin = std::get_if<wire::FileBegin>(&sent_.front().body);
    ASSERT_NE(begin, nullptr);
    EXPECT_EQ(begin->flags, wire::kFileInPlace);
    EXPECT_TRUE(begin->has_basis);
    EXPECT_EQ(begin->basis_path, "f");
    EXPECT_EQ(begin->basis_hash, old_.hash);
    EXPECT_EQ(begin->new_size, now.size());
    EXPECT_EQ(begin->literal_bytes, r.delta.literal_bytes);
    Bytes delta;
    for (size_t i = 1; i + 1 < sent_.size(); ++i) {
      const auto& d = std::get<wire::FileData>(sent_[i].body);
      EXPECT_LE(d.bytes.size(), wire::kMaxChunk);
      delta.insert(delta.end(), d.bytes.begin(), d.bytes.end());
    }
    const auto* end = std::get_if<wire::FileEnd>(&sent_.back().body);
    ASSERT_NE(end, nullptr);
    core::UniqueFd basis = memfd_with(old), dfd = memfd_with(delta), out(::memfd_create("o", 0));
    ::lseek(dfd.get(), 0, SEEK_SET);
    ASSERT_TRUE(core::patch_fd(basis.get(), dfd.get(), out.get()).is_ok());
    EXPECT_TRUE(read_all(out.get()) == now) << "the delta does not rebuild the new version";
    const KnownVersion full = known(now);
    EXPECT_EQ(end->new_hash, full.hash);
    EXPECT_EQ(r.hash, full.hash);
    EXPECT_EQ(r.leaves, full.leaves);
    EXPECT_EQ(r.size, now.size());
    EXPECT_TRUE(r.signature == signature_of(now, request_for(old_.signature)))
        << "the carried signature differs from one made by a full read";
  }

  std::filesystem::path dir_;
  core::UniqueFd dir_fd_;
  std::vector<wire::Message> sent_;
  KnownVersion old_;
};

Bytes random_bytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

TEST(ChangedRangesTest, MergesClipsAndAddsWhatATruncateOrGrowthExposed) {
  EXPECT_EQ(changed_ranges({{10, 5}, {12, 10}, {40, 2}}, UINT64_MAX, 100, 100),
            (Ranges{{10, 22}, {40, 42}}));
  EXPECT_EQ(changed_ranges({{90, 20}}, UINT64_MAX, 100, 95), (Ranges{{90, 95}}));
  EXPECT_EQ(changed_ranges({{200, 5}}, UINT64_MAX, 100, 100), Ranges{});
  EXPECT_EQ(changed_ranges({}, 30, 100, 100), (Ranges{{30, 100}}));  // cut, regrown
  EXPECT_EQ(changed_ranges({{0, 1}}, UINT64_MAX, 100, 150), (Ranges{{0, 1}, {100, 150}}));
  EXPECT_EQ(changed_ranges({{5, UINT64_MAX}}, UINT64_MAX, 100, 100), (Ranges{{5, 100}}));
}

TEST(SignatureCarriesTest, WithinAFactorOfTwoOfTheChosenBlockLength) {
  const core::SignatureParams p = mirror_signature_params(64u << 20);
  EXPECT_TRUE(signature_carries(p, 64u << 20));
  EXPECT_TRUE(signature_carries(p, 100u << 20));
  EXPECT_FALSE(signature_carries(p, 1ull << 30));
  EXPECT_FALSE(signature_carries(p, 1u << 20));
}

TEST_F(DirtyRangeTest, ScatteredWritesAreLiteralsAndEverythingElseCopies) {
  std::mt19937_64 rng(1);
  const Bytes old = random_bytes(rng, (5u << 20) + 333);
  Bytes now = old;
  Extents ex;
  for (uint64_t off : {uint64_t{0}, uint64_t{1u << 20} - 100, uint64_t{3000000},
                       uint64_t{now.size() - 10}}) {
    const uint64_t len = std::min<uint64_t>(4096, now.size() - off);
    for (uint64_t i = 0; i < len; ++i) now[off + i] ^= 0x5a;
    ex.emplace_back(off, len);
  }
  Result<ContentResult> r = send(old, now, ex, UINT64_MAX);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_matches(old, now, *r);
  EXPECT_EQ(r->delta.literal_bytes, 3 * 4096u + 10);
}

TEST_F(DirtyRangeTest, RandomHistoriesRebuildExactly) {
  int checked = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const Bytes old = random_bytes(rng, rng() % (4u << 20) + 1);
    Bytes now = old;
    Extents ex;
    uint64_t min_truncate = UINT64_MAX;
    const int ops = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < ops; ++k) {
      switch (rng() % 4) {
        case 0:
        case 1: {  // a write, maybe past the end
          const uint64_t off = rng() % (now.size() + 4096);
          const uint64_t len = 1 + rng() % 9000;
          if (off + len > now.size()) now.resize(off + len);
          for (uint64_t i = 0; i < len; ++i) now[off + i] = static_cast<uint8_t>(rng());
          ex.emplace_back(off, len);
          break;
        }
        case 2: {  // a truncate, down or up
          const uint64_t to = now.size() - std::min<uint64_t>(now.size(), rng() % 70000) +
                              (rng() % 2) * (rng() % 5000);
          now.resize(to);
          min_truncate = std::min(min_truncate, to);
          break;
        }
        default:  // an append
          ex.emplace_back(now.size(), 1 + rng() % 20000);
          now.resize(now.size() + ex.back().second, 0x61);
      }
    }
    Result<ContentResult> r = send(old, now, ex, min_truncate);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    if (r->outcome == ContentResult::Outcome::kNotApplicable) {
      // Only when a quarter or more changed, or the block length moved.
      const Ranges c = changed_ranges(ex, min_truncate, old.size(), now.size());
      uint64_t lit = 0;
      for (const auto& [a, b] : c) lit += b - a;
      const core::SignatureParams had = mirror_signature_params(old.size());
      EXPECT_TRUE(lit > now.size() / 4 || !signature_carries(had, now.size()));
      EXPECT_TRUE(sent_.empty());
      continue;
    }
    expect_matches(old, now, *r);
    ++checked;
  }
  EXPECT_GE(checked, 20) << "too few histories took the dirty-range path to mean much";
}

TEST_F(DirtyRangeTest, AFileTruncatedToNothingIsAnEmptyVersion) {
  std::mt19937_64 rng(2);
  const Bytes old = random_bytes(rng, 300000);
  Result<ContentResult> r = send(old, {}, {}, 0);
  ASSERT_TRUE(r.is_ok());
  expect_matches(old, {}, *r);
}

TEST_F(DirtyRangeTest, AFileNotAsTheCatalogSaysIsLeftToAFullRead) {
  std::mt19937_64 rng(3);
  const Bytes old = random_bytes(rng, 1u << 20);
  Bytes now = old;
  now[5] ^= 1;
  Result<ContentResult> r = send(old, now, {{5, 1}}, UINT64_MAX, /*skew_mtime=*/1);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->outcome, ContentResult::Outcome::kNotApplicable);
  EXPECT_TRUE(sent_.empty());
}

TEST_F(DirtyRangeTest, AMostlyRewrittenFileIsLeftToARollingDelta) {
  std::mt19937_64 rng(4);
  const Bytes old = random_bytes(rng, 1u << 20);
  const Bytes now = random_bytes(rng, 1u << 20);
  Result<ContentResult> r = send(old, now, {{0, now.size()}}, 0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->outcome, ContentResult::Outcome::kNotApplicable);
}

TEST_F(DirtyRangeTest, AnInconsistentCachedVersionIsNotUsed) {
  std::mt19937_64 rng(5);
  const Bytes old = random_bytes(rng, 1u << 20);
  Bytes now = old;
  now[9] ^= 1;
  const std::string path = (dir_ / "f").string();
  {
    core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ASSERT_EQ(::write(fd.get(), now.data(), now.size()), static_cast<ssize_t>(now.size()));
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  DirtyRange dirty;
  dirty.extents = {{9, 1}};
  dirty.expected = {db::FileKind::kFile, now.size(), 0, 0, 0, db::ns_of(st.st_mtim),
                    db::ns_of(st.st_ctim), st.st_ino, {}, {}};
  SendContentArgs args;
  args.mirror_path = args.backing_path = "f";
  args.backing_dir_fd = dir_fd_.get();
  const MessageSink sink = [](const wire::Message&) { return Status::ok(); };
  KnownVersion v = known(old);
  v.leaves.pop_back();  // fewer leaves than the size needs
  Result<ContentResult> r = send_dirty_range(sink, args, v, dirty);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->outcome, ContentResult::Outcome::kNotApplicable);
  v = known(old);
  v.signature.resize(v.signature.size() - 1);  // a torn signature
  r = send_dirty_range(sink, args, v, dirty);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->outcome, ContentResult::Outcome::kNotApplicable);
}

}  // namespace
}  // namespace mirrorfs::replicator

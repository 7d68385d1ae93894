#include "tests/replicator/mirror/mirror_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/coding.h"
#include "core/delta.h"
#include "core/delta_encoder.h"
#include "core/signature.h"
#include "tests/support/drive.h"

namespace mirrorfs::replicator::mirror::testing {

Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

Bytes random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

wire::Hash hash_of(const Bytes& data) {
  return core::content_hash(data.data(), data.size());
}

Bytes delta_of(const Bytes& basis, const Bytes& target) {
  auto params = core::resolve_signature_params({}, basis.size());
  EXPECT_TRUE(params.is_ok());
  auto sig_job = core::new_signature_job(*params, nullptr);
  auto sig_bytes = mirrorfs::testing::run_job(*sig_job, basis);
  EXPECT_TRUE(sig_bytes.is_ok());
  auto sig = core::load_signature(*sig_bytes);
  EXPECT_TRUE(sig.is_ok());
  auto delta_job = core::new_delta_job(**sig, nullptr);
  auto delta = mirrorfs::testing::run_job(*delta_job, target);
  EXPECT_TRUE(delta.is_ok()) << delta.status().to_string();
  return *delta;
}

Bytes make_delta(const std::vector<Cmd>& cmds, bool end) {
  Bytes out(4);
  put_be(out.data(), core::kDeltaMagic, 4);
  uint8_t hdr[core::kMaxCommandHeader];
  for (const Cmd& c : cmds) {
    const size_t n = c.copy
                         ? core::encode_copy(c.pos, c.len, hdr)
                         : core::encode_literal_header(c.literal.size(), hdr);
    out.insert(out.end(), hdr, hdr + n);
    out.insert(out.end(), c.literal.begin(), c.literal.end());
  }
  if (end) out.push_back(core::kOpEnd);
  return out;
}

void MirrorTest::SetUp() {
  char tmpl[] = "/tmp/mirrorfs_mirror_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  base_ = tmpl;
  root_ = base_ + "/root";
  state_ = base_ + "/state";
  outside_ = base_ + "/outside";
  ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((outside_ + "/sub").c_str(), 0700), 0);
  {
    std::ofstream f(outside_ + "/secret");
    f << "sentinel\n";
  }
  ASSERT_EQ(
      ::setxattr((outside_ + "/secret").c_str(), "user.sentinel", "1", 1, 0),
      0);
  // Old, exact times: a change by any call would show.
  const timespec ts[2] = {{1000000000, 111}, {1000000000, 222}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (outside_ + "/secret").c_str(), ts, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (outside_ + "/sub").c_str(), ts, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, outside_.c_str(), ts, 0), 0);
  outside_before_ = snapshot_outside();
  reopen();
}

void MirrorTest::TearDown() {
  applier_.reset();
  EXPECT_TRUE(snapshot_outside() == outside_before_)
      << "something outside ROOT changed";
  std::error_code ec;
  std::filesystem::remove_all(base_, ec);
}

void MirrorTest::reopen() {
  applier_.reset();
  auto a = Applier::open(root_, state_, options());
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  applier_ = std::move(*a);
}

std::map<std::string, MirrorTest::Node> MirrorTest::snapshot_outside() const {
  std::map<std::string, Node> out;
  std::vector<std::string> todo = {""};
  while (!todo.empty()) {
    const std::string rel = todo.back();
    todo.pop_back();
    const std::string p = outside_ + (rel.empty() ? "" : "/" + rel);
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    Node n;
    n.mode = st.st_mode;
    n.uid = st.st_uid;
    n.gid = st.st_gid;
    n.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    char names[4096];
    const ssize_t len = ::llistxattr(p.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < len;) {
      const std::string name(names + i);
      char v[256];
      const ssize_t vl = ::lgetxattr(p.c_str(), name.c_str(), v, sizeof v);
      n.xattrs[name] = std::string(v, vl > 0 ? static_cast<size_t>(vl) : 0);
      i += static_cast<ssize_t>(name.size()) + 1;
    }
    if (S_ISDIR(st.st_mode)) {
      n.kind = "dir";
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        const std::string name = e.path().filename();
        n.content += name + "\n";
        todo.push_back(rel.empty() ? name : rel + "/" + name);
      }
    } else if (S_ISREG(st.st_mode)) {
      n.kind = "file";
      std::ifstream f(p, std::ios::binary);
      n.content.assign(std::istreambuf_iterator<char>(f), {});
    } else {
      n.kind = "other";
    }
    out[rel] = n;
  }
  return out;
}

void MirrorTest::write_file(const std::string& rel, const Bytes& data) {
  std::ofstream f(root_path(rel), std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()),
          static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(f.good()) << rel;
}

Bytes MirrorTest::read_file(const std::string& rel) const {
  std::ifstream f(root_path(rel), std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

bool MirrorTest::exists(const std::string& rel) const {
  struct stat st;
  return ::lstat(root_path(rel).c_str(), &st) == 0;
}

struct stat MirrorTest::lstat_of(const std::string& rel) const {
  struct stat st {};
  EXPECT_EQ(::lstat(root_path(rel).c_str(), &st), 0) << rel;
  return st;
}

std::vector<std::string> MirrorTest::list(const std::string& rel) const {
  std::vector<std::string> names;
  DIR* d = ::opendir(rel.empty() ? root_.c_str() : root_path(rel).c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string MirrorTest::xattr(const std::string& rel,
                              const std::string& name) const {
  char v[1024];
  const ssize_t n =
      ::lgetxattr(root_path(rel).c_str(), name.c_str(), v, sizeof v);
  return n < 0 ? "<none>" : std::string(v, static_cast<size_t>(n));
}

wire::EntryOp MirrorTest::op(wire::Type type, const std::string& path,
                             const std::string& path2) {
  wire::EntryOp o;
  o.type = type;
  o.seq = ++seq_;
  o.path = path;
  o.path2 = path2;
  return o;
}

Result<BeginResult> MirrorTest::begin_file(const std::string& path,
                                           uint64_t new_size,
                                           const std::string& basis_path,
                                           const wire::Hash& basis_hash) {
  wire::FileBegin fb;
  fb.seq = ++seq_;
  fb.path = path;
  fb.new_size = new_size;
  fb.has_basis = !basis_path.empty();
  fb.basis_path = basis_path;
  fb.basis_hash = basis_hash;
  return applier_->begin_file(kClient, fb);
}

Status MirrorTest::put_content(const std::string& path, const Bytes& data,
                               const Bytes* basis,
                               const std::string& basis_path,
                               const wire::Attrs& attrs,
                               const std::vector<std::string>& links,
                               size_t piece) {
  auto begun = begin_file(path, data.size(),
                          basis ? (basis_path.empty() ? path : basis_path) : "",
                          basis ? hash_of(*basis) : wire::Hash{});
  if (!begun.is_ok()) return begun.status();
  if (begun->mismatch) return Status::internal("basis mismatch");
  const Bytes delta = delta_of(basis ? *basis : Bytes{}, data);
  for (size_t at = 0; at < delta.size(); at += piece) {
    const size_t n = std::min(piece, delta.size() - at);
    MIRRORFS_RETURN_IF_ERROR(begun->writer->write({delta.data() + at, n}));
  }
  wire::FileEnd end;
  end.new_hash = hash_of(data);
  end.attrs = attrs;
  end.links = links;
  return begun->writer->finish(end);
}

}  // namespace mirrorfs::replicator::mirror::testing

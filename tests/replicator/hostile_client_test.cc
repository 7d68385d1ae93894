// Security (issue 5, point 3): a client holding an ALLOWED key, over real
// TLS against a real `serve`, sends what a hostile or broken replicator
// could: `..` and absolute paths, paths through a symlink planted in ROOT
// that points outside it, a COPY outside the basis, an oversized frame, a
// zstd bomb. Each is refused as docs/protocol.md says (Error, and for a
// frame the codec refuses, Error id 0 then the connection closes); the
// daemon lives on and serves a good client afterwards; a sentinel
// directory beside ROOT is byte for byte as before.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/coding.h"
#include "core/content_hash.h"
#include "core/delta_format.h"
#include "replicator/wire/codec.h"
#include "tests/fs/journal_replay.h"
#include "tests/replicator/raw_client.h"
#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

namespace stdfs = std::filesystem;
using fs::testing::compare_trees;
using wire::Type;

// Everything under dir: path -> type, mode, size, mtime, content or target.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::vector<std::string> paths = {dir};
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) paths.push_back(e.path());
  for (const std::string& p : paths) {
    struct stat st;
    ::lstat(p.c_str(), &st);
    std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      std::string s(static_cast<size_t>(st.st_size), '\0');
      const int fd = ::open(p.c_str(), O_RDONLY);
      if (::read(fd, s.data(), s.size()) != st.st_size) s = "<unreadable>";
      ::close(fd);
      v += " " + s;
    }
    out[p] = v;
  }
  return out;
}

wire::EntryOp op(Type t, const std::string& path, const std::string& path2 = "") {
  wire::EntryOp o;
  o.type = t;
  o.seq = 1;
  o.path = path;
  o.path2 = path2;
  if (t == Type::kMkdir || t == Type::kSymlink || t == Type::kSetattr) {
    o.attrs.valid = 1;
    o.attrs.mode = (t == Type::kMkdir ? 040000 : 0) | 0777;
  }
  if (t == Type::kMknod) {
    o.attrs.valid = 1;
    o.attrs.mode = 0100644;
  }
  if (t == Type::kSetxattr) o.value = {'x'};
  return o;
}

// A librsync delta: LITERAL `data` (<= 64 bytes) or one COPY, then END.
std::vector<uint8_t> literal_delta(const std::string& data) {
  std::vector<uint8_t> d(4);
  put_be(d.data(), core::kDeltaMagic, 4);
  d.push_back(static_cast<uint8_t>(data.size()));
  d.insert(d.end(), data.begin(), data.end());
  d.push_back(core::kOpEnd);
  return d;
}
std::vector<uint8_t> copy_delta(uint32_t pos, uint8_t len) {
  std::vector<uint8_t> d(4);
  put_be(d.data(), core::kDeltaMagic, 4);
  d.push_back(core::kOpCopyBase + 4 * 2 + 0);  // 4-byte position, 1-byte length
  d.resize(d.size() + 4);
  put_be(d.data() + 5, pos, 4);
  d.push_back(len);
  d.push_back(core::kOpEnd);
  return d;
}

// FileBegin of `path` (seq 1), with `basis` as its basis if not empty.
wire::FileBegin begin(const std::string& path, uint64_t size, const std::string& basis = "",
                      const wire::Hash& basis_hash = {}) {
  wire::FileBegin fb;
  fb.seq = 1;
  fb.path = path;
  fb.new_size = size;
  fb.has_basis = !basis.empty();
  fb.basis_path = basis;
  fb.basis_hash = basis_hash;
  return fb;
}

wire::Hash hash_of(const std::string& s) {
  const core::ContentHash h =
      core::content_hash(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  wire::Hash out;
  std::copy(h.begin(), h.end(), out.begin());
  return out;
}

// `n` zero bytes as one zstd frame without a content size.
std::vector<uint8_t> zstd_bomb(size_t n) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 20);
  const std::vector<uint8_t> zeros(n);
  std::vector<uint8_t> out(ZSTD_compressBound(n));
  ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  const size_t ret = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
  ZSTD_freeCCtx(c);
  EXPECT_EQ(ret, 0u);
  out.resize(o.pos);
  return out;
}

class HostileClientTest : public ReplicationTest {
 protected:
  void SetUp() override {
    ReplicationTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    sentinel_ = root_ + "/sentinel";
    stdfs::create_directories(sentinel_ + "/sub");
    put_file(sentinel_ + "/secret", "the sentinel's secret");
    put_file(sentinel_ + "/sub/more", std::string(5000, 's'));
    // Planted in ROOT: a relative and an absolute way out.
    ASSERT_EQ(::symlink("../sentinel", (mirror_ + "/out").c_str()), 0);
    ASSERT_EQ(::symlink(sentinel_.c_str(), (mirror_ + "/abs").c_str()), 0);
    before_ = snapshot(sentinel_);
  }

  std::unique_ptr<RawClient> connect() {
    Result<std::unique_ptr<RawClient>> c =
        RawClient::connect(state_, mirror_fp_, port_, std::string(32, 'e'));
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(*c) : nullptr;
  }

  // Sends `m` (id from m) and returns the final answer's type.
  Type ask(RawClient& c, wire::Message m, std::vector<wire::Message>* all = nullptr) {
    EXPECT_TRUE(c.send(m).is_ok());
    Result<std::vector<wire::Message>> a = c.answer();
    EXPECT_TRUE(a.is_ok()) << a.status().to_string();
    if (!a.is_ok()) return Type::kHello;
    if (all) *all = *a;
    return wire::type_of(a->back());
  }

  // A whole content update; the type of its answer.
  Type update(RawClient& c, uint64_t id, wire::FileBegin fb, const std::vector<uint8_t>& delta,
              const wire::Hash& new_hash) {
    EXPECT_TRUE(c.send(wire::Message{id, fb}).is_ok());
    EXPECT_TRUE(c.send(wire::Message{id, wire::FileData{delta}}).is_ok());
    wire::FileEnd end;
    end.new_hash = new_hash;
    return ask(c, wire::Message{id, end});
  }

  // The mirror answers Error (id 0) naming the problem, then closes the
  // connection (docs/protocol.md, "Limits and violations").
  void expect_refused_and_closed(RawClient& c) {
    Result<wire::Message> m = c.receive();
    ASSERT_TRUE(m.is_ok()) << "closed without an Error: " << m.status().to_string();
    EXPECT_TRUE(std::holds_alternative<wire::Error>(m->body)) << wire::type_name(wire::type_of(*m));
    EXPECT_EQ(m->request_id, 0u);
    Result<wire::Message> next = c.receive();
    EXPECT_EQ(next.status().code(), Code::kNotFound) << next.status().to_string();
  }

  std::string sentinel_;
  std::map<std::string, std::string> before_;
};

TEST_F(HostileClientTest, RefusedEverywhereAndNothingOutsideRootIsTouched) {
  put_file(b("good"), "a good client's file");
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  std::unique_ptr<RawClient> c = connect();
  ASSERT_TRUE(c);
  uint64_t id = 1;
  const std::string abs_target = root_ + "/escaped";

  // Entry operations by `..`, absolute paths and through the symlinks.
  const std::vector<wire::EntryOp> ops = {
      op(Type::kMkdir, "../escaped"),
      op(Type::kMkdir, "a/../../escaped"),
      op(Type::kMkdir, abs_target),
      op(Type::kMknod, "out/secret"),
      op(Type::kMkdir, "out/newdir"),
      op(Type::kMkdir, "abs/newdir"),
      op(Type::kSymlink, "out/link", "/etc/passwd"),
      op(Type::kUnlink, "out/secret"),
      op(Type::kUnlink, "abs/secret"),
      op(Type::kRmdir, "out/sub"),
      op(Type::kRename, "out/secret", "stolen"),
      op(Type::kRename, "good-name", "out/planted"),
      op(Type::kLink, "out/secret", "hard"),
      op(Type::kLink, "../sentinel/secret", "hard2"),
      op(Type::kSetattr, "out/secret"),
      op(Type::kSetattr, "out/sub"),
      op(Type::kSetxattr, "out/secret", "user.x"),
      op(Type::kRemovexattr, "abs/secret", "user.x"),
  };
  for (const wire::EntryOp& o : ops) {
    EXPECT_EQ(ask(*c, wire::Message{id++, o}), Type::kError)
        << wire::type_name(o.type) << " " << o.path << " " << o.path2;
  }
  // Operations on the planted symlinks themselves stay inside ROOT: a
  // Setattr of "out" changes the link, never what it points to.
  (void)ask(*c, wire::Message{id++, op(Type::kSetattr, "out")});

  // Content written or read through them, or from outside ROOT.
  EXPECT_EQ(update(*c, id++, begin("out/secret", 5), literal_delta("owned"), hash_of("owned")),
            Type::kError);
  EXPECT_EQ(update(*c, id++, begin("../sentinel/secret", 5), literal_delta("owned"),
                   hash_of("owned")),
            Type::kError);
  const wire::FileBegin fb =
      begin("stolen-copy", 21, "out/secret", hash_of("the sentinel's secret"));
  const Type t = update(*c, id++, fb, copy_delta(0, 21), hash_of("the sentinel's secret"));
  EXPECT_TRUE(t == Type::kError || t == Type::kBasisMismatch) << wire::type_name(t);
  EXPECT_FALSE(stdfs::exists(mirror_ + "/stolen-copy"));
  std::vector<wire::Message> answers;
  for (const std::string p : {"out/secret", "abs/secret", "../sentinel/secret"}) {
    const Type a = ask(*c, wire::Message{id++, wire::SigRequest{p}}, &answers);
    EXPECT_TRUE(a == Type::kError ||
                (a == Type::kSigEnd && !std::get<wire::SigEnd>(answers.back().body).exists))
        << p;
    EXPECT_EQ(answers.size(), 1u) << "no signature of " << p;
  }
  for (const std::string p : {"out", "abs", "../sentinel", "/"}) {
    EXPECT_EQ(ask(*c, wire::Message{id++, wire::ListRequest{p}}), Type::kError) << p;
  }
  ASSERT_EQ(ask(*c, wire::Message{id++, wire::ListRequest{"."}}, &answers), Type::kListEnd);
  for (const wire::Message& m : answers) {
    if (const auto* d = std::get_if<wire::ListData>(&m.body)) {
      for (const wire::ListEntry& e : d->entries) {
        EXPECT_TRUE(e.path == "out" || e.path == "abs") << "listed " << e.path;
      }
    }
  }

  // A COPY outside the basis: refused, no result.
  ASSERT_EQ(update(*c, id++, begin("basis", 11), literal_delta("hello basis"),
                   hash_of("hello basis")),
            Type::kOk);
  const wire::FileBegin copy = begin("result", 100, "basis", hash_of("hello basis"));
  EXPECT_EQ(update(*c, id++, copy, copy_delta(1000000, 100), wire::Hash{}), Type::kError);
  EXPECT_EQ(update(*c, id++, copy, copy_delta(5, 100), wire::Hash{}), Type::kError);
  EXPECT_FALSE(stdfs::exists(mirror_ + "/result"));
  // The connection survived all of it.
  EXPECT_EQ(ask(*c, wire::Message{id++, wire::Barrier{1}}), Type::kAck);
  c.reset();

  // Frames the codec refuses end the connection: an oversized frame...
  c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->write_raw(raw_frame(Type::kMkdir, 1, {}, 0, wire::kMaxFrameBody + 1)).is_ok());
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_closed(*c));
  // ... a zstd bomb (64 MiB of zeros in a few KiB) inside an update ...
  c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send(wire::Message{7, begin("bomb", 64u << 20)}).is_ok());
  const std::vector<uint8_t> bomb = zstd_bomb(64u << 20);
  ASSERT_LT(bomb.size(), 64u * 1024);
  ASSERT_TRUE(c->write_raw(raw_frame(Type::kFileData, 7, bomb, wire::kFlagZstd)).is_ok());
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_closed(*c));
  // ... a path with a NUL byte, a frame of no known type, garbage.
  c = connect();
  ASSERT_TRUE(c);
  std::vector<uint8_t> body = {8, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'a', 0, 'b'};
  body.resize(body.size() + 40);  // attrs
  ASSERT_TRUE(c->write_raw(raw_frame(Type::kMkdir, 1, body)).is_ok());
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_closed(*c));
  c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->write_raw(raw_frame(static_cast<Type>(99), 1, {})).is_ok());
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_closed(*c));
  c = connect();
  ASSERT_TRUE(c);
  const std::vector<uint8_t> garbage(100000, 0xff);
  (void)c->write_raw(garbage);
  ASSERT_NO_FATAL_FAILURE(expect_refused_and_closed(*c));
  c.reset();
  EXPECT_FALSE(stdfs::exists(mirror_ + "/bomb"));

  EXPECT_EQ(::kill(main_.pid, 0), 0) << "serve died";
  // Nothing outside ROOT moved; the daemon lives and serves a good
  // client, whose first sync also clears what the hostile one left.
  EXPECT_EQ(snapshot(sentinel_), before_);
  EXPECT_FALSE(stdfs::exists(root_ + "/escaped"));
  EXPECT_FALSE(stdfs::exists(root_ + "/hard2"));
  auto [code, out] = replicate_once();
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  EXPECT_EQ(snapshot(sentinel_), before_);
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

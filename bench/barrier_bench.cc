// barrier_bench: what one mirror Barrier costs while another process has
// gigabytes of dirty data elsewhere on the same file system.
//
//   barrier_bench DIR [--dirty-mib N] [--runs R]
//
// Per run and mode: a fresh mirror root under DIR, its first barrier
// (a syncfs after open) out of the way; then `dd` writes N MiB (no sync)
// to DIR/dirty, a small batch is applied (a directory, 20 files of 4 KiB,
// a setattr, a rename) and the barrier is timed. Mode "syncfs" times
// syncfs() of the root, what every barrier did before barriers tracked
// their changes (replicator/mirror/pending_sync.h); mode "tracked" times
// Applier::barrier. Prints each run and the medians. Costs N MiB of
// writes per run and mode (default 2048 MiB, 3 runs: 12 GiB).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/content_hash.h"
#include "core/delta_encoder.h"
#include "core/delta_format.h"
#include "db/attr_payload.h"
#include "replicator/mirror/applier.h"

namespace mirror = mirrorfs::replicator::mirror;
namespace wire = mirrorfs::replicator::wire;

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "barrier_bench: %s\n", msg.c_str());
  std::exit(1);
}

void run(const std::vector<std::string>& argv) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || status != 0) {
    die("command failed: " + argv[0]);
  }
}

void check(const mirrorfs::Status& s, const char* what) {
  if (!s.is_ok()) die(std::string(what) + ": " + s.message());
}

// The small batch: mkdir, 20 new files, a setattr, a rename.
void apply_batch(mirror::Applier& a, uint64_t* seq) {
  wire::EntryOp mk;
  mk.type = wire::Type::kMkdir;
  mk.seq = ++*seq;
  mk.path = "batch";
  check(a.apply("bench", mk), "mkdir");
  const std::vector<uint8_t> data(4096, 'x');
  // A literal-only librsync delta: magic, LITERAL, END.
  std::vector<uint8_t> delta;
  delta.reserve(data.size() + 32);
  for (int shift = 24; shift >= 0; shift -= 8) {
    delta.push_back(static_cast<uint8_t>(mirrorfs::core::kDeltaMagic >> shift));
  }
  uint8_t hdr[mirrorfs::core::kMaxCommandHeader];
  const size_t n = mirrorfs::core::encode_literal_header(data.size(), hdr);
  delta.insert(delta.end(), hdr, hdr + n);
  delta.insert(delta.end(), data.begin(), data.end());
  delta.push_back(mirrorfs::core::kOpEnd);
  for (int i = 0; i < 20; ++i) {
    wire::FileBegin fb;
    fb.path = "batch/f" + std::to_string(i);
    fb.new_size = data.size();
    auto w = a.begin_file("bench", fb);
    check(w.status(), "begin_file");
    check(w->writer->write(delta), "write");
    wire::FileEnd end;
    end.new_hash = mirrorfs::core::content_hash(data.data(), data.size());
    check(w->writer->finish(end), "finish");
  }
  wire::EntryOp sa;
  sa.type = wire::Type::kSetattr;
  sa.seq = ++*seq;
  sa.path = "batch/f0";
  sa.attrs.valid = mirrorfs::db::AttrPayload::kMode;
  sa.attrs.mode = 0600;
  check(a.apply("bench", sa), "setattr");
  wire::EntryOp rn;
  rn.type = wire::Type::kRename;
  rn.seq = ++*seq;
  rn.path = "batch/f1";
  rn.path2 = "batch/g1";
  check(a.apply("bench", rn), "rename");
}

double one_run(const std::string& dir, bool tracked, int run_no, long mib) {
  const std::string root = dir + "/root" + std::to_string(run_no);
  const std::string state = dir + "/state" + std::to_string(run_no);
  run({"rm", "-rf", root, state, dir + "/dirty"});
  run({"mkdir", "-p", root});
  auto a = mirror::Applier::open(root, state);
  check(a.status(), "open");
  uint64_t seq = 0;
  check((*a)->barrier("bench", seq), "first barrier");
  run({"dd", "if=/dev/zero", "of=" + dir + "/dirty", "bs=1M",
       "count=" + std::to_string(mib), "status=none"});
  apply_batch(**a, &seq);
  const int root_fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const auto t0 = std::chrono::steady_clock::now();
  if (tracked) {
    check((*a)->barrier("bench", seq), "barrier");
  } else if (::syncfs(root_fd) != 0) {
    die("syncfs failed");
  }
  const auto t1 = std::chrono::steady_clock::now();
  ::close(root_fd);
  run({"rm", "-rf", root, state, dir + "/dirty"});
  run({"sync", "-f", dir});  // the next run starts clean
  return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: barrier_bench DIR [--dirty-mib N] [--runs R]\n");
    return 2;
  }
  const std::string dir = argv[1];
  long mib = 2048;
  int runs = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    const long v = std::strtol(argv[i + 1], nullptr, 10);
    if (v <= 0) die("bad value for " + opt);
    if (opt == "--dirty-mib") mib = v;
    else if (opt == "--runs") runs = static_cast<int>(v);
    else die("unknown option " + opt);
  }
  for (bool tracked : {false, true}) {
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) {
      t.push_back(one_run(dir, tracked, r, mib));
      std::printf("%-7s run %d: %.3f s\n", tracked ? "tracked" : "syncfs", r, t.back());
    }
    std::sort(t.begin(), t.end());
    std::printf("%-7s median of %d with %ld MiB dirty: %.3f s\n",
                tracked ? "tracked" : "syncfs", runs, mib, t[t.size() / 2]);
  }
  return 0;
}

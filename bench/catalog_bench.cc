// The file catalog at a million files: bulk load, open, lookups and
// subtree rename, on a real file in /tmp (WAL, synchronous=NORMAL).
//
// The tree: 10 projects x 10 modules x 10 packages = 1,000 leaf
// directories of 1,000 regular files each: 1,000,000 files and 1,110
// directories, e.g. "project-7/module-03/pkg-5/file-0042.dat". A project
// holds 100,000 files, a module 10,000, a package 1,000. Each file has a
// size, mode, owner, times, a backing inode number (ascending in creation
// order, as a freshly copied tree roughly has) and a 32-byte content hash
// (random: real hashes do not compress either).
//
// BM_CatalogBuild loads the tree through Catalog::create inside one outer
// write transaction (each create a savepoint in it). Its first run is kept
// as the fixture every other benchmark reuses; the directory holding it is
// removed at exit. Counters: files_per_s (BEGIN to the end of COMMIT,
// which includes the automatic WAL checkpoint that follows it) and
// bytes_per_file (the database file once its connection closed and the
// WAL is gone, / 10^6).
//
// BM_CatalogOpen/M: a new connection and Catalog::open on the fixture;
// M bit 0: through open_state_db (PRAGMA quick_check), else Database::open
// + migrate; bit 1: the file's pages dropped from the page cache first
// (posix_fadvise DONTNEED), as at the first mount after a boot.
//
// Lookups, renames: random files, the OS page cache warm, SQLite's own
// cache at its default (2 MiB). The /1 variants of BM_LookupPath and
// BM_PathOf run with project-7 moved to "project-0/module-00/moved-7".
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "db/catalog.h"
#include "db/schema.h"

namespace {

using namespace mirrorfs;
using namespace mirrorfs::db;
using Clock = std::chrono::steady_clock;

constexpr size_t kFiles = 1000000;
constexpr size_t kSample = 1 << 16;  // random files per lookup benchmark

// A name of the tree: fmt holds one %zu.
std::string name(const char* fmt, size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, n);
  return buf;
}
// The path of file i (0 <= i < kFiles); `moved`: with project-7 moved.
std::string file_path(size_t i, bool moved) {
  return (moved && i / 100000 == 7 ? "project-0/module-00/moved-7"
                                   : name("project-%zu", i / 100000)) +
         name("/module-%02zu", i / 10000 % 10) +
         name("/pkg-%zu", i / 1000 % 10) + name("/file-%04zu.dat", i % 1000);
}

struct Fixture {
  Fixture() {
    char tmpl[] = "/tmp/mirrorfs_cbench_XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir + "/catalog.db";
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
  bool built() const { return !ids.empty(); }

  std::string dir, path;
  std::vector<FileId> ids;     // of file i
  std::vector<uint64_t> inos;  // its backing inode number
};

Fixture& fixture() {
  static Fixture fx;  // destroyed, and its directory removed, at exit
  return fx;
}

// Loads the tree into a new database at `path`, fills ids and inos, and
// returns the seconds from BEGIN to COMMIT.
Result<double> build(const std::string& path, std::vector<FileId>* ids,
                     std::vector<uint64_t>* inos) {
  std::filesystem::remove(path);
  auto db = open_state_db(path);
  if (!db.is_ok()) return db.status();
  auto cat = Catalog::open(**db);
  if (!cat.is_ok()) return cat.status();
  std::mt19937_64 rng(42);
  uint64_t ino = 1000000;
  FileAttrs dir, file;
  dir.kind = FileKind::kDir;
  dir.mode = 040755;
  file.mode = 0100644;
  file.uid = file.gid = 1000;
  file.hash.resize(32);
  ids->clear();
  inos->clear();
  const auto t0 = Clock::now();
  {
    MIRRORFS_ASSIGN_OR_RETURN(
        txn, Transaction::begin(**db, Transaction::Kind::kWrite));
    auto mkdir = [&](FileId parent, std::string_view name) {
      dir.backing_ino = ino++;
      return (*cat)->create(parent, name, dir);
    };
    for (size_t t = 0; t < 10; ++t) {
      MIRRORFS_ASSIGN_OR_RETURN(proj, mkdir(kRootId, name("project-%zu", t)));
      for (size_t m = 0; m < 10; ++m) {
        MIRRORFS_ASSIGN_OR_RETURN(mod, mkdir(proj, name("module-%02zu", m)));
        for (size_t p = 0; p < 10; ++p) {
          MIRRORFS_ASSIGN_OR_RETURN(pkg, mkdir(mod, name("pkg-%zu", p)));
          for (size_t f = 0; f < 1000; ++f) {
            file.size = rng() % (1 << 20);
            file.mtime_ns = file.ctime_ns =
                1700000000000000000 +
                static_cast<int64_t>(rng() % (1ull << 50));
            file.backing_ino = ino++;
            for (uint8_t& b : file.hash) b = static_cast<uint8_t>(rng());
            MIRRORFS_ASSIGN_OR_RETURN(
                id, (*cat)->create(pkg, name("file-%04zu.dat", f), file));
            ids->push_back(id);
            inos->push_back(file.backing_ino);
          }
        }
      }
    }
    MIRRORFS_RETURN_IF_ERROR(txn.commit());
  }
  const std::chrono::duration<double> load_s = Clock::now() - t0;
  cat->reset();
  db->reset();  // the last connection: checkpoints and removes the WAL
  if (std::filesystem::exists(path + "-wal")) {
    return Status::internal("the WAL outlived its last connection");
  }
  return load_s.count();
}

// The fixture, built on first use; null (and the benchmark skipped) if
// that failed.
Fixture* built_fixture(benchmark::State& state) {
  Fixture& fx = fixture();
  if (!fx.built()) {
    auto s = build(fx.path, &fx.ids, &fx.inos);
    if (!s.is_ok()) {
      fx.ids.clear();
      state.SkipWithError(s.status().to_string().c_str());
      return nullptr;
    }
  }
  return &fx;
}

void BM_CatalogBuild(benchmark::State& state) {
  Fixture& fx = fixture();
  const std::string path = fx.dir + "/build.db";
  std::vector<FileId> ids;
  std::vector<uint64_t> inos;
  double load_s = 0;
  for (auto _ : state) {
    auto r = build(path, &ids, &inos);
    if (!r.is_ok()) return state.SkipWithError(r.status().to_string().c_str());
    state.SetIterationTime(load_s = *r);
  }
  state.counters["files_per_s"] = kFiles / load_s;
  state.counters["bytes_per_file"] =
      static_cast<double>(std::filesystem::file_size(path)) / kFiles;
  if (fx.built()) {
    std::filesystem::remove(path);
  } else {  // closed and checkpointed: the file is the whole database
    std::filesystem::rename(path, fx.path);
    fx.ids = std::move(ids);
    fx.inos = std::move(inos);
  }
}
BENCHMARK(BM_CatalogBuild)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

Result<std::unique_ptr<Database>> open_db(const std::string& path,
                                          bool quick_check) {
  if (quick_check) return open_state_db(path);
  auto db = Database::open(path, Database::Options());
  if (!db.is_ok()) return db.status();
  MIRRORFS_RETURN_IF_ERROR(migrate(**db));
  return db;
}

void drop_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

void BM_CatalogOpen(benchmark::State& state) {
  Fixture* fx = built_fixture(state);
  if (!fx) return;
  const bool quick_check = state.range(0) & 1, cold = state.range(0) & 2;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      drop_page_cache(fx->path);
      state.ResumeTiming();
    }
    auto db = open_db(fx->path, quick_check);
    auto cat = db.is_ok() ? Catalog::open(**db) : db.status();
    if (!cat.is_ok()) {
      return state.SkipWithError(cat.status().to_string().c_str());
    }
    state.PauseTiming();  // closing is not opening
    cat->reset();
    db->reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_CatalogOpen)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

// A connection on the fixture and kSample random files; if `moved`, files
// of project-7 only, which stays moved to project-0/module-00/moved-7 for
// the Session's life. Null (the benchmark skipped) if that fails.
struct Session {
  ~Session() {
    if (dest) (void)cat->rename(dest, "moved-7", kRootId, "project-7");
  }
  Fixture* fx = nullptr;
  std::unique_ptr<Database> db;
  std::unique_ptr<Catalog> cat;
  std::vector<size_t> files;       // file indices
  std::vector<std::string> paths;  // their paths
  FileId dest = 0;                 // project-0/module-00 if moved
};

std::unique_ptr<Session> open_session(benchmark::State& state, bool moved) {
  auto s = std::make_unique<Session>();
  if (!(s->fx = built_fixture(state))) return nullptr;
  auto db = open_db(s->fx->path, false);
  auto cat = db.is_ok() ? Catalog::open(**db) : db.status();
  Result<FileId> dest =
      cat.is_ok() ? (*cat)->lookup_path("project-0/module-00") : cat.status();
  Status st = dest.is_ok() && moved
                  ? (*cat)->rename(kRootId, "project-7", *dest, "moved-7")
                  : dest.status();
  if (!st.is_ok()) {
    state.SkipWithError(st.to_string().c_str());
    return nullptr;
  }
  s->db = std::move(*db);
  s->cat = std::move(*cat);
  s->dest = moved ? *dest : 0;
  std::mt19937_64 rng(7);
  for (size_t k = 0; k < kSample; ++k) {
    const size_t i = moved ? 700000 + rng() % 100000 : rng() % kFiles;
    s->files.push_back(i);
    s->paths.push_back(file_path(i, moved));
  }
  return s;
}

// One op(session, file index, path) per iteration over the sample; op
// says whether the answer was right.
template <typename Op>
void run_sample(benchmark::State& state, bool moved, Op op) {
  auto s = open_session(state, moved);
  if (!s) return;
  size_t k = 0;
  for (auto _ : state) {
    const size_t j = k++ % kSample;
    if (!op(*s, s->files[j], s->paths[j])) {
      return state.SkipWithError(("wrong answer for " + s->paths[j]).c_str());
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LookupPath(benchmark::State& state) {
  run_sample(state, state.range(0),
             [](Session& s, size_t i, const std::string& path) {
               auto id = s.cat->lookup_path(path);
               return id.is_ok() && *id == s.fx->ids[i];
             });
}
BENCHMARK(BM_LookupPath)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_PathOf(benchmark::State& state) {
  run_sample(state, state.range(0),
             [](Session& s, size_t i, const std::string& path) {
               auto got = s.cat->path_of(s.fx->ids[i]);
               return got.is_ok() && *got == path;
             });
}
BENCHMARK(BM_PathOf)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_LookupBacking(benchmark::State& state) {
  run_sample(state, false, [](Session& s, size_t i, const std::string&) {
    auto id = s.cat->lookup_backing(s.fx->inos[i]);
    return id.is_ok() && *id == s.fx->ids[i];
  });
}
BENCHMARK(BM_LookupBacking)->Unit(benchmark::kMicrosecond);

// Moves a directory of project-7 holding 1,000 / 10,000 / 100,000 files
// (range(0) = 0, 1, 2: a package, a module, the project) to
// project-0/module-00/moved and back: one rename(), in its own write
// transaction, per iteration.
void BM_RenameSubtree(benchmark::State& state) {
  static const char* const kSubject[][2] = {{"project-7/module-03", "pkg-5"},
                                            {"project-7", "module-03"},
                                            {"", "project-7"}};
  const char* const* subject = kSubject[state.range(0)];
  auto s = open_session(state, false);
  if (!s) return;
  auto from = s->cat->lookup_path(subject[0]);
  auto to = s->cat->lookup_path("project-0/module-00");
  if (!from.is_ok() || !to.is_ok()) return state.SkipWithError("lookup");
  bool away = true;
  for (auto _ : state) {
    Status st = away ? s->cat->rename(*from, subject[1], *to, "moved")
                     : s->cat->rename(*to, "moved", *from, subject[1]);
    if (!st.is_ok()) return state.SkipWithError(st.to_string().c_str());
    away = !away;
  }
  if (!away) (void)s->cat->rename(*to, "moved", *from, subject[1]);
  state.counters["files_moved"] = std::pow(10, 3 + state.range(0));
}
BENCHMARK(BM_RenameSubtree)->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

}  // namespace

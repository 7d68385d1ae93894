// Journal group-commit throughput: extents per second for batches of
// various sizes, on a real file in /tmp (WAL, synchronous=NORMAL).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>

#include "db/journal.h"
#include "db/schema.h"

namespace {

using namespace mirrorfs::db;

void BM_JournalAppendExtents(benchmark::State& state) {
  char tmpl[] = "/tmp/mirrorfs_jbench_XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  auto db = open_state_db(dir + "/state.db");
  auto j = Journal::open(**db);
  const int64_t batch = state.range(0);
  uint64_t off = 0;
  for (auto _ : state) {
    JournalBatch b;
    for (int64_t i = 0; i < batch; ++i) b.add_extent(42, off += 4096, 4096);
    auto r = (*j)->commit(b);
    if (!r.is_ok()) state.SkipWithError(r.status().to_string().c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  j->reset();
  db->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_JournalAppendExtents)->Arg(1)->Arg(100)->Arg(1000)->Arg(10000);

void BM_JournalReadBatch(benchmark::State& state) {
  char tmpl[] = "/tmp/mirrorfs_jbench_XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  auto db = open_state_db(dir + "/state.db");
  auto j = Journal::open(**db);
  JournalBatch b;
  for (int i = 0; i < 100000; ++i) b.add_extent(42, i * 4096, 4096);
  (void)(*j)->commit(b);
  for (auto _ : state) {
    auto rows = (*j)->read_after(0, 100000);
    benchmark::DoNotOptimize(rows);
  }
  state.SetItemsProcessed(state.iterations() * 100000);
  j->reset();
  db->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_JournalReadBatch)->Unit(benchmark::kMillisecond);

}  // namespace

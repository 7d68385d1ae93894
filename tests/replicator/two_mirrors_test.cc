// Two mirrors (issue 5, point 5): one replicate serving two `serve`
// processes. While one is stopped the other keeps up; the journal keeps
// every row the stopped one has not acknowledged (checked in state.db
// directly) and trims the rest; restarted, it catches up, and both end
// identical to the source.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>

#include "db/mirror_state.h"
#include "db/schema.h"
#include "tests/fs/journal_replay.h"
#include "tests/replicator/replication_fixture.h"

namespace mirrorfs::replicator::testing {
namespace {

using fs::testing::compare_trees;

class TwoMirrorsTest : public ReplicationTest {
 protected:
  // acked_seq of every mirror, by name, as state.db holds it now.
  std::map<std::string, uint64_t> acked() {
    std::map<std::string, uint64_t> out;
    auto database = db::open_state_db(state_ + "/state.db");
    if (!database.is_ok()) return out;
    auto state = db::MirrorState::open(**database);
    if (!state.is_ok()) return out;
    auto list = (*state)->list();
    if (!list.is_ok()) return out;
    for (const db::MirrorInfo& m : *list) out[m.name] = m.acked_seq;
    return out;
  }
  // Some work through the mount: new files, an edit, a rename, a delete.
  void workload(const std::string& tag) {
    ASSERT_EQ(::mkdir(m(tag).c_str(), 0755), 0);
    for (int i = 0; i < 20; ++i) {
      put_file(m(tag + "/f" + std::to_string(i)), tag + std::string(1000 * i, 'x'));
    }
    put_file(m("shared"), "edited in " + tag);
    ASSERT_EQ(::rename(m(tag + "/f1").c_str(), m(tag + "/renamed").c_str()), 0);
    ASSERT_EQ(::unlink(m(tag + "/f2").c_str()), 0);
  }
};

TEST_F(TwoMirrorsTest, OneStoppedTheOtherKeepsUpAndTheJournalWaits) {
  put_file(b("shared"), "first");
  mount();
  Serve& other = add_mirror("b");
  ASSERT_NO_FATAL_FAILURE(start_serve());
  ASSERT_NO_FATAL_FAILURE(start_serve(other));
  ASSERT_NO_FATAL_FAILURE(start_replicate({&main_, &other}));

  ASSERT_NO_FATAL_FAILURE(workload("one"));
  uint64_t last = last_seq();
  ASSERT_TRUE(wait_until([&] {
    auto a = acked();
    return a["m"] == last && a["b"] == last;
  }, 60)) << "both mirrors should reach seq " << last;
  EXPECT_TRUE(wait_until([&] { return journal_after(0).empty(); }, 10))
      << "rows both acknowledged are trimmed";

  // b goes away; the workload goes on; m keeps up.
  const uint64_t b_acked = acked()["b"];
  ASSERT_NO_FATAL_FAILURE(stop_serve(other));
  ASSERT_NO_FATAL_FAILURE(workload("two"));
  ASSERT_NO_FATAL_FAILURE(workload("three"));
  last = last_seq();
  ASSERT_GT(last, b_acked);
  ASSERT_TRUE(wait_until([&] { return acked()["m"] == last; }, 60));
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  EXPECT_EQ(acked()["b"], b_acked);
  // Everything after b's ack is still in the journal, nothing before it.
  const std::vector<db::JournalRecord> rows = journal_after(0);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().seq, b_acked + 1);
  EXPECT_EQ(rows.back().seq, last);
  EXPECT_EQ(rows.size(), last - b_acked);

  // b is back on its old port: it catches up, then the journal empties.
  ASSERT_NO_FATAL_FAILURE(start_serve(other, {}, other.port));
  ASSERT_TRUE(wait_until([&] { return acked()["b"] == last; }, 90))
      << "b should catch up to seq " << last;
  EXPECT_TRUE(wait_until([&] { return journal_after(0).empty(); }, 10));
  stop_replicate();
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  EXPECT_EQ(compare_trees(b(), other.root, /*mtimes=*/true), "");
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

// Two mirrors (issue 5, point 5): one replicate serving two `serve`
// processes. While one is stopped the other keeps up; the journal keeps
// every row the stopped one has not acknowledged (checked in state.db
// directly) and trims the rest; restarted, it catches up, and both end
// identical to the source. And a mirror's life after that: replaced under
// its name by an empty one (synced in full), or forgotten (`mirrorfs
// forget`: the journal is no longer kept for it).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
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

// The mirror's host was replaced (or its state wiped): under the same
// name and key, a mirror with another mirror_id and nothing of the tree.
// The replicator notices and syncs it in full instead of sending changes
// against files it does not have.
TEST_F(TwoMirrorsTest, AMirrorReplacedUnderItsNameIsSyncedInFull) {
  put_file(b("old"), std::string(100000, 'o'));
  ASSERT_EQ(::mkdir(b("d").c_str(), 0755), 0);
  put_file(b("d/kept"), "kept");
  mount();
  ASSERT_NO_FATAL_FAILURE(start_serve());
  ASSERT_EQ(replicate_once().first, 0);
  ASSERT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");

  ASSERT_NO_FATAL_FAILURE(stop_serve());
  for (const auto& e : std::filesystem::directory_iterator(mirror_)) {
    std::filesystem::remove_all(e.path());
  }
  std::filesystem::remove(mirror_state_ + "/mirror.db");
  ASSERT_NO_FATAL_FAILURE(workload("after"));
  put_file(m("old"), std::string(100000, 'n'));
  ASSERT_EQ(::rename(m("d/kept").c_str(), m("d/moved").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(start_serve());
  auto [code, out] = replicate_once();
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("another mirror than the one synced so far"), std::string::npos) << out;
  EXPECT_EQ(compare_trees(b(), mirror_, /*mtimes=*/true), "");
  // Once is enough: the next contact finds the mirror it recorded.
  auto [again, out2] = replicate_once();
  EXPECT_EQ(again, 0) << out2;
  EXPECT_EQ(out2.find("another mirror"), std::string::npos) << out2;
}

// A mirror gone for good holds the journal until it is forgotten; then
// the journal is trimmed to what the others acknowledged.
TEST_F(TwoMirrorsTest, AForgottenMirrorNoLongerHoldsTheJournal) {
  mount();
  Serve& other = add_mirror("b");
  ASSERT_NO_FATAL_FAILURE(start_serve());
  ASSERT_NO_FATAL_FAILURE(start_serve(other));
  ASSERT_NO_FATAL_FAILURE(start_replicate({&main_, &other}));
  ASSERT_NO_FATAL_FAILURE(workload("one"));
  const uint64_t first = last_seq();
  ASSERT_TRUE(wait_until([&] { return acked()["b"] == first && acked()["m"] == first; }, 60));
  stop_replicate();
  ASSERT_NO_FATAL_FAILURE(stop_serve(other));
  ASSERT_NO_FATAL_FAILURE(workload("two"));
  ASSERT_EQ(replicate_once().first, 0);  // m only
  ASSERT_FALSE(journal_after(0).empty()) << "kept for b";

  auto [code, out] = run_mirrorfs({"forget", "--state", state_, "b"}, true);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("forgot mirror b"), std::string::npos) << out;
  EXPECT_TRUE(journal_after(0).empty());
  EXPECT_EQ(acked().count("b"), 0u);
  EXPECT_EQ(acked()["m"], last_seq());

  auto [code2, out2] = run_mirrorfs({"forget", "--state", state_, "b"});
  EXPECT_EQ(code2, 1);
  EXPECT_NE(out2.find("no mirror named 'b'"), std::string::npos) << out2;
  EXPECT_NE(out2.find("known: m"), std::string::npos) << out2;
}

}  // namespace
}  // namespace mirrorfs::replicator::testing

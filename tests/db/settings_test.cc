#include "db/settings.h"

#include <gtest/gtest.h>

#include "db/schema.h"
#include "tests/db/test_dir.h"

namespace mirrorfs::db {
namespace {

TEST(SettingsTest, GetSetAndFirstValueWins) {
  testing::TempDir tmp;
  auto db = open_state_db(tmp.file("state.db"));
  ASSERT_TRUE(db.is_ok()) << db.status().to_string();
  auto s = Settings::open(**db);
  ASSERT_TRUE(s.is_ok());
  EXPECT_FALSE((*s)->get(kSettingBacking)->has_value());
  ASSERT_TRUE((*s)->set(kSettingBacking, "/srv/a").is_ok());
  EXPECT_EQ(**(*s)->get(kSettingBacking), "/srv/a");
  ASSERT_TRUE((*s)->set(kSettingBacking, "/srv/b").is_ok());
  EXPECT_EQ(**(*s)->get(kSettingBacking), "/srv/b");

  EXPECT_EQ(*(*s)->get_or_set(kSettingJournalId, "one"), "one");
  EXPECT_EQ(*(*s)->get_or_set(kSettingJournalId, "two"), "one");

  // Kept across a reopen, by another connection.
  s->reset();
  db->reset();
  auto again = open_state_db(tmp.file("state.db"));
  ASSERT_TRUE(again.is_ok());
  auto s2 = Settings::open(**again);
  EXPECT_EQ(**(*s2)->get(kSettingJournalId), "one");
}

TEST(SettingsTest, RandomIdsAreHexAndDiffer) {
  auto a = random_hex_id(), b = random_hex_id();
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace mirrorfs::db

#include "domain/source.hpp"

#include <gtest/gtest.h>

namespace mladmin::domain {

namespace {

JournalEntry entry() {
  JournalEntry e;
  e.title = "Morning pages";
  e.body = "Slept well, wrote three pages.";
  e.mood = 4;
  e.tags = {"sleep", "writing"};
  return e;
}

Goal goal() {
  Goal g;
  g.title = "Run a 10k";
  g.status = "open";
  g.target_date = "2027-04-30";
  return g;
}

}  // namespace

TEST(SyncRulesTest, OrdinaryRecordsPass) {
  EXPECT_FALSE(sync_problem(entry()).has_value());
  EXPECT_FALSE(sync_problem(goal()).has_value());
  auto no_mood = entry();
  no_mood.mood.reset();
  EXPECT_FALSE(sync_problem(no_mood).has_value());
}

TEST(SyncRulesTest, EmptyOrWhitespaceTitleOrBodyFails) {
  auto e = entry();
  e.body = " \n\t ";
  EXPECT_EQ(sync_problem(e), "body is empty");
  e = entry();
  e.title = "";
  EXPECT_EQ(sync_problem(e), "title is empty");
  auto g = goal();
  g.title = "   ";
  EXPECT_EQ(sync_problem(g), "title is empty");
}

TEST(SyncRulesTest, TextOver64KiBFails) {
  auto e = entry();
  e.body = std::string(kMaxTextBytes, 'x');
  EXPECT_FALSE(sync_problem(e).has_value());
  e.body.push_back('x');
  EXPECT_EQ(sync_problem(e), "body is longer than 64 KiB");
}

TEST(SyncRulesTest, InvalidUtf8Fails) {
  auto e = entry();
  e.title = "bad \xC3\x28 bytes";
  EXPECT_EQ(sync_problem(e), "title is not valid UTF-8");
}

TEST(SyncRulesTest, MoodOutsideOneToFiveFails) {
  auto e = entry();
  e.mood = 0;
  EXPECT_EQ(sync_problem(e), "mood 0 is outside 1-5");
  e.mood = 6;
  EXPECT_TRUE(sync_problem(e).has_value());
}

TEST(SyncRulesTest, UnknownGoalStatusAndBadDateFail) {
  auto g = goal();
  g.status = "abandoned";
  EXPECT_EQ(sync_problem(g), "status 'abandoned' is neither open nor done");
  g = goal();
  g.target_date = "2027-02-30";
  EXPECT_TRUE(sync_problem(g).has_value());
}

TEST(DateTest, OnlyRealCalendarDays) {
  EXPECT_TRUE(valid_date("2028-02-29"));
  EXPECT_FALSE(valid_date("2027-02-29"));
  EXPECT_FALSE(valid_date("2027-2-1"));
  EXPECT_FALSE(valid_date("2027-02-01T00:00:00Z"));
}

}  // namespace mladmin::domain

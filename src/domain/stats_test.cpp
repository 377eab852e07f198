#include "domain/stats.hpp"

#include <gtest/gtest.h>

namespace mladmin::domain {

TEST(FailureKindTest, ValuesOfTheSameRuleShareAKind) {
  EXPECT_EQ(failure_kind("mood 7 is outside 1-5"), "mood N is outside 1-5");
  EXPECT_EQ(failure_kind("mood -3 is outside 1-5"), "mood N is outside 1-5");
  EXPECT_EQ(failure_kind("mood 0 is outside 1-5"), failure_kind("mood 12345 is outside 1-5"));
  EXPECT_EQ(failure_kind("status 'x' is neither open nor done"), "status '…' is neither open nor done");
  EXPECT_EQ(failure_kind("status 'it's 42' is neither open nor done"), "status '…' is neither open nor done");
}

TEST(FailureKindTest, ReasonsWithoutValuesAndLimitsStayAsTheyAre) {
  EXPECT_EQ(failure_kind("body is empty"), "body is empty");
  EXPECT_EQ(failure_kind("title is longer than 64 KiB"), "title is longer than 64 KiB");
  EXPECT_EQ(failure_kind("targetDate is not a YYYY-MM-DD date"), "targetDate is not a YYYY-MM-DD date");
  EXPECT_EQ(failure_kind("a tag is not valid UTF-8"), "a tag is not valid UTF-8");
  // Digits inside a word are not a value of their own.
  EXPECT_EQ(failure_kind("sink http2 refused 10.0.0.1"), "sink http2 refused 10.0.0.1");
  EXPECT_EQ(failure_kind("sink answered 503 after 3 tries"), "sink answered N after N tries");
  EXPECT_EQ(failure_kind(""), "");
  EXPECT_EQ(failure_kind("it's odd"), "it's odd");  // one quote alone quotes nothing
}

TEST(StatsBucketTest, BucketsAlignToUtcHoursAndDays) {
  const auto t = *parse_iso8601("2026-03-04T05:06:07Z");
  EXPECT_EQ(bucket_start(t, StatsBucket::hour), *parse_iso8601("2026-03-04T05:00:00Z"));
  EXPECT_EQ(bucket_start(t, StatsBucket::day), *parse_iso8601("2026-03-04"));
  EXPECT_EQ(bucket_start(-1, StatsBucket::hour), -kHourMs);
  EXPECT_EQ(bucket_start(0, StatsBucket::day), 0);
}

TEST(StatsBucketTest, CountCoversTheWholeRangeAndNoMore) {
  const auto day = *parse_iso8601("2026-03-04");
  EXPECT_EQ(bucket_count(day, day + kDayMs, StatsBucket::hour), 24);
  EXPECT_EQ(bucket_count(day, day + kDayMs, StatsBucket::day), 1);
  EXPECT_EQ(bucket_count(day + 1, day + kDayMs + 1, StatsBucket::day), 2);
  EXPECT_EQ(bucket_count(day + 30 * 60 * 1000, day + 90 * 60 * 1000, StatsBucket::hour), 2);
  EXPECT_EQ(bucket_count(day, day + 1, StatsBucket::hour), 1);
}

TEST(StatsBucketTest, DefaultIsHourUpToTwoDays) {
  EXPECT_EQ(default_bucket(0, 2 * kDayMs), StatsBucket::hour);
  EXPECT_EQ(default_bucket(0, 2 * kDayMs + 1), StatsBucket::day);
  EXPECT_EQ(parse_stats_bucket("day"), StatsBucket::day);
  EXPECT_FALSE(parse_stats_bucket("week").has_value());
}

}  // namespace mladmin::domain

#include "client/job_tracker.hpp"

#include <gtest/gtest.h>

#include "client/text.hpp"

namespace mladmin::client {
namespace {

SseEvent job_event(const std::string& id, const std::string& status, int processed,
                   const std::string& updated) {
  SseEvent e;
  e.type = "job";
  e.data = cat(R"({"id":")", id, R"(","status":")", status, R"(","processedItems":)",
               std::to_string(processed), R"(,"totalItems":100,"updatedAt":")", updated, R"("})");
  return e;
}

SseEvent snapshot(const std::string& jobs_json) {
  SseEvent e;
  e.type = "snapshot";
  e.data = cat(R"({"jobs":[)", jobs_json, "]}");
  return e;
}

TEST(JobTrackerTest, PassesOnNewStatesAndDropsRepeatsAndOlderOnes) {
  JobTracker t;
  EXPECT_EQ(t.apply(job_event("a", "running", 10, "2026-01-01T00:00:01.000Z")).size(), 1u);
  EXPECT_TRUE(t.apply(job_event("a", "running", 10, "2026-01-01T00:00:01.000Z")).empty())
      << "a replayed repeat";
  EXPECT_TRUE(t.apply(job_event("a", "running", 5, "2026-01-01T00:00:00.500Z")).empty()) << "an older state";
  const auto news = t.apply(job_event("a", "completed", 100, "2026-01-01T00:00:02.000Z"));
  ASSERT_EQ(news.size(), 1u);
  EXPECT_EQ(news[0].status, "completed");
}

TEST(JobTrackerTest, TheFirstSnapshotTellsOfActiveJobsOnly) {
  JobTracker t;
  const auto news = t.apply(snapshot(R"({"id":"a","status":"running","updatedAt":"1"},
                                        {"id":"old","status":"completed","updatedAt":"0"})"));
  ASSERT_EQ(news.size(), 1u);
  EXPECT_EQ(news[0].id, "a");
  EXPECT_TRUE(t.snapshot_has("old"));
  EXPECT_FALSE(t.snapshot_has("b"));
}

TEST(JobTrackerTest, ASnapshotAfterAReconnectTellsWhatFinishedMeanwhile) {
  JobTracker t;
  t.apply(snapshot(
      R"({"id":"a","status":"running","updatedAt":"1"},{"id":"old","status":"completed","updatedAt":"0"})"));
  const auto news = t.apply(snapshot(R"({"id":"b","status":"queued","updatedAt":"3"},
                                        {"id":"a","status":"completed","updatedAt":"2"},
                                        {"id":"quick","status":"completed","updatedAt":"2"},
                                        {"id":"old","status":"completed","updatedAt":"0"})"));
  ASSERT_EQ(news.size(), 3u);
  EXPECT_EQ(news[0].id, "b");
  EXPECT_EQ(news[1].id, "a");
  EXPECT_EQ(news[2].id, "quick");
}

TEST(JobTrackerTest, AStateReadByRequestCountsToo) {
  JobTracker t;
  JobView j;
  j.id = "a";
  j.status = "queued";
  j.updated_at = "1";
  j.total = 100;
  EXPECT_TRUE(t.apply(j));
  EXPECT_FALSE(t.apply(j));
  EXPECT_TRUE(t.apply(job_event("a", "queued", 0, "1")).empty());
  EXPECT_EQ(t.apply(job_event("a", "running", 0, "2")).size(), 1u);
}

TEST(JobTrackerTest, IgnoresOtherEventsAndBrokenData) {
  JobTracker t;
  SseEvent message;
  message.data = R"({"id":"a","status":"running"})";
  EXPECT_TRUE(t.apply(message).empty());
  SseEvent broken;
  broken.type = "job";
  broken.data = "{not json";
  EXPECT_TRUE(t.apply(broken).empty());
  EXPECT_FALSE(t.had_snapshot());
}

}  // namespace
}  // namespace mladmin::client

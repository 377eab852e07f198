#include "client/job_tracker.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "client/text.hpp"

namespace mladmin::client {
namespace {

/// A job's JSON as the server writes it (api::write_job_json).
std::string job_text(const std::string& id, const std::string& status, const std::string& updated,
                     int processed = 0) {
  JobView j;
  j.id = id;
  j.type = "goals";
  j.status = status;
  j.scope = "user";
  j.mode = "incremental";
  j.total_items = 100;
  j.processed_items = processed;
  j.synced_items = processed;
  j.updated_at = updated;
  return boost::json::serialize(api::write_job_json(j));
}

SseEvent job_event(const std::string& id, const std::string& status, int processed,
                   const std::string& updated) {
  SseEvent e;
  e.type = "job";
  e.data = job_text(id, status, updated, processed);
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
  const auto news =
      t.apply(snapshot(cat(job_text("a", "running", "1"), ",", job_text("old", "completed", "0"))));
  ASSERT_EQ(news.size(), 1u);
  EXPECT_EQ(news[0].id, "a");
  EXPECT_TRUE(t.snapshot_has("old"));
  EXPECT_FALSE(t.snapshot_has("b"));
}

TEST(JobTrackerTest, ASnapshotAfterAReconnectTellsWhatFinishedMeanwhile) {
  JobTracker t;
  t.apply(snapshot(cat(job_text("a", "running", "1"), ",", job_text("old", "completed", "0"))));
  const auto news =
      t.apply(snapshot(cat(job_text("b", "queued", "3"), ",", job_text("a", "completed", "2"), ",",
                           job_text("quick", "completed", "2"), ",", job_text("old", "completed", "0"))));
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
  j.total_items = 100;
  EXPECT_TRUE(t.apply(j));
  EXPECT_FALSE(t.apply(j));
  EXPECT_TRUE(t.apply(job_event("a", "queued", 0, "1")).empty());
  EXPECT_EQ(t.apply(job_event("a", "running", 0, "2")).size(), 1u);
}

TEST(JobTrackerTest, IgnoresOtherEventsAndBrokenData) {
  JobTracker t;
  SseEvent message;
  message.data = job_text("a", "running", "1");
  EXPECT_TRUE(t.apply(message).empty());
  SseEvent broken;
  broken.type = "job";
  broken.data = "{not json";
  EXPECT_TRUE(t.apply(broken).empty());
  EXPECT_FALSE(t.had_snapshot());
  SseEvent partial;
  partial.type = "job";
  partial.data = R"({"id":"a","status":"running"})";
  EXPECT_TRUE(t.apply(partial).empty()) << "not a job as docs/openapi.yaml describes it";
  EXPECT_EQ(t.unreadable(), 2u) << "the broken and the partial job events, not the plain message";
  EXPECT_NE(t.last_problem().find("not a job"), std::string::npos) << t.last_problem();
}

}  // namespace
}  // namespace mladmin::client

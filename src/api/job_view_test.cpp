// The job view (job_view.hpp): a job read from it is the JSON api::job_json writes, to the byte,
// also for a running job whose duration grows; a list from it is the page the database would
// read, or nothing when what it holds cannot decide the page; what retention may have deleted
// is never answered from it.
#include "api/job_view.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

#include "api/job_json.hpp"

namespace mladmin::api {
namespace {

using domain::Job;
using domain::JobStatus;

constexpr domain::TimestampMs kT0 = 1'700'000'000'000;
constexpr domain::TimestampMs kDay = 86'400'000;

Job job(const std::string& id, domain::TimestampMs created, JobStatus status,
        std::optional<std::string> owner = std::nullopt) {
  Job j;
  j.id = id;
  j.user_id = owner.value_or("admin");
  j.scope = owner ? domain::JobScope::user : domain::JobScope::all;
  j.scope_user_id = owner;
  j.status = status;
  j.created_at = j.updated_at = created;
  if (status != JobStatus::queued) {
    j.start_time = created + 5;
  }
  if (domain::is_finished(status)) {
    j.end_time = created + 500;
  }
  j.counters.total = 100;
  j.counters.synced = 40;
  j.counters.failed = 2;
  j.error_count = 2;
  j.errors = {{"a", "reason with \"duration\":0 inside", created + 7}, {"b", "bad", created + 8}};
  j.running_ms = 400;
  return j;
}

std::string read(const JobView& view, const std::string& id, domain::TimestampMs now) {
  const auto found = view.find(id, now);
  EXPECT_EQ(found.presence, JobView::Presence::held) << id;
  std::string out;
  if (found.entry) {
    found.entry->append_json(out, now);
  }
  return out;
}

std::vector<std::string> ids(const JobView::Page& page) {
  std::vector<std::string> out;
  for (const auto& e : page.items) {
    out.push_back(e->id);
  }
  return out;
}

TEST(ApiJobViewTest, AJobReadsAsJobJsonWritesItAlsoWhileItsDurationGrows) {
  JobView view(10, 0);
  const auto running = job("r", kT0, JobStatus::running, "u1");
  const auto paused = job("p", kT0 + 1, JobStatus::paused);
  const auto done = job("d", kT0 + 2, JobStatus::completed);
  const auto queued = job("q", kT0 + 3, JobStatus::queued);
  for (const auto& j : {running, paused, done, queued}) {
    view.update(j, kT0);
  }
  for (const auto now : {kT0 + 10, kT0 + 123'456'789}) {
    for (const auto& j : {running, paused, done, queued}) {
      EXPECT_EQ(read(view, j.id, now), boost::json::serialize(job_json(j, now))) << j.id;
    }
  }
}

TEST(ApiJobViewTest, AChangeReplacesTheJobAndAnUnknownIdIsAbsentWhileEveryJobIsHeld) {
  JobView view(10, 0);
  auto j = job("j", kT0, JobStatus::running);
  view.update(j, kT0);
  j.counters.synced = 90;
  j.status = JobStatus::completed;
  j.end_time = kT0 + 900;
  view.update(j, kT0);
  EXPECT_EQ(read(view, "j", kT0 + 1000), boost::json::serialize(job_json(j, kT0 + 1000)));
  EXPECT_EQ(view.find("nope", kT0).presence, JobView::Presence::absent);
  EXPECT_EQ(view.size(), 1u);
}

TEST(ApiJobViewTest, ListsFilterAndPageNewestFirstAsTheDatabaseDoes) {
  JobView view(100, 0);
  for (int i = 0; i < 10; ++i) {
    view.update(
        job("j" + std::to_string(i), kT0 + i / 2, i % 3 == 0 ? JobStatus::completed : JobStatus::running,
            i % 2 == 0 ? std::optional<std::string>("alice") : std::nullopt),
        kT0);
  }
  store::JobQuery q;
  q.limit = 4;
  auto page = view.list(q, kT0);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"j9", "j8", "j7", "j6"}));  // same time: id descending
  EXPECT_TRUE(page->has_more);
  q.before = std::make_pair(kT0 + 3, std::string("j6"));
  page = view.list(q, kT0);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"j5", "j4", "j3", "j2"}));
  q.before = std::make_pair(kT0 + 1, std::string("j2"));
  page = view.list(q, kT0);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"j1", "j0"}));
  EXPECT_FALSE(page->has_more);

  store::JobQuery mine;
  mine.visible_to = "alice";
  mine.status = JobStatus::running;
  page = view.list(mine, kT0);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"j8", "j4", "j2"}));

  store::JobQuery range;
  range.from = kT0 + 1;
  range.to = kT0 + 3;
  range.type = domain::JobType::journal_entries;
  page = view.list(range, kT0);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"j5", "j4", "j3", "j2"}));
}

TEST(ApiJobViewTest, WhatWasLeftOutIsUnknownAndAListReachingItIsNotAnswered) {
  JobView view(3, 0);                                    // three finished jobs besides the active ones
  view.update(job("a0", kT0, JobStatus::running), kT0);  // active: stays held below the bound
  for (int i = 1; i <= 6; ++i) {
    view.update(job("c" + std::to_string(i), kT0 + i, JobStatus::completed), kT0);
  }
  EXPECT_EQ(view.size(), 4u);  // c4, c5, c6 and a0
  EXPECT_EQ(view.find("c1", kT0).presence, JobView::Presence::unknown);
  EXPECT_EQ(view.find("nope", kT0).presence, JobView::Presence::unknown);
  EXPECT_EQ(view.find("a0", kT0).presence, JobView::Presence::held);

  store::JobQuery q;
  q.limit = 2;
  auto page = view.list(q, kT0);
  ASSERT_TRUE(page);  // c6, c5 and one more (c4) decide it
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"c6", "c5"}));
  EXPECT_TRUE(page->has_more);
  q.limit = 3;
  EXPECT_FALSE(view.list(q, kT0));  // is there a fourth? only the database knows
  q.from = kT0 + 4;                 // nothing left out was created that late
  page = view.list(q, kT0);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"c6", "c5", "c4"}));
  EXPECT_FALSE(page->has_more);

  // The active job below the bound finishes: it is read from the database from then on.
  view.update(job("a0", kT0, JobStatus::completed), kT0);
  EXPECT_EQ(view.find("a0", kT0).presence, JobView::Presence::unknown);
}

TEST(ApiJobViewTest, AFinishedJobThatRetentionMayHaveDeletedIsReadFromTheDatabase) {
  JobView view(10, 1);  // retention: 1 day
  view.update(job("old", kT0, JobStatus::completed), kT0 + 1000);
  view.update(job("new", kT0 + 2 * kDay, JobStatus::completed), kT0 + 1000);
  const auto now = kT0 + 2 * kDay + 1000;
  // Not yet let go (no change was told since): read, as a list reaching it, from the database.
  EXPECT_EQ(view.find("old", now).presence, JobView::Presence::unknown);
  EXPECT_EQ(view.find("new", now).presence, JobView::Presence::held);
  store::JobQuery q;
  q.limit = 1;
  EXPECT_FALSE(view.list(q, now));  // whether there is a second job depends on the sweep
  // The next change lets it go: the view holds only what is above it from then on.
  view.update(job("newer", kT0 + 2 * kDay + 10, JobStatus::running), now);
  EXPECT_EQ(view.size(), 2u);
  EXPECT_EQ(view.find("old", now).presence, JobView::Presence::unknown);
  const auto page = view.list(q, now);
  ASSERT_TRUE(page);
  EXPECT_EQ(ids(*page), std::vector<std::string>{"newer"});
  EXPECT_TRUE(page->has_more);
  q.limit = 2;
  EXPECT_FALSE(view.list(q, now));
}

}  // namespace
}  // namespace mladmin::api

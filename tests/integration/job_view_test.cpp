// Job reads from memory (api/job_view.hpp, docs/performance.md "The job view"): after a SIGKILL
// mid-sync and a restart every job reads, by id and in the list's pages, as the database holds
// it, also the jobs the view leaves to the database; a pause, a resume, a cancel and the progress
// of a running job are seen by the very next GET; and a user still reads only their own jobs.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/job_json.hpp"
#include "domain/clock.hpp"
#include "store/store.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;

/// Every job the database holds that `visible_to` may read (all when unset), newest first.
std::vector<domain::Job> database_jobs(const std::string& url, const std::optional<std::string>& visible_to) {
  auto store = store::open_store(url, 1);
  std::vector<domain::Job> out;
  store::JobQuery q;
  q.visible_to = visible_to;
  q.limit = 500;
  for (;;) {
    const auto page = store->read_value([&](store::Reader& r) { return r.list_jobs(q); });
    out.insert(out.end(), page.items.begin(), page.items.end());
    if (!page.has_more) {
      return out;
    }
    q.before = std::make_pair(page.items.back().created_at, page.items.back().id);
  }
}

/// `got` is the job's JSON as the database holds it, read between `before` and `after` (ms): the
/// duration of a job that started and has not ended grows with the clock, so it lies between the
/// two, and every other field is equal.
::testing::AssertionResult same_job(const json::value& got, const domain::Job& job,
                                    domain::TimestampMs before, domain::TimestampMs after) {
  if (!got.is_object()) {
    return ::testing::AssertionFailure() << "not a job: " << json::serialize(got);
  }
  json::object expected = api::job_json(job, before);
  json::object seen = got.as_object();
  if (job.start_time && !job.end_time) {
    const auto* d = seen.if_contains("duration");
    const auto low = expected.at("duration").as_int64();
    const auto high = api::job_json(job, after).at("duration").as_int64();
    if (d == nullptr || !d->is_int64() || d->as_int64() < low || d->as_int64() > high) {
      return ::testing::AssertionFailure() << "job " << job.id << ": duration " << json::serialize(got)
                                           << " is not between " << low << " and " << high;
    }
    seen.erase("duration");
    expected.erase("duration");
  }
  // Boost.JSON's default parser may miss a double's last bit: the rate is compared as a number.
  const auto* rate = seen.if_contains("itemsPerSecond");
  const double want = expected.at("itemsPerSecond").to_number<double>();
  if (rate == nullptr || !rate->is_number() ||
      std::fabs(rate->to_number<double>() - want) > 1e-12 * std::max(1.0, std::fabs(want))) {
    return ::testing::AssertionFailure()
           << "job " << job.id << ": itemsPerSecond " << json::serialize(got) << " is not " << want;
  }
  seen.erase("itemsPerSecond");
  expected.erase("itemsPerSecond");
  if (seen != expected) {
    return ::testing::AssertionFailure() << "job " << job.id << "\n  API:      " << json::serialize(seen)
                                         << "\n  database: " << json::serialize(expected);
  }
  return ::testing::AssertionSuccess();
}

class JobViewTest : public IntegrationTest {
 protected:
  /// Reads every job `token` may read through the API, by id and through the list's pages of
  /// `page_size` (following nextCursor), and compares each with the database; a job the caller
  /// may not read answers 404 by id.
  void expect_api_equals_database(const std::string& token, const std::optional<std::string>& visible_to,
                                  std::size_t page_size) {
    auto& c = server().http();
    const domain::SystemClock clock;
    const auto before = clock.now_ms();
    const auto db = database_jobs(server().database_url(), visible_to);
    const auto everyone = database_jobs(server().database_url(), std::nullopt);
    std::vector<json::value> listed;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      const auto res = c.get("/api/ml/sync/jobs?limit=" + std::to_string(page_size) +
                                 (cursor.empty() ? "" : "&cursor=" + cursor),
                             token);
      ASSERT_EQ(res.status, 200) << res.body;
      const auto body = res.json();
      for (const auto& item : body.at("items").as_array()) {
        listed.push_back(item);
      }
      if (body.at("nextCursor").is_null()) {
        break;
      }
      cursor = std::string(body.at("nextCursor").as_string());
    }
    std::vector<json::value> read;
    for (const auto& job : db) {
      const auto res = c.get(job_path(job.id), token);
      ASSERT_EQ(res.status, 200) << job.id << ": " << res.body;
      read.push_back(res.json());
    }
    std::set<std::string> readable;
    for (const auto& job : db) {
      readable.insert(job.id);
    }
    for (const auto& job : everyone) {
      if (!readable.contains(job.id)) {
        const auto res = c.get(job_path(job.id), token);
        EXPECT_EQ(res.status, 404) << job.id << ": " << res.body;
        EXPECT_EQ(res.error_code(), "not_found");
      }
    }
    const auto after = clock.now_ms();
    ASSERT_EQ(listed.size(), db.size());
    for (std::size_t i = 0; i < db.size(); ++i) {
      EXPECT_TRUE(same_job(listed[i], db[i], before, after)) << "in the list, at " << i;
      EXPECT_TRUE(same_job(read[i], db[i], before, after)) << "by id";
    }
  }
};

TEST_F(JobViewTest, AfterASigkillMidSyncAndARestartEveryJobReadsAsTheDatabaseHoldsIt) {
  constexpr std::size_t kEntries = 30'000;
  auto& server = this->server();
  auto& c = server.http();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@view.test", "user");
  const auto bob = server.add_account("bob@view.test", "user");
  seed_journal_entries(server.database_url(), alice.id, kEntries, "je-");
  seed_goals(server.database_url(), bob.id, 30, "goal-");

  // Finished jobs: bob's goals, everyone's goals, alice's goals (none).
  ASSERT_EQ(str(server.run_job(kGoalSync, "{}", bob.token), "status"), "completed");
  ASSERT_EQ(str(server.run_job(kGoalSync, R"({"scope":"all"})", ml.token), "status"), "completed");
  ASSERT_EQ(str(server.run_job(kGoalSync, "{}", alice.token), "status"), "completed");
  // Paused: everyone's journal entries.
  const auto everyone = server.start_job(kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(everyone.is_object());
  const auto everyone_id = str(everyone, "id");
  ASSERT_EQ(str(server.jobs().wait_midway(everyone_id), "status"), "running")
      << "it finished before the pause";
  const auto paused = c.post(job_path(everyone_id, "pause"), "", ml.token);
  ASSERT_EQ(paused.status, 200) << paused.body;
  ASSERT_EQ(str(paused.json(), "status"), "paused");
  // Running when the process dies: alice's own journal entries.
  const auto mine = server.start_job(kJournalSync, "{}", alice.token);
  ASSERT_TRUE(mine.is_object());
  const auto mine_id = str(mine, "id");
  ASSERT_EQ(str(server.jobs().wait_midway(mine_id, 0.05), "status"), "running")
      << "it finished before the kill";

  const auto code = server.stop(SIGKILL);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 128 + SIGKILL);
  server.restart();
  // The killed job is requeued and goes on; once it is done nothing changes any more.
  EXPECT_EQ(str(server.wait_finished(mine_id), "status"), "completed");

  SCOPED_TRACE("default view");
  expect_api_equals_database(ml.token, std::nullopt, 2);
  expect_api_equals_database(alice.token, alice.id, 1);
  expect_api_equals_database(bob.token, bob.id, 50);

  // A view that holds one job of the history: the others come from the database, as they are.
  server.restart({.config = "[sync]\nview_jobs = 1\n"});
  SCOPED_TRACE("view_jobs = 1");
  expect_api_equals_database(ml.token, std::nullopt, 2);
  expect_api_equals_database(ml.token, std::nullopt, 50);
  expect_api_equals_database(alice.token, alice.id, 1);
}

TEST_F(JobViewTest, PauseResumeCancelAndProgressAreSeenByTheVeryNextGet) {
  constexpr std::size_t kEntries = 30'000;
  auto& server = this->server();
  auto& c = server.http();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@view.test", "user");
  seed_journal_entries(server.database_url(), alice.id, kEntries, "je-");
  const auto job = server.start_job(kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(job.is_object());
  const auto id = str(job, "id");

  // Progress: each state the event stream brings is (at least) what the next GET says.
  std::int64_t seen = 0;
  for (int i = 0; i < 3; ++i) {
    const auto event = server.jobs().wait_for_job(
        id, [&](const json::value& j) { return num(j, "processedItems") > seen || finished(j); });
    ASSERT_TRUE(event.is_object());
    ASSERT_FALSE(finished(event)) << "the sync finished before it could be paused";
    seen = num(event, "processedItems");
    const auto now = server.get_job(id, ml.token);
    EXPECT_GE(num(now, "processedItems"), seen);
  }

  const auto paused = c.post(job_path(id, "pause"), "", ml.token);
  ASSERT_EQ(paused.status, 200) << paused.body;
  ASSERT_EQ(str(paused.json(), "status"), "paused");
  auto now = server.get_job(id, ml.token);
  EXPECT_EQ(str(now, "status"), "paused");
  EXPECT_EQ(num(now, "processedItems"), num(paused.json(), "processedItems"));
  EXPECT_EQ(str(now, "updatedAt"), str(paused.json(), "updatedAt"));

  const auto resumed = c.post(job_path(id, "resume"), "", ml.token);
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  now = server.get_job(id, ml.token);
  EXPECT_NE(str(now, "status"), "paused");
  EXPECT_GE(num(now, "processedItems"), num(resumed.json(), "processedItems"));

  const auto cancelled = c.post(job_path(id, "cancel"), "", ml.token);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  ASSERT_EQ(str(cancelled.json(), "status"), "cancelled") << "the sync completed before the cancel";
  // Finished: nothing in it changes any more, so the next read is the cancel's answer exactly.
  EXPECT_EQ(server.get_job(id, ml.token), cancelled.json());
  const auto list = c.get("/api/ml/sync/jobs?status=cancelled", ml.token);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json().at("items").as_array().size(), 1u);
  EXPECT_EQ(list.json().at("items").as_array().front(), cancelled.json());
}

TEST_F(JobViewTest, AUserReadsOnlyTheirOwnJobsAlsoFromMemory) {
  auto& server = this->server();
  auto& c = server.http();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@view.test", "user");
  const auto bob = server.add_account("bob@view.test", "user");
  seed_goals(server.database_url(), alice.id, 5, "ag-");
  seed_goals(server.database_url(), bob.id, 5, "bg-");
  const auto alices = str(server.run_job(kGoalSync, "{}", alice.token), "id");
  const auto bobs = str(server.run_job(kGoalSync, "{}", bob.token), "id");
  const auto everyones = str(server.run_job(kGoalSync, R"({"scope":"all"})", ml.token), "id");
  // Started by ml_admin over alice's records: alice's to read (docs/security.md).
  const auto for_alice =
      str(server.run_job(kGoalSync, json::serialize(json::object{{"userId", alice.id}, {"mode", "full"}}),
                         ml.token),
          "id");
  const auto unknown = c.get(job_path("01900000-0000-7000-8000-000000000000"), alice.token);
  ASSERT_EQ(unknown.status, 404) << unknown.body;

  const auto ids = [](const HttpResponse& res) {
    std::set<std::string> out;
    const auto body = res.json();
    for (const auto& item : body.at("items").as_array()) {
      out.insert(str(item, "id"));
    }
    return out;
  };
  // Several rounds: the first request of a token may read the user from the database, the later
  // ones find the rights in memory and are answered from the view without the handler pool.
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    for (const auto& other : {bobs, everyones}) {
      const auto res = c.get(job_path(other), alice.token);
      EXPECT_EQ(res.status, 404) << res.body;
      EXPECT_EQ(res.body, unknown.body);  // as an id that does not exist: nothing is told
    }
    for (const auto& own : {alices, for_alice}) {
      EXPECT_EQ(c.get(job_path(own), alice.token).status, 200);
    }
    EXPECT_EQ(c.get(job_path(everyones), bob.token).status, 404);
    EXPECT_EQ(c.get(job_path(bobs), bob.token).status, 200);
    EXPECT_EQ(c.get(job_path(bobs), ml.token).status, 200);

    EXPECT_EQ(ids(c.get("/api/ml/sync/jobs", alice.token)), (std::set<std::string>{alices, for_alice}));
    EXPECT_EQ(ids(c.get("/api/ml/sync/jobs?userId=" + bob.id, alice.token)), std::set<std::string>{});
    EXPECT_EQ(ids(c.get("/api/ml/sync/jobs", bob.token)), std::set<std::string>{bobs});
    EXPECT_EQ(ids(c.get("/api/ml/sync/jobs", ml.token)),
              (std::set<std::string>{alices, bobs, everyones, for_alice}));
    EXPECT_EQ(ids(c.get("/api/ml/sync/jobs?userId=" + alice.id, ml.token)),
              (std::set<std::string>{alices, for_alice}));
  }
  // A bad filter is refused the same way from memory.
  const auto bad = c.get("/api/ml/sync/jobs?status=sleeping", alice.token);
  EXPECT_EQ(bad.status, 400) << bad.body;
}

}  // namespace
}  // namespace mladmin::test

// The life of a job after it finished, over real HTTP and a real SQLite file (docs/jobs.md):
// - retention: finished jobs whose end is older than the configured days (default 90) are
//   deleted with their item errors when the server starts; recent and active jobs stay, and a
//   retention of 0 keeps everything;
// - retry of a completed job: only the items that failed run again, on the same job with the next
//   attempt; counters add up at every observation, fixed records get their documents, records
//   still bad are failed again and are then the job's only item errors; a job without failed items
//   has nothing to retry (409); a retry killed mid-way goes on after a restart.
//
// Records and aged jobs are written straight into the server's database: the API refuses invalid
// records, and no API makes a job 100 days old.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "domain/job.hpp"
#include "store/store.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

/// Every current item error of the job, by item id, through the paged errors endpoint; checks
/// that `total` agrees with what the pages hold.
std::map<std::string, json::value> all_errors(HttpClient& c, const std::string& id,
                                              const std::string& token) {
  std::map<std::string, json::value> out;
  std::string cursor;
  std::int64_t total = -1;
  for (int page = 0; page < 1000; ++page) {
    std::string target = job_path(id, "errors");
    target += "?limit=500";
    if (!cursor.empty()) {
      target += "&cursor=";
      target += cursor;
    }
    auto res = c.get(target, token);
    EXPECT_EQ(res.status, 200) << res.body;
    const auto body = res.json();
    if (res.status != 200) {
      break;
    }
    total = num(body, "total");
    for (const auto& e : body.at("items").as_array()) {
      EXPECT_TRUE(out.emplace(str(e, "itemId"), e).second) << "listed twice: " << str(e, "itemId");
    }
    if (body.at("nextCursor").is_null()) {
      break;
    }
    cursor = str(body, "nextCursor");
  }
  EXPECT_EQ(total, static_cast<std::int64_t>(out.size()));
  return out;
}

std::string bad_id(int i) {
  std::string id = "bad-";
  id += std::to_string(i);
  return id;
}

/// Journal entries of `user_id` that a sync refuses, each for one of three reasons.
void seed_bad_entries(const std::string& url, const std::string& user_id, int from, int to) {
  seed(url, [&](store::Writer& w) {
    for (int i = from; i < to; ++i) {
      auto e = valid_journal_entry(bad_id(i), user_id);
      switch (i % 3) {
        case 0:
          e.body = "   ";
          break;
        case 1:
          e.mood = 9;
          break;
        default:
          e.title = "";
          break;
      }
      w.save_journal_entry(e);
    }
  });
}

/// Rewrites these records with content a sync accepts.
void fix_entries(const std::string& url, const std::string& user_id, int from, int to) {
  seed(url, [&](store::Writer& w) {
    for (int i = from; i < to; ++i) {
      auto e = valid_journal_entry(bad_id(i), user_id);
      w.save_journal_entry(e);
    }
  });
}

std::int64_t count_sql(const std::string& url, const std::string& sql_head, const std::string& id) {
  std::string sql = sql_head;
  sql += " '";
  sql += id;
  sql += "'";
  return query_int(url, sql);
}

// ---- retention ----------------------------------------------------------------------------------

/// A database holding, for one ml_admin: two jobs that finished 100 days ago (one of them with
/// item errors), one that finished 89 days ago, and one still active (interrupted by a stop)
/// though created 100 days ago. Each test then starts a server on it.
class JobRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = std::string("sqlite://") + dir_.file("jobs.db");
    IntegrationServer server({.database_url = url_});
    ml_ = server.ml_admin();
    seed_journal_entries(url_, ml_.id, 4, "je-");
    seed_bad_entries(url_, ml_.id, 0, 3);
    const auto with_errors = server.run_job(kJournalSync, R"({"mode":"full"})", ml_.token);
    ASSERT_EQ(str(with_errors, "status"), "completed");
    ASSERT_EQ(num(with_errors, "failedItems"), 3);
    old_with_errors_ = str(with_errors, "id");
    const auto goals = server.run_job(kGoalSync, "{}", ml_.token);
    ASSERT_EQ(str(goals, "status"), "completed");
    old_goals_ = str(goals, "id");
    const auto again = server.run_job(kJournalSync, "{}", ml_.token);
    ASSERT_EQ(str(again, "status"), "completed");
    recent_ = str(again, "id");
    const auto code = server.stop(SIGTERM);
    ASSERT_TRUE(code.has_value());
    ASSERT_EQ(*code, 0);

    age(old_with_errors_, 100);
    age(old_goals_, 100);
    age(recent_, 89);
    seed(url_, [&](store::Writer& w) {
      domain::Job active;
      active.id = active_;
      active.user_id = ml_.id;
      active.type = domain::JobType::goals;
      active.scope = domain::JobScope::all;
      active.status = domain::JobStatus::interrupted;
      active.created_at = active.updated_at = now_ms() - 100 * kDayMs;
      active.start_time = active.created_at;
      ASSERT_TRUE(w.insert_job(active));
    });
    ASSERT_EQ(count_sql(url_, "SELECT count(*) FROM job_errors WHERE job_id =", old_with_errors_), 3);
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  /// Moves every time of the job `days` into the past.
  void age(const std::string& id, int days) {
    const std::string shift = std::to_string(days * kDayMs);
    std::string sql = "UPDATE jobs SET created_at = created_at - ";
    sql += shift;
    sql += ", updated_at = updated_at - ";
    sql += shift;
    sql += ", start_time = start_time - ";
    sql += shift;
    sql += ", end_time = end_time - ";
    sql += shift;
    sql += " WHERE id = '";
    sql += id;
    sql += "'";
    exec_sql(url_, sql);
  }

  int status_of(HttpClient& c, const std::string& id) { return c.get(job_path(id), ml_.token).status; }

  std::set<std::string> listed(HttpClient& c) {
    auto res = c.get("/api/ml/sync/jobs?limit=500", ml_.token);
    EXPECT_EQ(res.status, 200) << res.body;
    std::set<std::string> ids;
    const auto body = res.json();
    for (const auto& j : body.at("items").as_array()) {
      ids.insert(str(j, "id"));
    }
    return ids;
  }

  TempDir dir_;
  std::string url_;
  Account ml_;
  std::string old_with_errors_;
  std::string old_goals_;
  std::string recent_;
  const std::string active_ = "active-since-100-days";
};

TEST_F(JobRetentionTest, FinishedJobsPast90DaysAreDeletedAtStartWhileRecentAndActiveOnesStay) {
  IntegrationServer server({.database_url = url_});  // the default retention: 90 days
  auto& c = server.http();

  for (const auto& gone : {old_with_errors_, old_goals_}) {
    auto res = c.get(job_path(gone), ml_.token);
    EXPECT_EQ(res.status, 404) << gone << ": " << res.body;
    EXPECT_EQ(res.error_code(), "not_found");
    EXPECT_EQ(c.get(job_path(gone, "errors"), ml_.token).status, 404);
  }
  EXPECT_EQ(count_sql(url_, "SELECT count(*) FROM job_errors WHERE job_id =", old_with_errors_), 0);
  EXPECT_EQ(status_of(c, recent_), 200);
  EXPECT_EQ(status_of(c, active_), 200);
  const auto ids = listed(c);
  EXPECT_EQ(ids, (std::set<std::string>{recent_, active_}));
  // The documents those jobs wrote are not history: they stay.
  EXPECT_EQ(query_int(url_, "SELECT count(*) FROM documents"), 4);

  const auto log = server.log();
  EXPECT_NE(log.find("deleted finished jobs past retention"), std::string::npos) << log;
  EXPECT_NE(log.find("jobs=2 item_errors=3 retention_days=90"), std::string::npos) << log;

  // The active job was left alone and, requeued at start, runs to its end.
  const auto active = server.wait_finished(active_);
  EXPECT_EQ(str(active, "status"), "completed");
}

TEST_F(JobRetentionTest, RetentionOfZeroDaysKeepsEveryJob) {
  IntegrationServer server({.config = "[sync]\nretention_days = 0\n", .database_url = url_});
  auto& c = server.http();

  for (const auto& id : {old_with_errors_, old_goals_, recent_, active_}) {
    EXPECT_EQ(status_of(c, id), 200) << id;
  }
  EXPECT_EQ(listed(c), (std::set<std::string>{old_with_errors_, old_goals_, recent_, active_}));
  EXPECT_EQ(count_sql(url_, "SELECT count(*) FROM job_errors WHERE job_id =", old_with_errors_), 3);
  EXPECT_EQ(all_errors(c, old_with_errors_, ml_.token).size(), 3u);
  EXPECT_EQ(server.log().find("deleted finished jobs"), std::string::npos) << server.log();
}

TEST_F(JobRetentionTest, ANegativeRetentionIsRefusedAtStartNamingTheKey) {
  const auto result =
      serve_refused("[sync]\nretention_days = -1\n", {{"MLADMIN_JWT_SECRET", kTestJwtSecret}}, url_);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("sync.retention_days"), std::string::npos) << result.err;
  // Nothing was deleted by a server that did not start.
  EXPECT_EQ(count_sql(url_, "SELECT count(*) FROM jobs WHERE id =", old_goals_), 1);
}

// ---- retry of failed items ----------------------------------------------------------------------

class RetryFailedItemsTest : public IntegrationTest {
 protected:
  /// POSTs the retry and expects 200; returns the job it answers.
  json::value retry(HttpClient& c, const std::string& id, const std::string& token) {
    auto res = c.post(job_path(id, "retry"), "", token);
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json();
  }
};

TEST_F(RetryFailedItemsTest, RetryOfACompletedJobProcessesOnlyItsFailedItemsAgain) {
  auto& server = this->server();
  const auto alice = server.add_account("alice@jobs.test", "user");
  const auto& url = server.database_url();
  auto& c = server.http();
  constexpr int kBad = 600;
  constexpr int kFixed = 400;  // bad-0 … bad-399 get fixed; bad-400 … bad-599 stay bad

  // A first sync gives "flip" a document; the job under test then finds it (and 600 others) bad.
  seed_journal_entries(url, alice.id, 20, "good-");
  seed(url, [&](store::Writer& w) {
    auto e = valid_journal_entry("flip", alice.id);
    w.save_journal_entry(e);
  });
  ASSERT_EQ(str(server.run_job(kJournalSync, "{}", alice.token), "status"), "completed");
  seed_journal_entries(url, alice.id, 10, "more-");
  seed_bad_entries(url, alice.id, 0, kBad);
  seed(url, [&](store::Writer& w) {
    auto e = valid_journal_entry("flip", alice.id);
    e.body = "";
    w.save_journal_entry(e);
  });
  const auto first = server.run_job(kJournalSync, "{}", alice.token);
  ASSERT_TRUE(counts_add_up(first));
  ASSERT_EQ(str(first, "status"), "completed");
  ASSERT_EQ(num(first, "totalItems"), 10 + kBad + 1);
  ASSERT_EQ(num(first, "syncedItems"), 10);
  ASSERT_EQ(num(first, "failedItems"), kBad + 1);
  const auto id = str(first, "id");
  EXPECT_EQ(all_errors(c, id, alice.token).size(), static_cast<std::size_t>(kBad + 1));

  // Some records are fixed, "flip" is deleted, the rest stay bad.
  fix_entries(url, alice.id, 0, kFixed);
  seed(url, [&](store::Writer& w) {
    auto e = *w.find_journal_entry("flip");
    e.deleted_at = e.updated_at + 1;
    w.save_journal_entry(e);
  });

  // One active job per scope and type: another job holding the slot makes the retry wait.
  seed(url, [&](store::Writer& w) {
    domain::Job blocker;
    blocker.id = "blocker";
    blocker.user_id = alice.id;
    blocker.scope_user_id = alice.id;
    blocker.status = domain::JobStatus::interrupted;
    blocker.created_at = blocker.updated_at = 1;
    ASSERT_TRUE(w.insert_job(blocker));
  });
  auto busy = c.post(job_path(id, "retry"), "", alice.token);
  EXPECT_EQ(busy.status, 409) << busy.body;
  EXPECT_EQ(busy.error_code(), "sync_already_active");
  EXPECT_EQ(str(busy.json().at("error").at("details"), "activeJobId"), "blocker");
  ASSERT_EQ(c.post(job_path("blocker", "cancel"), "", alice.token).status, 200);

  // The retry requeues the same job: its failed items leave the counts until they run again.
  const auto queued = retry(c, id, alice.token);
  ASSERT_TRUE(queued.is_object());
  EXPECT_EQ(str(queued, "id"), id);
  EXPECT_EQ(num(queued, "attempt"), 2);
  EXPECT_EQ(num(queued, "totalItems"), 10 + kBad + 1);
  EXPECT_EQ(num(queued, "failedItems"), 0);
  EXPECT_EQ(num(queued, "processedItems"), 10);
  EXPECT_TRUE(queued.at("errors").as_array().empty());
  EXPECT_TRUE(queued.at("endTime").is_null());
  EXPECT_TRUE(counts_add_up(queued));
  const auto status = str(queued, "status");
  EXPECT_TRUE(status == "queued" || status == "running") << status;

  const auto done = server.wait_finished(id);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(str(done, "id"), id);
  EXPECT_EQ(num(done, "attempt"), 2);
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(num(done, "totalItems"), 10 + kBad + 1);
  EXPECT_EQ(num(done, "processedItems"), 10 + kBad + 1);
  EXPECT_EQ(num(done, "syncedItems"), 10 + kFixed + 1);  // the fixed ones, and flip's removal
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(num(done, "failedItems"), kBad - kFixed);
  EXPECT_EQ(num(done, "errorCount"), kBad - kFixed);

  // The job's item errors are now exactly the records still bad, found by attempt 2.
  std::set<std::string> still_bad;
  for (int i = kFixed; i < kBad; ++i) {
    still_bad.insert(bad_id(i));
  }
  const auto& inline_errors = done.at("errors").as_array();
  EXPECT_EQ(inline_errors.size(), 20u);
  for (const auto& e : inline_errors) {
    EXPECT_TRUE(still_bad.contains(str(e, "itemId"))) << str(e, "itemId");
  }
  const auto errors = all_errors(c, id, alice.token);
  std::set<std::string> listed;
  for (const auto& [item, e] : errors) {
    listed.insert(item);
    EXPECT_EQ(num(e, "attempt"), 2) << item;
  }
  EXPECT_EQ(listed, still_bad);
  EXPECT_EQ(count_sql(url, "SELECT count(*) FROM job_errors WHERE job_id =", id), kBad - kFixed);

  // Fixed records have their documents, flip's went, the bad ones have none.
  EXPECT_EQ(query_int(url,
                      "SELECT count(*) FROM documents WHERE source_id LIKE 'bad-%' AND "
                      "CAST(substr(source_id, 5) AS INTEGER) < 400"),
            kFixed);
  EXPECT_EQ(query_int(url,
                      "SELECT count(*) FROM documents WHERE source_id LIKE 'bad-%' AND "
                      "CAST(substr(source_id, 5) AS INTEGER) >= 400"),
            0);
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents WHERE source_id = 'flip'"), 0);
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents"), 20 + 10 + kFixed);

  // The next incremental sync finds the fixes and the deletion already done: the retry left the
  // scope's watermark where the job's first run had put it.
  const auto next = server.run_job(kJournalSync, "{}", alice.token);
  EXPECT_EQ(str(next, "status"), "completed");
  EXPECT_EQ(num(next, "totalItems"), kFixed + 1);
  EXPECT_EQ(num(next, "skippedItems"), kFixed + 1);
  EXPECT_EQ(num(next, "syncedItems"), 0);

  // Fix the rest: a third attempt takes the 200 and leaves no failure.
  fix_entries(url, alice.id, kFixed, kBad);
  const auto third = retry(c, id, alice.token);
  EXPECT_EQ(num(third, "attempt"), 3);
  EXPECT_EQ(num(third, "failedItems"), 0);
  const auto clean = server.wait_finished(id);
  EXPECT_EQ(str(clean, "status"), "completed");
  EXPECT_EQ(num(clean, "attempt"), 3);
  EXPECT_EQ(num(clean, "processedItems"), 10 + kBad + 1);
  EXPECT_EQ(num(clean, "syncedItems"), 10 + kBad + 1);
  EXPECT_EQ(num(clean, "failedItems"), 0);
  EXPECT_TRUE(clean.at("errors").as_array().empty());
  EXPECT_TRUE(all_errors(c, id, alice.token).empty());
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents"), 20 + 10 + kBad);

  // Now there is nothing left to retry.
  auto nothing = c.post(job_path(id, "retry"), "", alice.token);
  EXPECT_EQ(nothing.status, 409) << nothing.body;
  EXPECT_EQ(nothing.error_code(), "nothing_to_retry");
}

TEST_F(RetryFailedItemsTest, RetryOfACompletedJobWithoutFailedItemsIsAConflictAndChangesNothing) {
  auto& server = this->server();
  const auto alice = server.add_account("alice@jobs.test", "user");
  seed_journal_entries(server.database_url(), alice.id, 5, "je-");
  auto& c = server.http();
  const auto done = server.run_job(kJournalSync, "{}", alice.token);
  ASSERT_EQ(str(done, "status"), "completed");
  ASSERT_EQ(num(done, "failedItems"), 0);
  const auto id = str(done, "id");

  auto res = c.post(job_path(id, "retry"), "", alice.token);
  EXPECT_EQ(res.status, 409) << res.body;
  EXPECT_EQ(res.error_code(), "nothing_to_retry");
  EXPECT_NE(res.error_message().find("nothing to retry"), std::string::npos) << res.error_message();
  const auto after = c.get(job_path(id), alice.token).json();
  EXPECT_EQ(str(after, "status"), "completed");
  EXPECT_EQ(num(after, "attempt"), 1);
  EXPECT_EQ(str(after, "updatedAt"), str(done, "updatedAt"));

  // The other moves of a completed job stay illegal transitions.
  for (const char* action : {"resume", "pause", "cancel"}) {
    auto illegal = c.post(job_path(id, action), "", alice.token);
    EXPECT_EQ(illegal.status, 409) << action << ": " << illegal.body;
    EXPECT_EQ(illegal.error_code(), "illegal_transition") << action;
  }
  // Someone who may not read the job gets 404, not a hint that it exists.
  const auto bob = server.add_account("bob@jobs.test", "user");
  EXPECT_EQ(c.post(job_path(id, "retry"), "", bob.token).status, 404);
}

TEST_F(RetryFailedItemsTest, ARetryKilledMidWayGoesOnAfterARestartAndCountsEachItemOnce) {
  // Enough failed items that the retry is still running when the kill comes: the engine commits
  // every 50 ms, and this takes a second or more under the sanitizers.
  constexpr int kBad = 8'000;
  constexpr int kFixed = 5'000;
  auto& server = this->server();
  const auto alice = server.add_account("alice@jobs.test", "user");
  const auto url = server.database_url();
  seed_bad_entries(url, alice.id, 0, kBad);
  std::string id;
  {
    auto& c = server.http();
    const auto done = server.run_job(kJournalSync, "{}", alice.token);
    ASSERT_EQ(str(done, "status"), "completed");
    ASSERT_EQ(num(done, "failedItems"), kBad);
    id = str(done, "id");
    fix_entries(url, alice.id, 0, kFixed);
    const auto queued = retry(c, id, alice.token);
    ASSERT_EQ(num(queued, "processedItems"), 0);
    const auto midway = server.wait_for_job(id, [&](const json::value& j) {
      return finished(j) || (str(j, "status") == "running" && num(j, "processedItems") > 0);
    });
    ASSERT_EQ(str(midway, "status"), "running") << "the retry finished before the kill";
  }
  const auto code = server.stop(SIGKILL);
  ASSERT_TRUE(code.has_value());
  {
    // What the dead process left: every item counted once, either processed or still to retry,
    // and as many documents as items synced.
    auto store = store::open_store(url, 1);
    const auto left = store->read_value([&](store::Reader& r) { return r.find_job(id); });
    ASSERT_TRUE(left.has_value());
    EXPECT_EQ(left->status, domain::JobStatus::running);
    EXPECT_EQ(left->attempt, 2);
    EXPECT_LT(left->counters.processed(), kBad);
    const auto to_retry =
        count_sql(url, "SELECT count(*) FROM job_errors WHERE attempt = 1 AND job_id =", id);
    EXPECT_EQ(left->counters.processed() + to_retry, kBad);
    EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents"), left->counters.synced);
  }

  server.restart();
  auto& c = server.http();
  const auto done = server.wait_finished(id);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "attempt"), 2);
  EXPECT_EQ(num(done, "totalItems"), kBad);
  EXPECT_EQ(num(done, "processedItems"), kBad);
  EXPECT_EQ(num(done, "syncedItems"), kFixed);
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(num(done, "failedItems"), kBad - kFixed);
  EXPECT_EQ(count_sql(url, "SELECT count(*) FROM job_errors WHERE job_id =", id), kBad - kFixed);
  EXPECT_EQ(count_sql(url, "SELECT count(*) FROM job_errors WHERE attempt = 2 AND job_id =", id),
            kBad - kFixed);
  EXPECT_EQ(all_errors(c, id, alice.token).size(), static_cast<std::size_t>(kBad - kFixed));
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents"), kFixed);
  EXPECT_EQ(
      query_int(url, "SELECT count(*) FROM documents WHERE CAST(substr(source_id, 5) AS INTEGER) >= 5000"),
      0);
}

}  // namespace
}  // namespace mladmin::test

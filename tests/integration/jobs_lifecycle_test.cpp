// The life of a job after it finished, over real HTTP and a real SQLite file (SPEC §2):
// retention: finished jobs whose end is older than the configured days (default 90) are deleted
// with their item errors when the server starts; recent and active jobs stay, and a retention of
// 0 keeps everything.
//
// Records and aged jobs are written straight into the server's database: the API refuses invalid
// records, and no API makes a job 100 days old.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "domain/job.hpp"
#include "store/store.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "Copper-Willow-61-Harbor";
constexpr const char* kJournalSync = "/api/ml/sync/journal-entries";
constexpr const char* kGoalSync = "/api/ml/sync/goals";
constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr auto kJobDeadline = 120s;
constexpr auto kPollInterval = 10ms;

std::string str(const json::value& v, const char* key) {
  return std::string(v.at(key).as_string());
}

std::int64_t num(const json::value& v, const char* key) {
  return v.at(key).to_number<std::int64_t>();
}

std::string job_path(const std::string& id, const char* action = nullptr) {
  std::string path = "/api/ml/sync/job/";
  path += id;
  if (action != nullptr) {
    path += '/';
    path += action;
  }
  return path;
}

bool finished(const json::value& job) {
  const auto s = str(job, "status");
  return s == "completed" || s == "failed" || s == "cancelled";
}

/// processed = synced + skipped + failed ≤ total, and progress follows from them (SPEC §2).
::testing::AssertionResult counts_add_up(const json::value& job) {
  const auto total = num(job, "totalItems");
  const auto processed = num(job, "processedItems");
  const auto sum = num(job, "syncedItems") + num(job, "skippedItems") + num(job, "failedItems");
  if (processed != sum || processed > total) {
    return ::testing::AssertionFailure() << "processedItems " << processed << ", synced+skipped+failed "
                                         << sum << ", totalItems " << total << " in " << json::serialize(job);
  }
  const auto expected = total > 0 ? (200 * processed + total) / (2 * total) : 0;
  if (total > 0 && num(job, "progress") != expected) {
    return ::testing::AssertionFailure()
           << "progress " << num(job, "progress") << " but expected " << expected;
  }
  if (num(job, "errorCount") != num(job, "failedItems")) {
    return ::testing::AssertionFailure()
           << "errorCount " << num(job, "errorCount") << " != failedItems " << num(job, "failedItems");
  }
  return ::testing::AssertionSuccess();
}

struct Account {
  std::string id;
  std::string token;
};

Account add_account(ServerProcess& server, const std::string& email, const std::string& role) {
  Account a;
  a.id = server.add_user(email, kPassword, role, "Jobs user");
  HttpClient c(server.port());
  a.token = c.login(email, kPassword);
  return a;
}

/// Polls the job until `done` holds (or the deadline), checking that its counts add up at every
/// observation; returns the last one.
json::value poll(HttpClient& c, const std::string& id, const std::string& token,
                 const std::function<bool(const json::value&)>& done) {
  const auto until = std::chrono::steady_clock::now() + kJobDeadline;
  for (;;) {
    auto res = c.get(job_path(id), token);
    if (res.status != 200) {
      ADD_FAILURE() << "GET job " << id << " -> " << res.status << " " << res.body;
      return json::value();
    }
    auto job = res.json();
    EXPECT_TRUE(counts_add_up(job));
    if (done(job) || std::chrono::steady_clock::now() > until) {
      return job;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

/// Starts a sync (expects 202) and polls the job until it is finished.
json::value run_sync(HttpClient& c, const char* path, const std::string& body, const std::string& token) {
  auto res = c.post(path, body, token);
  EXPECT_EQ(res.status, 202) << path << " " << body << " -> " << res.body;
  const auto job = res.json();
  if (res.status != 202 || !job.is_object()) {
    return json::value();
  }
  return poll(c, str(job, "id"), token, finished);
}

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
    ServerProcess::Options options;
    options.database_url = url_;
    ServerProcess server(options);
    ml_ = add_account(server, "ml@jobs.test", "ml_admin");
    seed_journal_entries(url_, ml_.id, 4, "je-");
    seed_bad_entries(url_, ml_.id, 0, 3);
    HttpClient c(server.port());
    const auto with_errors = run_sync(c, kJournalSync, R"({"mode":"full"})", ml_.token);
    ASSERT_EQ(str(with_errors, "status"), "completed");
    ASSERT_EQ(num(with_errors, "failedItems"), 3);
    old_with_errors_ = str(with_errors, "id");
    const auto goals = run_sync(c, kGoalSync, "{}", ml_.token);
    ASSERT_EQ(str(goals, "status"), "completed");
    old_goals_ = str(goals, "id");
    const auto again = run_sync(c, kJournalSync, "{}", ml_.token);
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
  ServerProcess::Options options;
  options.database_url = url_;
  ServerProcess server(options);  // the default retention: 90 days
  HttpClient c(server.port());

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
  const auto active = c.wait_for_job(active_, ml_.token);
  EXPECT_EQ(str(active, "status"), "completed");
}

TEST_F(JobRetentionTest, RetentionOfZeroDaysKeepsEveryJob) {
  const auto config = dir_.file("keep.toml");
  std::ofstream(config) << "[sync]\nretention_days = 0\n";
  ServerProcess::Options options;
  options.database_url = url_;
  options.extra_args = {"--config", config};
  ServerProcess server(options);
  HttpClient c(server.port());

  for (const auto& id : {old_with_errors_, old_goals_, recent_, active_}) {
    EXPECT_EQ(status_of(c, id), 200) << id;
  }
  EXPECT_EQ(listed(c), (std::set<std::string>{old_with_errors_, old_goals_, recent_, active_}));
  EXPECT_EQ(count_sql(url_, "SELECT count(*) FROM job_errors WHERE job_id =", old_with_errors_), 3);
  EXPECT_EQ(all_errors(c, old_with_errors_, ml_.token).size(), 3u);
  EXPECT_EQ(server.log().find("deleted finished jobs"), std::string::npos) << server.log();
}

TEST_F(JobRetentionTest, ANegativeRetentionIsRefusedAtStartNamingTheKey) {
  const auto config = dir_.file("bad.toml");
  std::ofstream(config) << "[sync]\nretention_days = -1\n";
  const auto result =
      run_mladmin({"serve", "--config", config, "--listen", "127.0.0.1:0", "--database", url_}, "",
                  {{"MLADMIN_JWT_SECRET", kTestJwtSecret}});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("sync.retention_days"), std::string::npos) << result.err;
  // Nothing was deleted by a server that did not start.
  EXPECT_EQ(count_sql(url_, "SELECT count(*) FROM jobs WHERE id =", old_goals_), 1);
}

}  // namespace
}  // namespace mladmin::test

// GET /api/ml/stats over real HTTP against the real binary: document counts by type and owner,
// pending changes before and after syncs, job and item success rates, the series with its empty
// buckets, failures grouped by kind, and the refusals (bad parameters, role, token).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "domain/clock.hpp"
#include "domain/stats.hpp"
#include "store/store.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

double real(const boost::json::value& v, std::string_view key) {
  const auto& x = v.at(key);
  return x.is_double() ? x.as_double() : static_cast<double>(x.as_int64());
}

std::string iso(domain::TimestampMs t) {
  return domain::format_iso8601(t);
}

domain::TimestampMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class StatsTest : public ::testing::Test {
 protected:
  StatsTest() : c_(server_.http()) {
    admin_ = server_.admin().token;
    ml_ = server_.ml_admin().token;
    const auto alice = server_.add_account("alice@stats.test", "user", "Alice");
    alice_ = alice.id;
    alice_token_ = alice.token;
    bob_ = server_.add_account("bob@stats.test", "user", "Bob").id;
    carol_ = server_.add_account("carol@stats.test", "user", "Carol").id;
  }

  boost::json::value stats(const std::string& query = "") {
    const auto res = c_.get("/api/ml/stats" + query, ml_);
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json();
  }

  void sync_all(const std::string& path, const std::string& mode) {
    const auto job = server_.run_job(path, R"({"scope": "all", "mode": ")" + mode + "\"}", ml_);
    ASSERT_EQ(job.at("status").as_string(), "completed") << boost::json::serialize(job);
  }

  /// A 400 that names `field` in its message and details.
  void expect_bad(const std::string& query, const std::string& field, const std::string& says = "") {
    const auto res = c_.get("/api/ml/stats" + query, ml_);
    ASSERT_EQ(res.status, 400) << query << " -> " << res.body;
    EXPECT_NE(res.error_message().find(field), std::string::npos) << query << " -> " << res.body;
    EXPECT_EQ(res.json().at("error").at("details").at("field").as_string(), field) << res.body;
    EXPECT_NE(res.error_message().find(says), std::string::npos) << query << " -> " << res.body;
  }

  IntegrationServer server_;
  HttpClient& c_;
  std::string alice_, bob_, carol_;
  std::string admin_, ml_, alice_token_;
};

TEST_F(StatsTest, FiguresFollowSyncsDeletesAndNewRecords) {
  const auto url = server_.database_url();
  seed(url, [&](store::Writer& w) {
    for (int i = 0; i < 5; ++i) {
      auto e = valid_journal_entry("alice-j" + std::to_string(i), alice_);
      w.save_journal_entry(e);
    }
    for (int mood : {7, 9}) {
      auto e = valid_journal_entry("alice-bad-mood-" + std::to_string(mood), alice_);
      e.mood = mood;
      w.save_journal_entry(e);
    }
    for (int i = 0; i < 2; ++i) {
      auto g = valid_goal("alice-g" + std::to_string(i), alice_);
      w.save_goal(g);
    }
    auto bad_goal = valid_goal("alice-bad-goal", alice_);
    bad_goal.status = "x";
    w.save_goal(bad_goal);
  });
  seed_journal_entries(url, bob_, 3, "bob-j");
  seed_journal_entries(url, carol_, 4, "carol-j");

  const auto t0 = now_ms();
  const std::string range = "?from=" + iso(t0 - 2 * domain::kHourMs) + "&to=" + iso(t0 + domain::kHourMs);
  auto s = stats(range);
  EXPECT_EQ(num(s.at("documents"), "total"), 0);
  EXPECT_EQ(s.at("documents").at("topUsers").as_array().size(), 0u);
  EXPECT_EQ(num(s.at("pending"), "journal_entries"), 14);
  EXPECT_EQ(num(s.at("pending"), "goals"), 3);
  EXPECT_TRUE(s.at("jobs").at("successRate").is_null());
  EXPECT_TRUE(s.at("jobs").at("items").at("successRate").is_null());

  sync_all("/api/ml/sync/journal-entries", "full");
  sync_all("/api/ml/sync/goals", "full");

  s = stats(range);
  EXPECT_EQ(s.at("range").at("bucket").as_string(), "hour");
  const auto& docs = s.at("documents");
  EXPECT_EQ(num(docs, "total"), 14);
  EXPECT_EQ(num(docs.at("byType"), "journal_entries"), 12);
  EXPECT_EQ(num(docs.at("byType"), "goals"), 2);
  const auto& top = docs.at("topUsers").as_array();
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].at("userId").as_string(), alice_);
  EXPECT_EQ(top[0].at("email").as_string(), "alice@stats.test");
  EXPECT_EQ(top[0].at("name").as_string(), "Alice");
  EXPECT_EQ(num(top[0], "count"), 7);
  EXPECT_EQ(num(top[0].at("byType"), "journal_entries"), 5);
  EXPECT_EQ(num(top[0].at("byType"), "goals"), 2);
  EXPECT_EQ(top[1].at("userId").as_string(), carol_);
  EXPECT_EQ(num(top[1], "count"), 4);
  EXPECT_EQ(top[2].at("userId").as_string(), bob_);
  EXPECT_EQ(num(top[2], "count"), 3);
  EXPECT_EQ(num(s.at("pending"), "journal_entries"), 0);
  EXPECT_EQ(num(s.at("pending"), "goals"), 0);

  const auto& jobs = s.at("jobs");
  EXPECT_EQ(num(jobs, "completed"), 2);
  EXPECT_EQ(num(jobs, "failed"), 0);
  EXPECT_EQ(num(jobs, "cancelled"), 0);
  EXPECT_DOUBLE_EQ(real(jobs, "successRate"), 1.0);
  EXPECT_EQ(num(jobs.at("items"), "synced"), 14);
  EXPECT_EQ(num(jobs.at("items"), "skipped"), 0);
  EXPECT_EQ(num(jobs.at("items"), "failed"), 3);
  EXPECT_DOUBLE_EQ(real(jobs.at("items"), "successRate"), 14.0 / 17.0);

  // One bucket per hour of the range, each there even when empty; both jobs in their hour.
  const auto& series = s.at("series").as_array();
  const auto origin = domain::bucket_start(t0 - 2 * domain::kHourMs, domain::StatsBucket::hour);
  ASSERT_EQ(static_cast<std::int64_t>(series.size()),
            domain::bucket_count(t0 - 2 * domain::kHourMs, t0 + domain::kHourMs, domain::StatsBucket::hour));
  std::int64_t jobs_in_series = 0;
  std::int64_t items_in_series = 0;
  for (std::size_t i = 0; i < series.size(); ++i) {
    EXPECT_EQ(series[i].at("start").as_string(),
              iso(origin + static_cast<std::int64_t>(i) * domain::kHourMs));
    jobs_in_series += num(series[i], "jobs");
    items_in_series += num(series[i], "items");
    if (num(series[i], "jobs") == 0) {
      EXPECT_EQ(num(series[i], "items"), 0);
      EXPECT_DOUBLE_EQ(real(series[i], "itemsPerSecond"), 0.0);
      EXPECT_DOUBLE_EQ(real(series[i], "avgDurationMs"), 0.0);
      EXPECT_EQ(num(series[i], "maxDurationMs"), 0);
    } else {
      EXPECT_GE(real(series[i], "itemsPerSecond"), 0.0);
      EXPECT_GE(real(series[i], "avgDurationMs"), 0.0);
    }
  }
  EXPECT_EQ(jobs_in_series, 2);
  EXPECT_EQ(items_in_series, 17);
  EXPECT_GE(series.size(), 3u);
  EXPECT_EQ(num(series[0], "jobs"), 0);  // two hours before the syncs

  // Item errors grouped by kind, most frequent first, with one actual reason as example.
  const auto& item_failures = s.at("failures").at("items").as_array();
  ASSERT_EQ(item_failures.size(), 2u) << boost::json::serialize(s.at("failures"));
  EXPECT_EQ(item_failures[0].at("reason").as_string(), "mood N is outside 1-5");
  EXPECT_EQ(num(item_failures[0], "count"), 2);
  EXPECT_NE(item_failures[0].at("example").as_string().find("is outside 1-5"), std::string::npos);
  EXPECT_EQ(item_failures[1].at("reason").as_string(), "status '…' is neither open nor done");
  EXPECT_EQ(item_failures[1].at("example").as_string(), "status 'x' is neither open nor done");
  EXPECT_EQ(num(item_failures[1], "count"), 1);
  EXPECT_EQ(s.at("failures").at("jobs").as_array().size(), 0u);

  // Carol is deleted: her 4 records become tombstones, so her documents stay until the next sync
  // removes them; her name and email go at once.
  ASSERT_EQ(c_.del("/api/ml/admin/users/" + carol_, admin_).status, 204);
  s = stats(range);
  EXPECT_EQ(s.at("documents").at("topUsers").as_array()[1].at("userId").as_string(), carol_);
  EXPECT_TRUE(s.at("documents").at("topUsers").as_array()[1].at("email").is_null());
  EXPECT_TRUE(s.at("documents").at("topUsers").as_array()[1].at("name").is_null());

  // A new record and a deletion wait for the next sync, which settles them.
  seed_journal_entries(url, bob_, 1, "bob-new-");
  ASSERT_EQ(c_.del("/api/journal-entries/alice-j0", alice_token_).status, 204);
  s = stats(range);
  EXPECT_EQ(num(s.at("pending"), "journal_entries"), 2 + 4);  // and Carol's tombstones
  EXPECT_EQ(num(s.at("documents").at("byType"), "journal_entries"), 12);
  sync_all("/api/ml/sync/journal-entries", "incremental");
  s = stats(range);
  EXPECT_EQ(num(s.at("pending"), "journal_entries"), 0);
  EXPECT_EQ(num(s.at("documents").at("byType"), "journal_entries"), 8);  // one in, one out, Carol's 4 out
  EXPECT_EQ(num(s.at("documents").at("topUsers").as_array()[0], "count"), 6);  // alice
  EXPECT_EQ(num(s.at("jobs"), "completed"), 3);
  // The documents table agrees with the counters.
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents WHERE source_type = 'journal_entries'"), 8);
}

/// Jobs that ended at known times (written as the engine leaves them) give exact buckets.
TEST_F(StatsTest, SeriesHasOneBucketPerHourOrDayWithTheEmptyOnesAsZeros) {
  const auto t0 = *domain::parse_iso8601("2025-01-01T00:00:00Z");
  const auto minute = 60 * 1000;
  auto job = [&](const std::string& id, domain::JobStatus status, domain::TimestampMs start,
                 domain::TimestampMs end, std::int64_t synced, std::int64_t failed,
                 const std::string& reason) {
    seed(server_.database_url(), [&](store::Writer& w) {
      domain::Job j;
      j.id = id;
      j.user_id = alice_;
      j.scope = domain::JobScope::all;
      j.type = domain::JobType::journal_entries;
      j.status = domain::JobStatus::running;
      j.created_at = j.updated_at = start;
      ASSERT_TRUE(w.insert_job(j));
      j.status = status;
      j.start_time = start;
      j.end_time = end;
      j.running_ms = end - start;
      j.counters = {synced + failed, synced, 0, failed};
      j.failure_reason = reason;
      w.save_job(j);
    });
  };
  job("j1", domain::JobStatus::completed, t0 + 10 * minute, t0 + 20 * minute, 600, 0, "");  // 1 item/s
  job("j2", domain::JobStatus::completed, t0 + 20 * minute, t0 + 50 * minute, 1800, 0, "");
  job("j3", domain::JobStatus::failed, t0 + 2 * 60 * minute, t0 + 2 * 60 * minute + 1000, 0, 0,
      "the sink answered 503 three times");
  job("j4", domain::JobStatus::failed, t0 + 5 * 60 * minute, t0 + 5 * 60 * minute + 1000, 0, 10,
      "the sink answered 502 three times");

  auto s = stats("?from=2025-01-01T00:00:00Z&to=2025-01-01T06:00:00Z&bucket=hour");
  const auto& series = s.at("series").as_array();
  ASSERT_EQ(series.size(), 6u);
  EXPECT_EQ(series[0].at("start").as_string(), "2025-01-01T00:00:00.000Z");
  EXPECT_EQ(num(series[0], "jobs"), 2);
  EXPECT_EQ(num(series[0], "completed"), 2);
  EXPECT_EQ(num(series[0], "items"), 2400);
  EXPECT_DOUBLE_EQ(real(series[0], "itemsPerSecond"), 2400.0 / (40 * 60));
  EXPECT_DOUBLE_EQ(real(series[0], "avgDurationMs"), 20.0 * minute);
  EXPECT_EQ(num(series[0], "maxDurationMs"), 30 * minute);
  for (int empty : {1, 3, 4}) {
    EXPECT_EQ(num(series[empty], "jobs"), 0) << empty;
    EXPECT_EQ(num(series[empty], "items"), 0) << empty;
  }
  EXPECT_EQ(num(series[2], "failed"), 1);
  EXPECT_EQ(num(series[5], "failed"), 1);
  EXPECT_EQ(num(series[5], "items"), 10);
  EXPECT_DOUBLE_EQ(real(s.at("jobs"), "successRate"), 0.5);
  EXPECT_DOUBLE_EQ(real(s.at("jobs").at("items"), "successRate"), 2400.0 / 2410.0);
  const auto& job_failures = s.at("failures").at("jobs").as_array();
  ASSERT_EQ(job_failures.size(), 1u);
  EXPECT_EQ(job_failures[0].at("reason").as_string(), "the sink answered N three times");
  EXPECT_EQ(num(job_failures[0], "count"), 2);

  // The same jobs by day; and a range that leaves the first hour out.
  s = stats("?from=2024-12-31&to=2025-01-02&bucket=day");
  ASSERT_EQ(s.at("series").as_array().size(), 2u);
  EXPECT_EQ(num(s.at("series").as_array()[0], "jobs"), 0);
  EXPECT_EQ(num(s.at("series").as_array()[1], "jobs"), 4);
  s = stats("?from=2025-01-01T01:00:00Z&to=2025-01-01T06:00:00Z");
  EXPECT_EQ(s.at("range").at("bucket").as_string(), "hour");
  EXPECT_EQ(num(s.at("jobs"), "completed"), 0);
  EXPECT_EQ(num(s.at("jobs"), "failed"), 2);
}

TEST_F(StatsTest, DefaultsAreTheLastSevenDaysByDay) {
  const auto before = now_ms();
  const auto s = stats();
  const auto after = now_ms();
  const auto from = *domain::parse_iso8601(s.at("range").at("from").as_string());
  const auto to = *domain::parse_iso8601(s.at("range").at("to").as_string());
  EXPECT_GE(to, before);
  EXPECT_LE(to, after);
  EXPECT_EQ(to - from, 7 * domain::kDayMs);
  EXPECT_EQ(s.at("range").at("bucket").as_string(), "day");
  EXPECT_EQ(s.at("series").as_array().size(), 8u);  // partial first and last days
  EXPECT_EQ(s.at("documents").at("topUsers").as_array().size(), 0u);
  EXPECT_EQ(stats("?from=2025-01-01&to=2025-01-03").at("range").at("bucket").as_string(), "hour");
  EXPECT_EQ(stats("?from=2025-01-01&to=2025-01-03T00:00:01Z").at("range").at("bucket").as_string(), "day");
}

TEST_F(StatsTest, TopLimitsTheUserList) {
  const auto url = server_.database_url();
  seed_journal_entries(url, alice_, 3, "a-");
  seed_journal_entries(url, bob_, 2, "b-");
  seed_journal_entries(url, carol_, 1, "c-");
  sync_all("/api/ml/sync/journal-entries", "full");
  const auto top = stats("?top=2").at("documents").at("topUsers").as_array();
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].at("userId").as_string(), alice_);
  EXPECT_EQ(top[1].at("userId").as_string(), bob_);
}

TEST_F(StatsTest, BadParametersAnswer400NamingTheParameter) {
  expect_bad("?from=yesterday", "from", "ISO 8601");
  expect_bad("?to=2025-13-01", "to");
  expect_bad("?from=2025-01-02&to=2025-01-01", "from", "before");
  expect_bad("?from=2025-01-01&to=2025-01-01", "from");
  expect_bad("?bucket=week", "bucket", "hour or day");
  expect_bad("?from=2025-01-01&to=2025-03-01&bucket=hour", "bucket", "1000");
  expect_bad("?from=2020-01-01&to=2025-01-01", "bucket", "1000");
  expect_bad("?top=0", "top", "1 to 100");
  expect_bad("?top=101", "top");
  expect_bad("?top=ten", "top");
  expect_bad("?top=", "top");
  expect_bad("?colour=red", "colour");
  // At the limits: 1,000 hours, top=100.
  const auto res =
      c_.get("/api/ml/stats?from=2025-01-01T00:00:00Z&to=2025-02-11T16:00:00Z&bucket=hour&top=100", ml_);
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("series").as_array().size(), 1000u);
}

TEST_F(StatsTest, OnlyMlAdminAndAdminMayRead) {
  EXPECT_EQ(c_.get("/api/ml/stats", admin_).status, 200);
  EXPECT_EQ(c_.get("/api/ml/stats", ml_).status, 200);
  const auto as_user = c_.get("/api/ml/stats", alice_token_);
  EXPECT_EQ(as_user.status, 403);
  EXPECT_EQ(as_user.error_code(), "forbidden");
  const auto anonymous = c_.get("/api/ml/stats");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(c_.get("/api/ml/stats", "not-a-token").status, 401);
}

}  // namespace
}  // namespace mladmin::test

// Bulk document jobs over real HTTP (issue 4 "Bulk operations"), with 50,000 documents: a bulk
// delete by filter answers 202 and runs as a tracked job whose live events show progress before
// it completes, with counts that add up and exactly its targets gone (from the full-text index
// too); a second large job cancelled mid-way leaves the documents it did not reach; a third
// pauses and resumes; and a server stopped by SIGTERM mid-job marks it interrupted and a restart
// completes it, every target deleted once and nothing else touched.
//
// Documents are written straight into the store (tests/support/documents). Jobs are watched by
// their events or by polling with deadlines.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "store/store.hpp"
#include "support/documents.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/seed.hpp"
#include "support/sse_client.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "Copper-Willow-61-Harbor";
constexpr const char* kBulk = "/api/ml/documents/bulk";
constexpr std::int64_t kLarge = 50'000;
constexpr auto kJobDeadline = 180s;
constexpr auto kPollInterval = 10ms;

std::string str(const json::value& v, const char* key) {
  return std::string(v.at(key).as_string());
}

std::int64_t num(const json::value& v, const char* key) {
  return v.at(key).to_number<std::int64_t>();
}

std::string job_path(const std::string& id, const std::string& action = "") {
  return "/api/ml/sync/job/" + id + (action.empty() ? "" : "/" + action);
}

bool finished(const json::value& job) {
  const auto s = str(job, "status");
  return s == "completed" || s == "failed" || s == "cancelled";
}

::testing::AssertionResult counts_add_up(const json::value& job) {
  const auto total = num(job, "totalItems");
  const auto processed = num(job, "processedItems");
  const auto sum = num(job, "syncedItems") + num(job, "skippedItems") + num(job, "failedItems");
  if (processed != sum || processed > total) {
    return ::testing::AssertionFailure() << "processedItems " << processed << ", synced+skipped+failed "
                                         << sum << ", totalItems " << total << " in " << json::serialize(job);
  }
  return ::testing::AssertionSuccess();
}

Account add_account(ServerProcess& server, const std::string& email, const std::string& role) {
  return test::add_account(server, email, kPassword, role, "Bulk " + role);
}

std::int64_t documents_of(const ServerProcess& server, const std::string& user_id) {
  return query_int(server.database_url(), "SELECT count(*) FROM documents WHERE user_id = '" + user_id + "'");
}

std::string user_filter(const std::string& action, const std::string& user_id) {
  return R"({"action":")" + action + R"(","filter":{"userId":")" + user_id + R"("}})";
}

/// Polls the job until `done` holds or the deadline passes, checking its counts at every
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
    if (done(job)) {
      return job;
    }
    if (std::chrono::steady_clock::now() > until) {
      ADD_FAILURE() << "job " << id << " did not get there in time; last seen " << json::serialize(job);
      return job;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

/// Running, with some but not all of its items processed (or finished, which the caller checks).
json::value wait_midway(HttpClient& c, const std::string& id, const std::string& token) {
  return poll(c, id, token, [](const json::value& j) {
    return finished(j) || (str(j, "status") == "running" && num(j, "processedItems") > 0 &&
                           num(j, "processedItems") < num(j, "totalItems"));
  });
}

std::string start(HttpClient& c, const std::string& body, const std::string& token, const char* type) {
  auto res = c.post(kBulk, body, token);
  EXPECT_EQ(res.status, 202) << body << " -> " << res.body;
  if (res.status != 202) {
    return "";
  }
  const auto job = res.json();
  EXPECT_EQ(str(job, "type"), type);
  EXPECT_TRUE(str(job, "status") == "queued" || str(job, "status") == "running") << res.body;
  return str(job, "id");
}

// ---------------------------------------------------------------------------------------------

TEST(DocumentBulkJobsTest, ALargeDeleteByFilterIsATrackedJobAndCancelAndPauseWork) {
  ServerProcess server;
  const auto ml = add_account(server, "ml@bulk.test", "ml_admin");
  const auto alice = add_account(server, "alice@bulk.test", "user");
  const auto bob = add_account(server, "bob@bulk.test", "user");
  const auto carol = add_account(server, "carol@bulk.test", "user");
  const auto dave = add_account(server, "dave@bulk.test", "user");
  const auto url = server.database_url();
  seed_documents(url, alice.id, kLarge, "a-", "zebra");
  seed_documents(url, bob.id, 500, "b-", "giraffe");
  seed_documents(url, carol.id, kLarge, "c-", "walrus");
  seed_documents(url, dave.id, kLarge, "d-", "walrus");
  HttpClient c(server.port());

  // 1. Delete every "zebra" document: a job, its events, its end.
  SseClient events(server.port(), ml.token);
  ASSERT_EQ(events.status(), 200);
  const auto begun = std::chrono::steady_clock::now();
  const auto id = start(c, R"({"action":"delete","filter":{"q":"zebra","type":"journal_entries"}})", ml.token,
                        "bulk_delete");
  ASSERT_FALSE(id.empty());
  auto completed_event = [&](const std::vector<SseEvent>& ev) {
    for (const auto& j : job_events(ev, id)) {
      if (str(j, "status") == "completed" || str(j, "status") == "failed") {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(events.wait_for(completed_event, kJobDeadline));
  const auto took = std::chrono::steady_clock::now() - begun;
  const auto seen = job_events(events.events(), id);
  bool intermediate = false;
  for (const auto& j : seen) {
    EXPECT_TRUE(counts_add_up(j));
    EXPECT_EQ(num(j, "totalItems"), kLarge);
    intermediate = intermediate || (str(j, "status") == "running" && num(j, "processedItems") > 0 &&
                                    num(j, "processedItems") < kLarge);
  }
  EXPECT_TRUE(intermediate) << "no progress event between start and end among " << seen.size();
  const auto& last = seen.back();
  EXPECT_EQ(str(last, "status"), "completed");
  EXPECT_EQ(num(last, "processedItems"), kLarge);
  EXPECT_EQ(num(last, "syncedItems"), kLarge);
  EXPECT_EQ(num(last, "skippedItems"), 0);
  EXPECT_EQ(num(last, "failedItems"), 0);
  EXPECT_EQ(num(last, "progress"), 100);
  EXPECT_EQ(str(last.at("bulk").at("filter"), "q"), "zebra");
  std::printf(
      "[ figure ] bulk delete of %lld documents by filter: %.2f s (job running_ms-based rate %.0f/s)\n",
      static_cast<long long>(kLarge), std::chrono::duration<double>(took).count(),
      last.at("itemsPerSecond").to_number<double>());
  EXPECT_EQ(documents_of(server, alice.id), 0);
  EXPECT_EQ(count_text_matches(url, "zebra"), 0);
  EXPECT_EQ(documents_of(server, bob.id), 500);
  EXPECT_EQ(count_text_matches(url, "giraffe"), 500);
  EXPECT_EQ(documents_of(server, carol.id), kLarge);

  // 2. Cancel a second large job mid-way: the documents it did not reach are still there.
  const auto cancel_id = start(c, user_filter("delete", carol.id), ml.token, "bulk_delete");
  ASSERT_FALSE(cancel_id.empty());
  const auto midway = wait_midway(c, cancel_id, ml.token);
  ASSERT_EQ(str(midway, "status"), "running") << "the job finished before it could be cancelled";
  auto cancelled = c.post(job_path(cancel_id, "cancel"), "", ml.token);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  const auto cancelled_job = cancelled.json();
  EXPECT_EQ(str(cancelled_job, "status"), "cancelled");
  EXPECT_TRUE(counts_add_up(cancelled_job));
  const auto deleted = num(cancelled_job, "syncedItems");
  EXPECT_GT(deleted, 0);
  EXPECT_LT(deleted, kLarge);
  EXPECT_EQ(documents_of(server, carol.id), kLarge - deleted);
  EXPECT_EQ(documents_of(server, dave.id), kLarge);

  // 3. Pause a third one, then resume it: it completes.
  const auto pause_id = start(c, user_filter("delete", dave.id), ml.token, "bulk_delete");
  ASSERT_FALSE(pause_id.empty());
  ASSERT_EQ(str(wait_midway(c, pause_id, ml.token), "status"), "running")
      << "the job finished before it could be paused";
  auto paused = c.post(job_path(pause_id, "pause"), "", ml.token);
  ASSERT_EQ(paused.status, 200) << paused.body;
  const auto paused_job = paused.json();
  EXPECT_EQ(str(paused_job, "status"), "paused");
  // What the job says it did is what the store holds while it is paused.
  EXPECT_EQ(documents_of(server, dave.id), kLarge - num(paused_job, "syncedItems"));
  EXPECT_LT(num(paused_job, "processedItems"), kLarge);
  auto resumed = c.post(job_path(pause_id, "resume"), "", ml.token);
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  const auto resumed_done = poll(c, pause_id, ml.token, finished);
  EXPECT_EQ(str(resumed_done, "status"), "completed");
  EXPECT_EQ(num(resumed_done, "syncedItems"), kLarge);
  EXPECT_EQ(documents_of(server, dave.id), 0);
  // The cancelled job's documents stayed as they were, and bob's were never touched.
  EXPECT_EQ(documents_of(server, carol.id), kLarge - deleted);
  EXPECT_EQ(documents_of(server, bob.id), 500);

  // 4. The cancelled job retried goes on from its checkpoint and deletes the rest once.
  auto retried = c.post(job_path(cancel_id, "retry"), "", ml.token);
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(num(retried.json(), "attempt"), 2);
  const auto retried_done = poll(c, cancel_id, ml.token, finished);
  EXPECT_EQ(str(retried_done, "status"), "completed");
  EXPECT_EQ(num(retried_done, "syncedItems"), kLarge);
  EXPECT_EQ(num(retried_done, "skippedItems"), 0);
  EXPECT_EQ(documents_of(server, carol.id), 0);

  // All three are in the history.
  auto listed = c.get("/api/ml/sync/jobs?type=bulk_delete", ml.token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json().at("items").as_array().size(), 3u);
}

TEST(DocumentBulkJobsTest, SigtermInterruptsABulkJobAndARestartCompletesItExactly) {
  ServerProcess first;
  const auto ml = add_account(first, "ml@bulk.test", "ml_admin");
  const auto alice = add_account(first, "alice@bulk.test", "user");
  const auto bob = add_account(first, "bob@bulk.test", "user");
  const auto url = first.database_url();
  seed_documents(url, alice.id, kLarge, "a-", "zebra");
  seed_documents(url, bob.id, 300, "b-", "zebra");

  std::string id;
  {
    HttpClient c(first.port());
    id = start(c, user_filter("delete", alice.id), ml.token, "bulk_delete");
    ASSERT_FALSE(id.empty());
    // Documents written after the job was created are not its targets, even though they match.
    seed_documents(url, alice.id, 50, "late-", "zebra");
    ASSERT_EQ(str(wait_midway(c, id, ml.token), "status"), "running") << "the job finished before SIGTERM";
  }
  const auto code = first.stop(SIGTERM, 30s);
  ASSERT_TRUE(code.has_value()) << "the server did not exit after SIGTERM; its log:\n" << first.log();
  EXPECT_EQ(*code, 0) << first.log();
  {
    auto store = store::open_store(url, 1);
    const auto left = store->read_value([&](store::Reader& r) { return r.find_job(id); });
    ASSERT_TRUE(left.has_value());
    EXPECT_EQ(domain::to_string(left->status), "interrupted");
    EXPECT_GT(left->counters.processed(), 0);
    EXPECT_LT(left->counters.processed(), kLarge);
    // The checkpoint and the deletes were saved together.
    EXPECT_EQ(documents_of(first, alice.id), kLarge + 50 - left->counters.synced);
  }

  ServerProcess::Options again;
  again.database_url = url;
  ServerProcess second(again);
  HttpClient c(second.port());
  const auto done = poll(c, id, ml.token, finished);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "totalItems"), kLarge);
  EXPECT_EQ(num(done, "processedItems"), kLarge);
  EXPECT_EQ(num(done, "syncedItems"), kLarge);  // each target deleted once: none found gone
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(documents_of(second, alice.id), 50);  // the late ones
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents WHERE id LIKE 'late-%'"), 50);
  EXPECT_EQ(documents_of(second, bob.id), 300);
  EXPECT_EQ(count_text_matches(url, "zebra"), 350);
}

}  // namespace
}  // namespace mladmin::test

// Bulk document jobs over real HTTP (issue 4 "Bulk operations"), with 50,000 documents: a bulk
// delete by filter answers 202 and runs as a tracked job whose live events show progress before
// it completes, with counts that add up and exactly its targets gone (from the full-text index
// too); a second large job cancelled mid-way leaves the documents it did not reach; a third
// pauses and resumes; and a server stopped by SIGTERM mid-job marks it interrupted and a restart
// completes it, every target deleted once and nothing else touched.
//
// Documents are written straight into the store (tests/support/documents). Jobs are watched on
// the event stream (tests/support/fixture.hpp) with deadlines.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "store/store.hpp"
#include "support/documents.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kBulk = "/api/ml/documents/bulk";
constexpr std::int64_t kLarge = 50'000;

std::int64_t documents_of(IntegrationServer& server, const std::string& user_id) {
  return query_int(server.database_url(), "SELECT count(*) FROM documents WHERE user_id = '" + user_id + "'");
}

std::string user_filter(const std::string& action, const std::string& user_id) {
  return R"({"action":")" + action + R"(","filter":{"userId":")" + user_id + R"("}})";
}

/// Starts a bulk job of `type` (expects 202); its id, or "" when it did not start.
std::string start(IntegrationServer& server, const std::string& body, const std::string& token,
                  const char* type) {
  const auto job = server.start_job(kBulk, body, token);
  if (!job.is_object()) {
    return "";
  }
  EXPECT_EQ(str(job, "type"), type);
  return str(job, "id");
}

// ---------------------------------------------------------------------------------------------

using DocumentBulkJobsTest = IntegrationTest;

TEST_F(DocumentBulkJobsTest, ALargeDeleteByFilterIsATrackedJobAndCancelAndPauseWork) {
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@bulk.test", "user");
  const auto bob = server.add_account("bob@bulk.test", "user");
  const auto carol = server.add_account("carol@bulk.test", "user");
  const auto dave = server.add_account("dave@bulk.test", "user");
  const auto url = server.database_url();
  seed_documents(url, alice.id, kLarge, "a-", "zebra");
  seed_documents(url, bob.id, 500, "b-", "giraffe");
  seed_documents(url, carol.id, kLarge, "c-", "walrus");
  seed_documents(url, dave.id, kLarge, "d-", "walrus");
  auto& c = server.http();

  // 1. Delete every "zebra" document: a job, its events, its end.
  const auto begun = std::chrono::steady_clock::now();
  const auto id = start(server, R"({"action":"delete","filter":{"q":"zebra","type":"journal_entries"}})",
                        ml.token, "bulk_delete");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(server
                  .wait_for_job(id,
                                [](const json::value& j) {
                                  return str(j, "status") == "completed" || str(j, "status") == "failed";
                                })
                  .is_object());
  const auto took = std::chrono::steady_clock::now() - begun;
  const auto seen = server.jobs().states(id);
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
  const auto cancel_id = start(server, user_filter("delete", carol.id), ml.token, "bulk_delete");
  ASSERT_FALSE(cancel_id.empty());
  const auto midway = server.jobs().wait_midway(cancel_id);
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
  const auto pause_id = start(server, user_filter("delete", dave.id), ml.token, "bulk_delete");
  ASSERT_FALSE(pause_id.empty());
  ASSERT_EQ(str(server.jobs().wait_midway(pause_id), "status"), "running")
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
  const auto resumed_done = server.wait_finished(pause_id);
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
  // The stream already showed this job cancelled (attempt 1): wait for the end of attempt 2.
  const auto retried_done = server.wait_for_job(
      cancel_id, [](const json::value& j) { return finished(j) && num(j, "attempt") == 2; }, kJobDeadline,
      "the end of attempt 2");
  EXPECT_EQ(str(retried_done, "status"), "completed");
  EXPECT_EQ(num(retried_done, "syncedItems"), kLarge);
  EXPECT_EQ(num(retried_done, "skippedItems"), 0);
  EXPECT_EQ(documents_of(server, carol.id), 0);

  // All three are in the history.
  auto listed = c.get("/api/ml/sync/jobs?type=bulk_delete", ml.token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json().at("items").as_array().size(), 3u);
}

TEST_F(DocumentBulkJobsTest, SigtermInterruptsABulkJobAndARestartCompletesItExactly) {
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@bulk.test", "user");
  const auto bob = server.add_account("bob@bulk.test", "user");
  const auto url = server.database_url();
  seed_documents(url, alice.id, kLarge, "a-", "zebra");
  seed_documents(url, bob.id, 300, "b-", "zebra");

  std::string id;
  {
    id = start(server, user_filter("delete", alice.id), ml.token, "bulk_delete");
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(str(server.jobs().wait_midway(id), "status"), "running") << "the job finished before SIGTERM";
  }
  const auto code = server.stop(SIGTERM, 30s);
  ASSERT_TRUE(code.has_value()) << "the server did not exit after SIGTERM; its log:\n" << server.log();
  EXPECT_EQ(*code, 0) << server.log();
  {
    auto store = store::open_store(url, 1);
    const auto left = store->read_value([&](store::Reader& r) { return r.find_job(id); });
    ASSERT_TRUE(left.has_value());
    EXPECT_EQ(domain::to_string(left->status), "interrupted");
    EXPECT_GT(left->counters.processed(), 0);
    EXPECT_LT(left->counters.processed(), kLarge);
    // The checkpoint and the deletes were saved together.
    EXPECT_EQ(documents_of(server, alice.id), kLarge - left->counters.synced);
  }
  // Documents written after the job was created are not its targets, even though they match.
  // They are written while the server is down, so that nothing stands between seeing the job
  // mid-way and the SIGTERM (a 50,000-document delete takes about 2 s on a quiet machine).
  seed_documents(url, alice.id, 50, "late-", "zebra");

  server.restart();
  const auto done = server.wait_finished(id);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "totalItems"), kLarge);
  EXPECT_EQ(num(done, "processedItems"), kLarge);
  EXPECT_EQ(num(done, "syncedItems"), kLarge);  // each target deleted once: none found gone
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(documents_of(server, alice.id), 50);  // the late ones
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents WHERE id LIKE 'late-%'"), 50);
  EXPECT_EQ(documents_of(server, bob.id), 300);
  EXPECT_EQ(count_text_matches(url, "zebra"), 350);
}

}  // namespace
}  // namespace mladmin::test

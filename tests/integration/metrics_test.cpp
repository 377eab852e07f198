// GET /metrics over real HTTP (docs/openapi.yaml; issue 3 "/metrics in Prometheus text"): jobs by status,
// item totals by outcome, the job duration histogram, connected event clients and HTTP requests
// by route and status, the event streams' delivery delays, public by default and behind a token
// when configured.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "domain/testing/eventually.hpp"
#include "support/fixture.hpp"
#include "support/probes.hpp"
#include "support/seed.hpp"
#include "support/sse_client.hpp"

namespace mladmin::test {
namespace {

using namespace std::chrono_literals;

class MetricsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    server().ml_admin();  // signed in (one HTTP request counted) before the first scrape
  }

  std::string scrape() {
    auto res = HttpClient(server().port()).get("/metrics");
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u)
        << res.header("content-type");
    return res.body;
  }
};

TEST_F(MetricsTest, AFreshServerExposesEveryFamilyWithZeros) {
  const auto text = scrape();
  for (const char* status :
       {"queued", "running", "paused", "interrupted", "completed", "failed", "cancelled"}) {
    EXPECT_EQ(metric_sample(text, std::string("mladmin_sync_jobs{status=\"") + status + "\"}"), 0.0)
        << status;
  }
  EXPECT_EQ(metric_sample(text, "mladmin_event_clients"), 0.0);
  EXPECT_EQ(metric_sample(text, "mladmin_http_accept_errors_total"), 0.0);
  EXPECT_NE(text.find("# TYPE mladmin_sync_items_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE mladmin_sync_job_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("# TYPE mladmin_http_requests_total counter"), std::string::npos);
}

TEST_F(MetricsTest, ASyncCountsItsItemsByOutcomeAndItsDuration) {
  seed_journal_entries(server().database_url(), server().ml_admin().id, 300, "ok-");
  seed(server().database_url(), [&](store::Writer& w) {
    for (int i = 0; i < 7; ++i) {
      auto bad = valid_journal_entry("bad-" + std::to_string(i), server().ml_admin().id);
      bad.body = "   ";
      w.save_journal_entry(bad);
    }
  });
  const auto job = server().run_job(kJournalSync, "{}", server().ml_admin().token);
  ASSERT_EQ(job.at("status").as_string(), "completed");
  // The same records again: every one skipped (unchanged) or failed again.
  const auto again = server().run_job(kJournalSync, R"({"mode":"full"})", server().ml_admin().token);
  ASSERT_EQ(again.at("status").as_string(), "completed");

  const auto text = scrape();
  EXPECT_EQ(metric_sample(text, R"(mladmin_sync_items_total{outcome="synced",type="journal_entries"})"),
            300.0)
      << text;
  EXPECT_EQ(metric_sample(text, R"(mladmin_sync_items_total{outcome="skipped",type="journal_entries"})"),
            300.0);
  EXPECT_EQ(metric_sample(text, R"(mladmin_sync_items_total{outcome="failed",type="journal_entries"})"),
            14.0);
  EXPECT_EQ(
      metric_sample(text,
                    R"(mladmin_sync_job_duration_seconds_count{status="completed",type="journal_entries"})"),
      2.0);
  EXPECT_EQ(metric_sample(text, R"(mladmin_sync_jobs{status="completed"})"), 2.0);
  EXPECT_EQ(metric_sample(text, R"(mladmin_sync_jobs{status="running"})"), 0.0);
}

// The engine's write transactions and the store's WAL upkeep (docs/performance.md, "A writer
// that does not pause"): what an operator watches when syncs slow down.
TEST_F(MetricsTest, TheSyncsWritesAndTheStoresWalAreCounted) {
  const auto before = scrape();
  EXPECT_EQ(metric_sample(before, "mladmin_sync_write_transactions_total"), 0.0) << before;
  EXPECT_EQ(metric_sample(before, "mladmin_sync_shared_write_transactions_total"), 0.0);
  EXPECT_EQ(metric_sample(before, "mladmin_store_writer_checkpoints_total"), 0.0);
  EXPECT_EQ(metric_sample(before, "mladmin_store_writer_checkpoint_seconds_total"), 0.0);
  EXPECT_EQ(metric_sample(before, "mladmin_store_wal_truncations_total").has_value(), true);
  EXPECT_EQ(metric_sample(before, "mladmin_store_wal_restarts_total").has_value(), true);

  seed_journal_entries(server().database_url(), server().ml_admin().id, 300, "ok-");
  const auto job = server().run_job(kJournalSync, "{}", server().ml_admin().token);
  ASSERT_EQ(job.at("status").as_string(), "completed");
  const auto after = scrape();
  EXPECT_GE(metric_sample(after, "mladmin_sync_write_transactions_total").value_or(0), 1.0) << after;
  EXPECT_GT(metric_sample(after, "mladmin_sync_writer_cpu_seconds_total").value_or(0), 0.0);
  EXPECT_GT(metric_sample(after, "mladmin_store_wal_bytes").value_or(0), 0.0);
  // A completed job's documents are all in the full-text index (docs/performance.md).
  EXPECT_GE(metric_sample(after, "mladmin_store_search_index_passes_total").value_or(0), 1.0);
  EXPECT_GE(metric_sample(after, "mladmin_store_search_index_documents_total").value_or(0), 300.0);
  EXPECT_EQ(metric_sample(after, "mladmin_store_search_index_behind_changes"), 0.0);
  // The background checkpointer follows the commits (woken by them, or every 250 ms).
  std::optional<double> passes;
  domain::eventually(
      [&] {
        return (passes = metric_sample(scrape(), "mladmin_store_checkpointer_passes_total")).value_or(0) > 0;
      },
      10s);
  EXPECT_GT(passes.value_or(0), 0.0);
}

TEST_F(MetricsTest, RequestsAreCountedByRoutePatternAndStatus) {
  HttpClient http(server().port());
  ASSERT_EQ(http.get("/healthz").status, 200);
  ASSERT_EQ(http.get("/api/ml/sync/job/no-such-job", server().ml_admin().token).status, 404);
  ASSERT_EQ(http.get("/api/no/such/path").status, 404);
  const auto text = scrape();
  EXPECT_GE(metric_sample(text, R"(mladmin_http_requests_total{method="GET",route="/healthz",status="200"})")
                .value_or(0),
            1.0)
      << text;
  // Ids never become labels: the route's pattern does.
  EXPECT_EQ(
      metric_sample(
          text, R"(mladmin_http_requests_total{method="GET",route="/api/ml/sync/job/:jobId",status="404"})"),
      1.0);
  EXPECT_EQ(
      metric_sample(text, R"(mladmin_http_requests_total{method="GET",route="unmatched",status="404"})"),
      1.0);
  EXPECT_EQ(text.find("no-such-job"), std::string::npos);
  EXPECT_GE(
      metric_sample(text, R"(mladmin_http_request_duration_seconds_count{route="/healthz"})").value_or(0),
      1.0);
}

TEST_F(MetricsTest, ConnectedEventClientsComeAndGo) {
  {
    SseClient a(server().port(), server().ml_admin().token);
    SseClient b(server().port(), server().ml_admin().token);
    ASSERT_EQ(a.status(), 200);
    ASSERT_EQ(b.status(), 200);
    ASSERT_TRUE(a.wait_for([](const auto& ev) { return !ev.empty(); }));
    ASSERT_TRUE(b.wait_for([](const auto& ev) { return !ev.empty(); }));
    EXPECT_EQ(metric_sample(scrape(), "mladmin_event_clients"), 2.0);
  }
  // The server notices the closed connections at once (it watches the socket).
  std::optional<double> clients;
  domain::eventually([&] { return (clients = metric_sample(scrape(), "mladmin_event_clients")) == 0.0; },
                     10s);
  EXPECT_EQ(clients, 0.0);
}

// How long each job event waited in the server before its write to a stream (docs/jobs.md, "How
// fast events arrive"): one observation per event and client, by kind.
TEST_F(MetricsTest, EveryEventWrittenToAStreamCountsItsWaitByKind) {
  seed_journal_entries(server().database_url(), server().ml_admin().id, 200, "ok-");
  SseClient a(server().port(), server().ml_admin().token);
  SseClient b(server().port(), server().ml_admin().token);
  ASSERT_EQ(a.status(), 200);
  ASSERT_EQ(b.status(), 200);
  // Started by a plain POST: the fixture's start_job would open a stream of its own.
  const auto started = HttpClient(server().port()).post(kJournalSync, "{}", server().ml_admin().token);
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string id(boost::json::parse(started.body).at("id").as_string());
  double status_events = 0;
  double progress_events = 0;
  for (auto* client : {&a, &b}) {
    ASSERT_TRUE(client->wait_for([&](const auto& events) {
      const auto mine = job_events(events, id);
      return !mine.empty() && mine.back().at("status").as_string() == "completed";
    }));
    std::string last;
    for (const auto& event : job_events(client->events(), id)) {
      const std::string status(event.at("status").as_string());
      (status == last ? progress_events : status_events) += 1;
      last = status;
    }
  }
  EXPECT_EQ(status_events, 6.0);  // queued, running, completed: to each of the two streams

  const auto text = scrape();
  EXPECT_NE(text.find("# TYPE mladmin_event_delivery_seconds histogram"), std::string::npos) << text;
  EXPECT_EQ(metric_sample(text, R"(mladmin_event_delivery_seconds_count{kind="status"})"), status_events)
      << text;
  EXPECT_EQ(metric_sample(text, R"(mladmin_event_delivery_seconds_bucket{kind="status",le="+Inf"})"),
            status_events);
  EXPECT_GT(metric_sample(text, R"(mladmin_event_delivery_seconds_sum{kind="status"})").value_or(0), 0.0);
  EXPECT_EQ(metric_sample(text, R"(mladmin_event_delivery_seconds_count{kind="progress"})"), progress_events);
}

TEST(MetricsAccessTest, NotPublicNeedsAnMlAdminToken) {
  IntegrationServer server({.config = "[metrics]\npublic = false\n"});
  auto& http = server.http();
  EXPECT_EQ(http.get("/metrics").status, 401);
  EXPECT_EQ(server.as_user().get("/metrics").status, 403);
  const auto res = server.as_ml_admin().get("/metrics");
  EXPECT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("mladmin_sync_jobs"), std::string::npos);
}

}  // namespace
}  // namespace mladmin::test

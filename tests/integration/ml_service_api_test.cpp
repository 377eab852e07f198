// The ML service around the sink: GET /api/ml/service, /metrics, `mladmin ml-service check`
// against the reference receiver, and a deleted user's records becoming tombstones.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/fixture.hpp"
#include "support/ml_receiver.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

constexpr const char* kToken = "receiver-token-456";

/// `mladmin ml-service check` against the receiver, with its token on standard input.
CommandResult check(const MlReceiver& receiver) {
  return run_mladmin({"ml-service", "check", "--url", receiver.url(), "--token-stdin"},
                     std::string(kToken) + "\n");
}

TEST(MlServiceApiTest, WithoutAUrlTheServiceIsNotConfigured) {
  IntegrationServer server;
  const auto ml = server.ml_admin();
  const auto user = server.user();
  auto& client = server.http();
  const auto res = client.get("/api/ml/service", ml.token);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("configured"), false);
  EXPECT_TRUE(res.json().at("url").is_null());
  EXPECT_EQ(client.get("/api/ml/service", user.token).status, 403);
  EXPECT_EQ(client.get("/api/ml/service").status, 401);
}

TEST(MlServiceApiTest, ConfiguredServiceShowsItsUrlWithoutCredentials) {
  MlReceiver receiver({.token = kToken});
  const std::string base = "http://someone:hunter2@127.0.0.1:" + std::to_string(receiver.port()) + "/base";
  IntegrationServer server({.env = {{"MLADMIN_ML_SERVICE_TOKEN", kToken}},
                            .config = "[ml_service]\nurl = \"" + base + "\"\nbatch_items = 100\n"});
  const auto ml = server.ml_admin();
  auto& client = server.http();
  const auto res = client.get("/api/ml/service", ml.token);
  ASSERT_EQ(res.status, 200) << res.body;
  const auto body = res.json();
  EXPECT_EQ(body.at("configured"), true);
  EXPECT_EQ(std::string(body.at("url").as_string()),
            "http://127.0.0.1:" + std::to_string(receiver.port()) + "/base");
  EXPECT_TRUE(body.at("lastAcknowledgedBatch").is_null());
  EXPECT_TRUE(body.at("lastError").is_null());
  EXPECT_EQ(body.at("inFlight"), 0);
  EXPECT_TRUE(body.at("ackLatencyMs").at("p50").is_null());
  EXPECT_EQ(server.log().find("hunter2"), std::string::npos);
  EXPECT_EQ(server.log().find(kToken), std::string::npos);
  const auto metrics = client.get("/metrics");
  EXPECT_NE(metrics.body.find("mladmin_ml_service_requests_total{outcome=\"acknowledged\"}"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("mladmin_ml_service_request_duration_seconds_count"), std::string::npos);
}

/// The Idempotency-Key of the last batch request the receiver saw.
std::string last_batch_id(MlReceiver& receiver) {
  const auto log = receiver.stats().at("requestLog").as_array();
  return log.empty() ? std::string() : std::string(log.back().at("batchId").as_string());
}

// Issue 14: the service's state names the last acknowledged batch (docs/ml-service-api.md,
// "Watching it from mladmin"): its id, its job, its size and when.
TEST(MlServiceApiTest, ShowsTheLastAcknowledgedBatchAfterASync) {
  MlReceiver receiver({.token = kToken});
  // One batch at a time, so the last one sent is the last one acknowledged.
  IntegrationServer server(receiver.server_options("batch_items = 40\nmax_in_flight = 1\n"));
  const auto ml = server.ml_admin();
  const auto owner = server.add_account("owner@svc.test", "user");
  seed_journal_entries(server.database_url(), owner.id, 100, "ack-");
  auto& client = server.http();
  auto job = server.run_job(kJournalSync, R"({"scope":"all"})", ml.token);
  ASSERT_EQ(job.at("status"), "completed") << job;
  auto service = client.get("/api/ml/service", ml.token).json();
  auto last = service.at("lastAcknowledgedBatch");
  ASSERT_TRUE(last.is_object()) << service;
  // 100 records in batches of 40: the third batch, 20 documents, came last.
  EXPECT_EQ(last.at("jobId"), job.at("id")) << last;
  EXPECT_EQ(std::string(last.at("batchId").as_string()), last_batch_id(receiver)) << last;
  EXPECT_EQ(last.at("upserts"), 20) << last;
  EXPECT_EQ(last.at("deletes"), 0) << last;
  EXPECT_EQ(last.at("rejected"), 0) << last;
  const std::string first_at(last.at("at").as_string());
  EXPECT_GE(first_at, std::string(job.at("startTime").as_string())) << last;

  // Two edits (one of which the service refuses) and three deletions: one batch of 2 + 3.
  receiver.faults(R"({"rejectSourceIds": {"ack-1": "the embedding model refuses this text"}})");
  seed(server.database_url(), [&](store::Writer& w) {
    for (int i = 0; i < 5; ++i) {
      auto e = valid_journal_entry("ack-" + std::to_string(i), owner.id);
      e.updated_at += 1000;
      if (i < 2) {
        e.body = "Edited body " + std::to_string(i);
      } else {
        e.deleted_at = e.updated_at;
      }
      w.save_journal_entry(e);
    }
  });
  job = server.run_job(kJournalSync, R"({"scope":"all"})", ml.token);
  ASSERT_EQ(job.at("status"), "completed") << job;
  service = client.get("/api/ml/service", ml.token).json();
  last = service.at("lastAcknowledgedBatch");
  ASSERT_TRUE(last.is_object()) << service;
  EXPECT_EQ(last.at("jobId"), job.at("id")) << last;
  EXPECT_EQ(std::string(last.at("batchId").as_string()), last_batch_id(receiver)) << last;
  EXPECT_EQ(last.at("upserts"), 2) << last;
  EXPECT_EQ(last.at("deletes"), 3) << last;
  EXPECT_EQ(last.at("rejected"), 1) << last;
  EXPECT_GE(std::string(last.at("at").as_string()), first_at) << last;
}

TEST(MlServiceApiTest, BadMlServiceConfigIsRefusedAtStart) {
  const auto r = serve_refused("[ml_service]\nurl = \"ftp://ml.internal\"\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("[ml_service] url must be an http:// or https:// URL"), std::string::npos) << r.err;
}

TEST(MlServiceCheckTest, ReferenceReceiverKeepsEveryRule) {
  MlReceiver receiver({.token = kToken});
  const auto r = check(receiver);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("9 of 9 rules hold"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("note  a small batch took "), std::string::npos) << r.out;
  // The probes leave nothing behind.
  EXPECT_EQ(receiver.stats().at("documents"), 0);
}

TEST(MlServiceCheckTest, ReceiverThatAppliesRepeatsFailsByNamingTheRule) {
  MlReceiver receiver({.token = kToken, .broken_repeats = true});
  const auto r = check(receiver);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL  4. a repeated (sourceType, sourceId, version) is a no-op"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("holds version \"v1\"; expected \"v2\""), std::string::npos) << r.out;
}

TEST(MlServiceCheckTest, ReceiverThatHoldsItsAnswersForTheDelayedAckIsNoted) {
  // Nagle's algorithm on: each answer's body waits ~40 ms for the check's delayed ACK. The
  // contract holds all the same; the check says what bounds every job's rate.
  MlReceiver receiver({.token = kToken, .nagle = true});
  const auto r = check(receiver);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("9 of 9 rules hold"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("note  a small batch took "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("answer in one write or set TCP_NODELAY"), std::string::npos) << r.out;
}

TEST(MlServiceCheckTest, UnreachableServiceFailsEveryRule) {
  const auto r = run_mladmin(
      {"ml-service", "check", "--url", "http://127.0.0.1:" + std::to_string(closed_port()) + "/"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("ML service unavailable"), std::string::npos) << r.out;
}

TEST(UserDeletionTest, DeletedUsersDocumentsGoAtTheNextSync) {
  IntegrationServer server;
  const auto admin = server.admin();
  const auto ml = server.ml_admin();
  const auto gone = server.add_account("gone@svc.test", "user");
  const auto stays = server.add_account("stays@svc.test", "user");
  seed_journal_entries(server.database_url(), gone.id, 7, "gone-e-");
  seed_goals(server.database_url(), gone.id, 4, "gone-g-");
  seed_journal_entries(server.database_url(), stays.id, 3, "stays-e-");
  auto& client = server.http();
  ASSERT_EQ(server.run_job(kJournalSync, R"({"scope":"all"})", ml.token).at("status"), "completed");
  ASSERT_EQ(server.run_job(kGoalSync, R"({"scope":"all"})", ml.token).at("status"), "completed");
  const std::string count_docs = "SELECT count(*) FROM documents WHERE user_id = '" + gone.id + "'";
  ASSERT_EQ(query_int(server.database_url(), count_docs), 11);

  ASSERT_EQ(client.del("/api/ml/admin/users/" + gone.id, admin.token).status, 204);
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM journal_entries WHERE user_id = '" +
                                                 gone.id + "' AND deleted_at IS NULL"),
            0);
  EXPECT_EQ(query_int(server.database_url(),
                      "SELECT count(*) FROM goals WHERE user_id = '" + gone.id + "' AND deleted_at IS NULL"),
            0);
  ASSERT_EQ(server.run_job(kJournalSync, R"({"scope":"all"})", ml.token).at("status"), "completed");
  ASSERT_EQ(server.run_job(kGoalSync, R"({"scope":"all"})", ml.token).at("status"), "completed");
  EXPECT_EQ(query_int(server.database_url(), count_docs), 0);
  EXPECT_EQ(
      query_int(server.database_url(), "SELECT count(*) FROM documents WHERE user_id = '" + stays.id + "'"),
      3);
}

}  // namespace
}  // namespace mladmin::test

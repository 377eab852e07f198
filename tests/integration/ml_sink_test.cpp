// HttpSink against the reference receiver (examples/ml-service/receiver.py) in a child process:
// real HTTP(S) on loopback, the receiver's test switches make it fail, slow down, refuse or hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <stop_token>

#include "sink/http_sink.hpp"
#include "support/ml_receiver.hpp"
#include "support/process.hpp"
#include "support/tls_proxy.hpp"

namespace mladmin::test {
namespace {

using sink::Batch;
using sink::HttpSink;
using sink::MlServiceConfig;
using sink::Outcome;
using sink::OutcomeKind;

constexpr const char* kToken = "receiver-token-123";

Batch batch_of(const std::string& id, int upserts, const std::string& prefix = "e") {
  Batch b;
  b.batch_id = id;
  b.job_id = "job-1";
  for (int i = 0; i < upserts; ++i) {
    sink::Upsert u;
    u.source_type = domain::SourceType::journal_entries;
    u.source_id = prefix + std::to_string(i);
    u.user_id = "user-1";
    u.title = "Title " + std::to_string(i);
    u.text = "Body of entry " + std::to_string(i);
    u.metadata_json = R"({"mood":3})";
    u.version = "v1-" + std::to_string(i);
    u.updated_at = 1764000000000 + i;
    b.upserts.push_back(u);
  }
  return b;
}

MlServiceConfig config_for(const std::string& url) {
  MlServiceConfig c;
  c.url = url;
  c.token = kToken;
  c.max_attempts = 5;
  c.timeout_ms = 5000;
  return c;
}

sink::HttpSinkTuning fast_backoff() {
  sink::HttpSinkTuning t;
  t.backoff_base = std::chrono::milliseconds(5);
  t.backoff_cap = std::chrono::milliseconds(50);
  return t;
}

/// Sends `batch` and waits (with a deadline) for its outcome.
Outcome deliver(HttpSink& sink, Batch batch, std::stop_token stop = {}) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto future = promise->get_future();
  sink.send(std::move(batch), std::move(stop), [promise](Outcome o) { promise->set_value(std::move(o)); });
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "no outcome within 60 s";
    return Outcome{OutcomeKind::abandoned, {}, "test deadline"};
  }
  return future.get();
}

std::vector<double> arrival_times(MlReceiver& receiver) {
  std::vector<double> out;
  const auto stats = receiver.stats();
  for (const auto& r : stats.at("requestLog").as_array()) {
    out.push_back(r.at("at").to_number<double>());
  }
  return out;
}

TEST(MlSinkTest, AcknowledgedBatchIsHeldByTheService) {
  MlReceiver receiver({.token = kToken});
  HttpSink sink(config_for(receiver.url()));
  Batch b = batch_of("batch-1", 3);
  b.deletes.push_back({domain::SourceType::goals, "never-existed"});
  const Outcome o = deliver(sink, b);
  ASSERT_EQ(o.kind, OutcomeKind::acknowledged) << o.reason;
  EXPECT_TRUE(o.rejected.empty());
  const auto docs = receiver.documents();
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].at("sourceId").as_string(), "e0");
  EXPECT_EQ(docs[0].at("version").as_string(), "v1-0");
  EXPECT_EQ(docs[0].at("userId").as_string(), "user-1");
  const auto status = sink.status();
  ASSERT_TRUE(status.last_acknowledged.has_value());
  EXPECT_EQ(status.last_acknowledged->batch_id, "batch-1");
  EXPECT_EQ(status.last_acknowledged->job_id, "job-1");
  EXPECT_EQ(status.last_acknowledged->upserts, 3u);
  EXPECT_EQ(status.last_acknowledged->deletes, 1u);
  EXPECT_EQ(status.last_acknowledged->rejected, 0u);
  EXPECT_GT(status.last_acknowledged->at, 0);
  EXPECT_EQ(status.in_flight, 0u);
  EXPECT_TRUE(status.ack_latency_p50_ms.has_value());
  EXPECT_FALSE(status.last_error.has_value());
}

TEST(MlSinkTest, ConnectionIsReusedAcrossBatches) {
  MlReceiver receiver({.token = kToken});
  HttpSink sink(config_for(receiver.url()));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(deliver(sink, batch_of("reuse-" + std::to_string(i), 1)).kind, OutcomeKind::acknowledged);
  }
  // The receiver logs each request's client port: one connection carried all three.
  std::set<std::string> peers;
  const auto stats = receiver.stats();
  for (const auto& r : stats.at("requestLog").as_array()) {
    peers.insert(std::string(r.at("peer").as_string()));
  }
  EXPECT_EQ(peers.size(), 1u);
}

TEST(MlSinkTest, RejectedItemsComeBackWithTheServicesReason) {
  MlReceiver receiver({.token = kToken});
  HttpSink sink(config_for(receiver.url()));
  Batch b = batch_of("batch-rej", 3);
  b.upserts[1].text = "   ";
  b.upserts[1].title = "";
  b.upserts[2].text = "";  // a title alone (a goal without a description) is stored
  const Outcome o = deliver(sink, b);
  ASSERT_EQ(o.kind, OutcomeKind::acknowledged) << o.reason;
  ASSERT_EQ(o.rejected.size(), 1u);
  EXPECT_EQ(o.rejected[0].source_id, "e1");
  EXPECT_EQ(o.rejected[0].source_type, domain::SourceType::journal_entries);
  EXPECT_EQ(o.rejected[0].reason, "nothing to index: title and text are empty");
  EXPECT_EQ(receiver.documents().size(), 2u);
  ASSERT_TRUE(sink.status().last_acknowledged.has_value());
  EXPECT_EQ(sink.status().last_acknowledged->upserts, 3u);
  EXPECT_EQ(sink.status().last_acknowledged->rejected, 1u);
}

TEST(MlSinkTest, ThreeServiceUnavailableAnswersThenAcknowledged) {
  MlReceiver receiver({.token = kToken});
  receiver.faults(R"({"failNext": 3, "failStatus": 503})");
  HttpSink sink(config_for(receiver.url()), fast_backoff());
  const Outcome o = deliver(sink, batch_of("batch-503", 2));
  ASSERT_EQ(o.kind, OutcomeKind::acknowledged) << o.reason;
  const auto log = receiver.stats().at("requestLog").as_array();
  ASSERT_EQ(log.size(), 4u);
  for (const auto& r : log) {
    EXPECT_EQ(r.at("batchId").as_string(), "batch-503");  // the same Idempotency-Key every time
  }
  EXPECT_EQ(receiver.documents().size(), 2u);
}

TEST(MlSinkTest, RetryAfterInSecondsIsObeyed) {
  MlReceiver receiver({.token = kToken});
  receiver.faults(R"({"rateLimitNext": 1, "retryAfter": "1"})");
  HttpSink sink(config_for(receiver.url()), fast_backoff());
  ASSERT_EQ(deliver(sink, batch_of("batch-429", 1)).kind, OutcomeKind::acknowledged);
  const auto at = arrival_times(receiver);
  ASSERT_EQ(at.size(), 2u);
  // The backoff alone would have retried within 5 ms.
  EXPECT_GE(at[1] - at[0], 1000.0);
}

TEST(MlSinkTest, RetryAfterAsHttpDateIsObeyed) {
  MlReceiver receiver({.token = kToken});
  receiver.faults(R"({"rateLimitNext": 1, "retryAfterSeconds": 2})");
  HttpSink sink(config_for(receiver.url()), fast_backoff());
  ASSERT_EQ(deliver(sink, batch_of("batch-429-date", 1)).kind, OutcomeKind::acknowledged);
  const auto at = arrival_times(receiver);
  ASSERT_EQ(at.size(), 2u);
  // The date names a whole second at least floor(first arrival + 2 s).
  const double named = std::floor(at[0] / 1000.0 + 2.0) * 1000.0;
  EXPECT_GE(at[1], named);
}

TEST(MlSinkTest, BadRequestIsRefusedAtOnceWithTheBodyExcerpt) {
  MlReceiver receiver({.token = kToken});
  const std::string detail = "tenant unknown " + std::string(400, 'x');
  receiver.faults(R"({"refuseNext": 1, "refuseStatus": 400, "refuseBody": "{\"detail\": \")" + detail +
                  R"(\"}"})");
  HttpSink sink(config_for(receiver.url()), fast_backoff());
  const Outcome o = deliver(sink, batch_of("batch-400", 1));
  ASSERT_EQ(o.kind, OutcomeKind::refused);
  const std::string prefix = "ML service refused the batch: 400 ";
  ASSERT_EQ(o.reason.rfind(prefix, 0), 0u) << o.reason;
  EXPECT_EQ(o.reason.substr(prefix.size()), ("{\"detail\": \"" + detail).substr(0, 200));
  EXPECT_EQ(receiver.stats().at("requests").to_number<int>(), 1);  // not retried
  EXPECT_EQ(sink.status().last_error, o.reason);
}

TEST(MlSinkTest, WrongTokenIsRefused) {
  MlReceiver receiver({.token = kToken});
  auto config = config_for(receiver.url());
  config.token = "not-the-token";
  HttpSink sink(config, fast_backoff());
  const Outcome o = deliver(sink, batch_of("batch-401", 1));
  ASSERT_EQ(o.kind, OutcomeKind::refused);
  EXPECT_NE(o.reason.find("401"), std::string::npos) << o.reason;
  EXPECT_EQ(o.reason.find("not-the-token"), std::string::npos);
}

TEST(MlSinkTest, ServiceDownIsUnavailableAfterMaxAttempts) {
  auto config = config_for("http://127.0.0.1:" + std::to_string(closed_port()) + "/ml");
  config.max_attempts = 3;
  HttpSink sink(config, fast_backoff());
  const Outcome o = deliver(sink, batch_of("batch-down", 1));
  ASSERT_EQ(o.kind, OutcomeKind::unavailable);
  EXPECT_EQ(o.reason.rfind("ML service unavailable: ", 0), 0u) << o.reason;
  EXPECT_NE(o.reason.find("connect"), std::string::npos) << o.reason;
  EXPECT_NE(o.reason.find("after 3 attempts"), std::string::npos) << o.reason;
  EXPECT_EQ(sink.status().last_error, o.reason);
}

TEST(MlSinkTest, StopWhileTheServiceHangsAbandonsWithinOneSecond) {
  MlReceiver receiver({.token = kToken});
  receiver.faults(R"({"hangNext": 1})");
  auto config = config_for(receiver.url());
  config.timeout_ms = 600000;
  HttpSink sink(config);
  std::stop_source stop;
  std::promise<Outcome> promise;
  auto future = promise.get_future();
  sink.send(batch_of("batch-hang", 1), stop.get_token(),
            [&promise](Outcome o) { promise.set_value(std::move(o)); });
  ASSERT_TRUE(receiver.wait_for_requests(1));
  EXPECT_EQ(sink.status().in_flight, 1u);
  const auto stopped_at = std::chrono::steady_clock::now();
  stop.request_stop();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  RecordProperty("abandoned_after_us", static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                            std::chrono::steady_clock::now() - stopped_at)
                                                            .count()));
  EXPECT_EQ(future.get().kind, OutcomeKind::abandoned);
  EXPECT_EQ(sink.status().in_flight, 0u);
}

TEST(MlSinkTest, TimedOutRequestIsRetried) {
  MlReceiver receiver({.token = kToken});
  receiver.faults(R"({"delayNext": 1, "delayMs": 3000})");
  auto config = config_for(receiver.url());
  config.timeout_ms = 300;
  HttpSink sink(config, fast_backoff());
  const Outcome o = deliver(sink, batch_of("batch-slow", 1));
  ASSERT_EQ(o.kind, OutcomeKind::acknowledged) << o.reason;
  EXPECT_GE(receiver.stats().at("requests").to_number<int>(), 2);
  EXPECT_NE(sink.status().last_error.value_or("").find("timed out"), std::string::npos)
      << sink.status().last_error.value_or("");
}

TEST(MlSinkTest, MalformedAnswerIsRetried) {
  MlReceiver receiver({.token = kToken});
  receiver.faults(R"({"malformedNext": 1})");
  HttpSink sink(config_for(receiver.url()), fast_backoff());
  const Outcome o = deliver(sink, batch_of("batch-malformed", 1));
  ASSERT_EQ(o.kind, OutcomeKind::acknowledged) << o.reason;
  EXPECT_EQ(receiver.stats().at("requests").to_number<int>(), 2);
}

TEST(MlSinkTest, RequestsPerSecondIsACeiling) {
  MlReceiver receiver({.token = kToken});
  auto config = config_for(receiver.url());
  config.requests_per_second = 10;
  HttpSink sink(config);
  std::vector<std::future<Outcome>> futures;
  std::vector<std::shared_ptr<std::promise<Outcome>>> promises;
  for (int i = 0; i < 6; ++i) {
    auto p = std::make_shared<std::promise<Outcome>>();
    futures.push_back(p->get_future());
    sink.send(batch_of("rps-" + std::to_string(i), 1, "r" + std::to_string(i)), {},
              [p](Outcome o) { p->set_value(std::move(o)); });
  }
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    EXPECT_EQ(f.get().kind, OutcomeKind::acknowledged);
  }
  auto at = arrival_times(receiver);
  ASSERT_EQ(at.size(), 6u);
  std::sort(at.begin(), at.end());
  // Six starts 100 ms apart span 500 ms; the first request's connection setup may eat into it.
  EXPECT_GE(at.back() - at.front(), 400.0);
}

class MlSinkTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto made = make_test_certificate(dir_);
    ASSERT_FALSE(HasFailure());
    cert_ = made.cert;
    key_ = made.key;
  }
  TempDir dir_;
  std::string cert_, key_;
};

TEST_F(MlSinkTlsTest, CertificateTrustedThroughCaFileIsAcknowledged) {
  MlReceiver receiver({.token = kToken, .test_switches = false, .tls_cert = cert_, .tls_key = key_});
  ASSERT_EQ(receiver.url().rfind("https://", 0), 0u);
  auto config = config_for(receiver.url());
  config.ca_file = cert_;
  HttpSink sink(config, fast_backoff());
  const Outcome o = deliver(sink, batch_of("batch-tls", 1));
  EXPECT_EQ(o.kind, OutcomeKind::acknowledged) << o.reason;
}

TEST_F(MlSinkTlsTest, UntrustedCertificateIsUnavailableWithTheReason) {
  MlReceiver receiver({.token = kToken, .test_switches = false, .tls_cert = cert_, .tls_key = key_});
  HttpSink sink(config_for(receiver.url()), fast_backoff());  // the system CA store only
  const Outcome o = deliver(sink, batch_of("batch-untrusted", 1));
  ASSERT_EQ(o.kind, OutcomeKind::unavailable);
  EXPECT_NE(o.reason.find("certificate verification failed"), std::string::npos) << o.reason;
}

TEST(MlSinkConfigTest, UrlIsShownWithoutCredentialsOrQuery) {
  EXPECT_EQ(sink::redact_url("https://bob:secret@ml.example:8443/base?token=abc#x"),
            "https://ml.example:8443/base");
  HttpSink sink(config_for("http://user:pw@127.0.0.1:9/ml?key=1"));
  EXPECT_EQ(sink.status().url, "http://127.0.0.1:9/ml");
}

}  // namespace
}  // namespace mladmin::test

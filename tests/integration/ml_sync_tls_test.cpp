// The ML service behind TLS, through the whole server (issue 14): `mladmin serve` with
// [ml_service] url = the https:// URL of the reference receiver, which serves a certificate this
// test made. Trusted through ca_file, a sync completes; without it the job fails with a reason
// that names the certificate (docs/ml-service-api.md, "Authentication and TLS").
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>

#include "support/fixture.hpp"
#include "support/ml_receiver.hpp"
#include "support/seed.hpp"
#include "support/tls_proxy.hpp"

namespace mladmin::test {
namespace {

constexpr const char* kToken = "receiver-token-tls";
constexpr std::int64_t kRecords = 120;

class MlSyncTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto made = make_test_certificate(dir_);
    ASSERT_FALSE(HasFailure());
    cert_ = made.cert;
    key_ = made.key;
    receiver_ = std::make_unique<MlReceiver>(
        MlReceiver::Options{.token = kToken, .test_switches = false, .tls_cert = cert_, .tls_key = key_});
    ASSERT_EQ(receiver_->url().rfind("https://", 0), 0U) << receiver_->url();
  }

  /// `mladmin serve` sending to the receiver (trusting `ca_file` when it is not empty), with
  /// kRecords journal entries of its user.
  std::unique_ptr<IntegrationServer> serve(const std::string& ca_file) {
    std::ofstream(dir_.file("mladmin.toml"))
        << "[ml_service]\nurl = \"" << receiver_->url() << "\"\nbatch_items = 50\nmax_attempts = 2\n"
        << (ca_file.empty() ? std::string() : "ca_file = \"" + ca_file + "\"\n");
    ServerProcess::Options options;
    options.extra_args = {"--config", dir_.file("mladmin.toml")};
    options.env = {{"MLADMIN_ML_SERVICE_TOKEN", kToken}};
    auto server = std::make_unique<IntegrationServer>(options);
    seed_journal_entries(server->database_url(), server->user().id, kRecords, "tls-");
    return server;
  }

  boost::json::value sync(IntegrationServer& server) {
    return server.run_job("/api/ml/sync/journal-entries", R"({"scope":"all"})", server.ml_admin().token);
  }

  TempDir dir_;
  std::string cert_, key_;
  std::unique_ptr<MlReceiver> receiver_;
};

TEST_F(MlSyncTlsTest, SyncCompletesWithTheCertificateTrustedThroughCaFile) {
  auto server = serve(cert_);
  const auto job = sync(*server);
  ASSERT_EQ(job.at("status"), "completed") << job;
  // Synced items and documents count only batches the service acknowledged.
  EXPECT_EQ(job.at("syncedItems").to_number<std::int64_t>(), kRecords) << job;
  EXPECT_EQ(query_int(server->database_url(), "SELECT count(*) FROM documents"), kRecords);
  const auto service = server->as_ml_admin().get("/api/ml/service").json();
  EXPECT_TRUE(service.at("lastAcknowledgedBatch").is_object()) << service;
  EXPECT_TRUE(service.at("lastError").is_null()) << service;
}

TEST_F(MlSyncTlsTest, UntrustedCertificateFailsTheJobWithAReasonThatSaysSo) {
  auto server = serve("");  // the system CA store only: the test's certificate is not in it
  const auto job = sync(*server);
  ASSERT_EQ(job.at("status"), "failed") << job;
  ASSERT_TRUE(job.as_object().contains("failureReason")) << job;
  const std::string reason(job.at("failureReason").as_string());
  EXPECT_EQ(reason.rfind("ML service unavailable: TLS certificate verification failed", 0), 0U) << reason;
  EXPECT_EQ(job.at("syncedItems").to_number<std::int64_t>(), 0) << job;
  EXPECT_EQ(query_int(server->database_url(), "SELECT count(*) FROM documents"), 0);
}

}  // namespace
}  // namespace mladmin::test

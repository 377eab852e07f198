// A real sync through the ML service sink: mladmin serve with [ml_service] url set to the
// reference receiver; afterwards the receiver holds exactly the store's documents.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>

#include "support/http_client.hpp"
#include "support/ml_receiver.hpp"
#include "support/process.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

constexpr const char* kPassword = "Lichen-Harvest-29-Sonnet";
constexpr const char* kToken = "receiver-token-789";

/// (sourceType/sourceId) → content hash of every document in the store.
std::map<std::string, std::string> store_documents(const std::string& database_url) {
  const std::string path = database_url.substr(std::string("sqlite://").size());
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT source_type, source_id, content_hash FROM documents", -1, &st, nullptr);
  std::map<std::string, std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    out[std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) + "/" +
        reinterpret_cast<const char*>(sqlite3_column_text(st, 1))] =
        reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

std::map<std::string, std::string> receiver_documents(MlReceiver& receiver) {
  std::map<std::string, std::string> out;
  for (const auto& d : receiver.documents()) {
    out[std::string(d.at("sourceType").as_string()) + "/" + std::string(d.at("sourceId").as_string())] =
        std::string(d.at("version").as_string());
  }
  return out;
}

TEST(MlSyncEndToEndTest, ReceiverHoldsExactlyTheStoresDocuments) {
  MlReceiver receiver({.token = kToken});
  receiver.faults(R"({"failNext": 2, "failStatus": 503})");  // the first batch is retried
  TempDir dir;
  std::ofstream(dir.file("mladmin.toml"))
      << "[ml_service]\nurl = \"" << receiver.url() << "\"\nbatch_items = 40\n";
  ServerProcess::Options options;
  options.extra_args = {"--config", dir.file("mladmin.toml")};
  options.env = {{"MLADMIN_ML_SERVICE_TOKEN", kToken}};
  ServerProcess server(options);
  const auto ml = add_account(server, "ml@e2e.test", kPassword, "ml_admin");
  const auto admin = add_account(server, "admin@e2e.test", kPassword, "admin");
  const auto owner = add_account(server, "owner@e2e.test", kPassword, "user");
  const auto other = add_account(server, "other@e2e.test", kPassword, "user");
  seed_journal_entries(server.database_url(), owner.id, 230, "e2e-");
  seed_journal_entries(server.database_url(), other.id, 20, "other-");
  HttpClient client(server.port());
  auto job = client.run_sync("/api/ml/sync/journal-entries", R"({"scope":"all"})", ml.token);
  ASSERT_EQ(job.at("status"), "completed") << job;
  auto held = store_documents(server.database_url());
  EXPECT_EQ(held.size(), 250u);
  EXPECT_EQ(receiver_documents(receiver), held);

  // A deleted user's documents leave the service at the next sync.
  ASSERT_EQ(client.del("/api/ml/admin/users/" + other.id, admin.token).status, 204);
  job = client.run_sync("/api/ml/sync/journal-entries", R"({"scope":"all"})", ml.token);
  ASSERT_EQ(job.at("status"), "completed") << job;
  held = store_documents(server.database_url());
  EXPECT_EQ(held.size(), 230u);
  EXPECT_EQ(receiver_documents(receiver), held);

  const auto service = client.get("/api/ml/service", ml.token).json();
  EXPECT_FALSE(service.at("lastAcknowledgedAt").is_null());
  EXPECT_FALSE(service.at("ackLatencyMs").at("p50").is_null());
}

}  // namespace
}  // namespace mladmin::test

// GET /api/ml/sync/jobs/export (docs/openapi.yaml): the job history as CSV or JSON, with the list's
// filters and the list's visibility rules.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixture.hpp"
#include "support/text.hpp"

namespace mladmin::test {
namespace {

std::string finished_sync(IntegrationServer& server, const std::string& path, const std::string& token) {
  const auto job = server.run_job(path, "{}", token);
  EXPECT_EQ(job.at("status").as_string(), "completed");
  return std::string(job.at("id").as_string());
}

TEST(JobExportTest, CsvAndJsonFollowTheListsFiltersAndVisibility) {
  IntegrationServer server;
  auto& c = server.http();
  const auto alice = server.user().token;
  const auto bob = server.add_account("bob@export.test", "user", "Bob").token;
  const auto ml = server.ml_admin().token;
  const auto journal = finished_sync(server, kJournalSync, alice);
  const auto goals = finished_sync(server, kGoalSync, alice);

  auto json = c.get("/api/ml/sync/jobs/export?format=json", ml);
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_NE(json.header("content-disposition").find("sync-jobs.json"), std::string::npos);
  const auto all = json.json().as_array();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].at("id").as_string(), goals);  // newest first
  EXPECT_EQ(all[1].at("id").as_string(), journal);
  EXPECT_EQ(all[1].at("status").as_string(), "completed");

  auto csv = c.get("/api/ml/sync/jobs/export?format=csv", alice);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  const auto rows = text_lines(csv.body);
  ASSERT_EQ(rows.size(), 3u) << csv.body;
  EXPECT_EQ(rows[0].rfind("id,userId,type,status,", 0), 0u) << rows[0];
  EXPECT_EQ(rows[1].rfind(goals + ",", 0), 0u);
  EXPECT_NE(rows[2].find(",journal_entries,completed,"), std::string::npos) << rows[2];

  auto filtered = c.get("/api/ml/sync/jobs/export?format=csv&type=goals", ml);
  EXPECT_EQ(text_lines(filtered.body).size(), 2u);
  auto others = c.get("/api/ml/sync/jobs/export?format=csv", bob);
  ASSERT_EQ(others.status, 200);
  EXPECT_EQ(text_lines(others.body).size(), 1u);  // the header only: Bob started and owns nothing

  auto bad = c.get("/api/ml/sync/jobs/export?format=xml", ml);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.error_message().find("'format'"), std::string::npos);
  EXPECT_EQ(c.get("/api/ml/sync/jobs/export?format=csv").status, 401);
}

}  // namespace
}  // namespace mladmin::test

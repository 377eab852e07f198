// The job's JSON (job_json.cpp) has exactly the fields of the Job schema of docs/openapi.yaml
// (embedded as api-docs/openapi.json by the dashboard's build): every required one always, the
// optional ones (failureReason, bulk) only when they say something, nothing undescribed.
#include "api/job_json.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>
#include <span>
#include <string>

#include "util/embedded.hpp"

namespace mladmin::dashboard {
std::span<const EmbeddedWebFile> files();
}  // namespace mladmin::dashboard

namespace mladmin::api {
namespace {

boost::json::object job_schema() {
  for (const auto& f : dashboard::files()) {
    if (f.name == "api-docs/openapi.json") {
      return boost::json::parse(f.data).at("components").at("schemas").at("Job").as_object();
    }
  }
  ADD_FAILURE() << "the dashboard's build holds no api-docs/openapi.json";
  return {};
}

std::set<std::string> keys(const boost::json::object& o) {
  std::set<std::string> out;
  for (const auto& [k, v] : o) {
    out.emplace(k);
  }
  return out;
}

std::set<std::string> strings(const boost::json::value& array) {
  std::set<std::string> out;
  for (const auto& v : array.as_array()) {
    out.emplace(v.as_string());
  }
  return out;
}

TEST(JobJsonTest, AQueuedSyncHasExactlyTheRequiredFields) {
  const auto schema = job_schema();
  ASSERT_TRUE(schema.contains("required"));
  domain::Job job;
  job.id = "job-1";
  job.user_id = "user-1";
  job.scope_user_id = "user-1";
  EXPECT_EQ(keys(job_json(job, 0)), strings(schema.at("required")));
}

TEST(JobJsonTest, AFailedBulkJobAddsOnlyDescribedFields) {
  const auto schema = job_schema();
  ASSERT_TRUE(schema.contains("properties"));
  domain::Job job;
  job.id = "job-2";
  job.user_id = "user-1";
  job.type = domain::JobType::bulk_delete;
  job.status = domain::JobStatus::failed;
  job.start_time = 1000;
  job.end_time = 5000;
  job.failure_reason = "the source cannot be read";
  job.bulk = domain::BulkParams{std::nullopt, 3};
  job.errors.push_back({"doc-1", "gone", 2000});
  const auto o = job_json(job, 9000);
  EXPECT_EQ(keys(o), keys(schema.at("properties").as_object()));
  EXPECT_EQ(o.at("duration").as_int64(), 4000);
  EXPECT_EQ(o.at("bulk").at("idCount").as_int64(), 3);
  EXPECT_EQ(keys(o.at("errors").at(0).as_object()), (std::set<std::string>{"itemId", "reason", "at"}));
}

TEST(JobJsonTest, ABulkJobShowsItsActionAndTargetAsTheClientWroteThem) {
  domain::Job job;
  job.id = "job-3";
  job.type = domain::JobType::bulk_resync;
  domain::DocumentFilterSpec filter;
  filter.q = "tag:work";
  filter.date_field = "source";
  job.bulk = domain::BulkParams{filter, 0};
  EXPECT_EQ(boost::json::serialize(job_json(job, 0).at("bulk")),
            R"({"action":"resync","filter":{"q":"tag:work","dateField":"source"}})");
  job.type = domain::JobType::bulk_delete;
  job.bulk = domain::BulkParams{std::nullopt, 12};
  EXPECT_EQ(boost::json::serialize(job_json(job, 0).at("bulk")), R"({"action":"delete","idCount":12})");
  job.type = domain::JobType::goals;
  job.bulk.reset();
  EXPECT_FALSE(job_json(job, 0).contains("bulk"));
}

}  // namespace
}  // namespace mladmin::api

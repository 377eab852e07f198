// The job's JSON (job_json.cpp) has exactly the fields of the Job schema of docs/openapi.yaml
// (embedded as api-docs/openapi.json by the dashboard's build): every required one always, the
// optional ones (failureReason, bulk) only when they say something, nothing undescribed. The
// reader the command line uses (read_job_json) reads back every one of them, needs exactly the
// schema's required ones, and so a field added to the schema cannot be left out of either.
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

/// A job that sets every field of the JSON, each to a value other than the default.
domain::Job full_job() {
  domain::Job job;
  job.id = "job-2";
  job.user_id = "user-1";
  job.type = domain::JobType::bulk_delete;
  job.status = domain::JobStatus::failed;
  job.scope = domain::JobScope::user;
  job.scope_user_id = "user-3";
  job.mode = domain::SyncMode::full;
  job.counters = {40, 20, 5, 3};
  job.error_count = 4;
  job.start_time = 1000;
  job.end_time = 5000;
  job.running_ms = 4000;
  job.created_at = 500;
  job.updated_at = 5000;
  job.attempt = 2;
  job.cancel_requested = true;
  job.failure_reason = "the source cannot be read";
  job.bulk = domain::BulkParams{std::nullopt, 3};
  job.errors.push_back({"doc-1", "gone", 2000});
  return job;
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

TEST(JobJsonTest, TheReaderReadsBackEveryFieldOfTheSchema) {
  const auto schema = job_schema();
  ASSERT_TRUE(schema.contains("properties"));
  const auto written = job_json(full_job(), 9000);
  ASSERT_EQ(keys(written), keys(schema.at("properties").as_object()));
  std::string problem;
  const auto read = read_job_json(written, &problem);
  ASSERT_TRUE(read) << problem;
  EXPECT_EQ(write_job_json(*read), written) << "a field the reader drops or changes";
  EXPECT_EQ(*read, job_wire(full_job(), 9000));
  EXPECT_EQ(read->scope_user_id, "user-3");
  EXPECT_EQ(read->failure_reason, "the source cannot be read");
  EXPECT_EQ(read->errors.at(0).at, "1970-01-01T00:00:02.000Z");
}

TEST(JobJsonTest, TheReaderNeedsExactlyTheRequiredFieldsOfTheSchema) {
  const auto schema = job_schema();
  ASSERT_TRUE(schema.contains("required"));
  const auto required = strings(schema.at("required"));
  const auto written = job_json(full_job(), 9000);
  for (const auto& key : keys(written)) {
    auto without = written;
    without.erase(key);
    std::string problem;
    const auto read = read_job_json(without, &problem);
    if (required.contains(key)) {
      EXPECT_FALSE(read) << key << " is required";
      EXPECT_EQ(problem, "it has no '" + key + "'");
    } else {
      EXPECT_TRUE(read) << key << " is optional: " << problem;
    }
  }
}

TEST(JobJsonTest, TheReaderRefusesAFieldOfTheWrongKind) {
  const auto written = job_json(full_job(), 9000);
  for (const auto& key : keys(written)) {
    auto wrong = written;
    // An array where no field of the job takes one, an object where "errors" does.
    wrong[key] = key == "errors" ? boost::json::value(boost::json::object{})
                                 : boost::json::value(boost::json::array{1});
    std::string problem;
    EXPECT_FALSE(read_job_json(wrong, &problem)) << key;
    EXPECT_EQ(problem, "its '" + key + "' is not what docs/openapi.yaml says");
  }
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

#include "sink/http_sink.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace mladmin::sink {
namespace {

TEST(BatchJsonTest, HasTheDocumentedShape) {
  Batch b;
  b.batch_id = "b-1";
  b.job_id = "j-1";
  Upsert u;
  u.source_type = domain::SourceType::goals;
  u.source_id = "g-1";
  u.user_id = "u-1";
  u.title = "Run";
  u.text = "Run 5 km";
  u.metadata_json = R"({"status":"active"})";
  u.version = "abc";
  u.updated_at = 1764123353123;
  b.upserts.push_back(u);
  b.deletes.push_back({domain::SourceType::journal_entries, "e-9"});
  const auto v = boost::json::parse(batch_to_json(b));
  EXPECT_EQ(v.at("batchId"), "b-1");
  EXPECT_EQ(v.at("jobId"), "j-1");
  const auto& up = v.at("upserts").at(0);
  EXPECT_EQ(up.at("sourceType"), "goals");
  EXPECT_EQ(up.at("sourceId"), "g-1");
  EXPECT_EQ(up.at("userId"), "u-1");
  EXPECT_EQ(up.at("title"), "Run");
  EXPECT_EQ(up.at("text"), "Run 5 km");
  EXPECT_EQ(up.at("metadata").at("status"), "active");  // an object, not a string
  EXPECT_EQ(up.at("version"), "abc");
  EXPECT_EQ(up.at("updatedAt"), "2025-11-26T02:15:53.123Z");
  EXPECT_EQ(v.at("deletes").at(0).at("sourceType"), "journal_entries");
  EXPECT_EQ(v.at("deletes").at(0).at("sourceId"), "e-9");
}

TEST(BatchJsonTest, EmptyBatchStillHasBothLists) {
  const auto v = boost::json::parse(batch_to_json(Batch{"b", "j", {}, {}}));
  EXPECT_TRUE(v.at("upserts").as_array().empty());
  EXPECT_TRUE(v.at("deletes").as_array().empty());
}

TEST(HttpSinkTest, RefusesAUrlThatIsNotHttp) {
  MlServiceConfig c;
  c.url = "ftp://ml.internal/";
  EXPECT_THROW(HttpSink{c}, std::runtime_error);
  c.url = "not a url";
  EXPECT_THROW(HttpSink{c}, std::runtime_error);
}

}  // namespace
}  // namespace mladmin::sink

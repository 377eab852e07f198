#include "sink/http_sink.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

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

TEST(BatchJsonTest, EscapesTextAndSendsMetadataOnlyWhenItIsOneObject) {
  // The body is written without a json::value tree: each string is escaped, and the store's
  // metadata goes in as it is only when it is one JSON object.
  Batch b;
  b.batch_id = "b\"1";
  b.job_id = "j\\1";
  const std::string text = "a \"quote\", a \\ backslash,\na newline, a \x01 control and \xc3\xa9t\xc3\xa9";
  const std::vector<std::pair<std::string, std::string>> metadata = {
      {R"({"mood":3,"tags":["a"]})", R"({"mood":3,"tags":["a"]})"},
      {" {\"a\":1}\n", R"({"a":1})"},
      {"", "{}"},
      {"not json", "{}"},
      {"[1,2]", "{}"},
      {R"({"a":1} {"b":2})", "{}"},
      {R"({"a":)", "{}"},
      {R"({"a":1}})", "{}"},
  };
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    Upsert u;
    u.source_id = "e" + std::to_string(i);
    u.title = text;
    u.text = text;
    u.metadata_json = metadata[i].first;
    b.upserts.push_back(u);
  }
  b.deletes.push_back({domain::SourceType::goals, "g\"2"});
  const auto v = boost::json::parse(batch_to_json(b));
  EXPECT_EQ(v.at("batchId"), "b\"1");
  EXPECT_EQ(v.at("jobId"), "j\\1");
  ASSERT_EQ(v.at("upserts").as_array().size(), metadata.size());
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    const auto& up = v.at("upserts").at(i);
    EXPECT_EQ(up.at("sourceId").as_string(), "e" + std::to_string(i));
    EXPECT_EQ(up.at("title").as_string(), text);
    EXPECT_EQ(up.at("text").as_string(), text);
    EXPECT_EQ(up.at("metadata"), boost::json::parse(metadata[i].second)) << metadata[i].first;
    EXPECT_EQ(up.at("updatedAt"), "1970-01-01T00:00:00.000Z");
  }
  EXPECT_EQ(v.at("deletes").at(0).at("sourceType"), "goals");
  EXPECT_EQ(v.at("deletes").at(0).at("sourceId"), "g\"2");
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

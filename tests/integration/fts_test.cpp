// The full-text index follows the documents through a sync: new documents are found by their
// words, changed ones by their new words only, removed ones not at all, and FTS5's own
// integrity check passes after every sync. The index is the file beside the database,
// `<database>-search` (docs/performance.md), and a completed job's documents are all in it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

std::int64_t matches(const std::string& url, const std::string& word) {
  return query_int(url + "-search",
                   "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH '" + word + "'");
}

void sync_and_wait(IntegrationServer& server, const std::string& token) {
  EXPECT_EQ(str(server.run_job(kJournalSync, "{}", token), "status"), "completed");
}

TEST(FullTextIndexTest, FollowsAddsEditsAndDeletesAcrossSyncs) {
  IntegrationServer server;
  auto& c = server.http();
  const auto token = server.user().token;
  std::vector<std::string> ids;
  for (const char* body : {"the heron waited by the river", "a heron and a kingfisher", "nothing to see"}) {
    auto res = c.post("/api/journal-entries",
                      boost::json::serialize(boost::json::object{{"title", "Birds"}, {"body", body}}), token);
    ASSERT_EQ(res.status, 201);
    ids.emplace_back(res.json().at("id").as_string());
  }
  sync_and_wait(server, token);
  const auto url = server.database_url();
  EXPECT_EQ(matches(url, "heron"), 2);
  EXPECT_EQ(matches(url, "kingfisher"), 1);
  EXPECT_EQ(matches(url, "birds"), 3);  // titles are indexed too

  // Edit one (heron → osprey), delete another, then sync again.
  auto edited = c.request("PUT", "/api/journal-entries/" + ids[0],
                          R"({"title":"Birds","body":"the osprey waited by the river"})",
                          {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
  ASSERT_EQ(edited.status, 200);
  ASSERT_EQ(c.del("/api/journal-entries/" + ids[1], token).status, 204);
  sync_and_wait(server, token);
  EXPECT_EQ(matches(url, "heron"), 0);
  EXPECT_EQ(matches(url, "osprey"), 1);
  EXPECT_EQ(matches(url, "kingfisher"), 0);
  EXPECT_EQ(matches(url, "birds"), 2);
  // FTS5 raises an error from 'integrity-check' when the index and the documents disagree.
  EXPECT_NO_THROW(query_int(
      url + "-search", "INSERT INTO documents_fts (documents_fts) VALUES ('integrity-check') RETURNING 0"));
}

}  // namespace
}  // namespace mladmin::test

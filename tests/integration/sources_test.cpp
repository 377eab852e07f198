// Journal entries and goals over real HTTP (docs/jobs.md, docs/openapi.yaml): owners manage their own
// records, ml_admin reads everyone's, other users' records are 404, deleting leaves a tombstone, and content
// a sync would refuse is refused up front.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <set>
#include <string>

#include "store/store.hpp"
#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;

class SourcesTest : public SharedIntegrationTest {
 protected:
  static void SetUpTestSuite() {
    SharedIntegrationTest::SetUpTestSuite();
    bob_ = server().add_account("bob@sources.test", "user", "Bob");
  }

  /// Alice is the fixture's user; Bob another one.
  static const std::string& alice_token() { return server().user().token; }
  static const std::string& alice_id() { return server().user().id; }
  static const std::string& ml_token() { return server().ml_admin().token; }

  static HttpClient client() { return HttpClient(server().port()); }

  std::string create_entry(const std::string& token, const std::string& title) {
    auto c = client();
    auto res = c.post(
        "/api/journal-entries",
        json::serialize(json::object{{"title", title}, {"body", "Body of " + title}, {"mood", 3}}), token);
    EXPECT_EQ(res.status, 201) << res.body;
    return std::string(res.json().at("id").as_string());
  }

  static inline Account bob_;
};

TEST_F(SourcesTest, OwnerCreatesReadsReplacesAndDeletesAJournalEntry) {
  auto c = client();
  auto created =
      c.post("/api/journal-entries",
             R"({"title":"Day one","body":"It rained.","mood":2,"tags":["weather","mood"]})", alice_token());
  ASSERT_EQ(created.status, 201) << created.body;
  const auto entry = created.json();
  const std::string id(entry.at("id").as_string());
  EXPECT_EQ(created.header("location"), "/api/journal-entries/" + id);
  EXPECT_EQ(entry.at("userId").as_string(), alice_id());
  EXPECT_EQ(entry.at("mood").as_int64(), 2);
  EXPECT_EQ(entry.at("tags").as_array().size(), 2u);

  auto read = c.get("/api/journal-entries/" + id, alice_token());
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.json().at("body").as_string(), "It rained.");

  auto replaced =
      c.request("PUT", "/api/journal-entries/" + id, R"({"title":"Day one","body":"It cleared up."})",
                {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + alice_token()}});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(replaced.json().at("body").as_string(), "It cleared up.");
  EXPECT_TRUE(replaced.json().at("mood").is_null());  // PUT replaces: an omitted mood is cleared

  EXPECT_EQ(c.del("/api/journal-entries/" + id, alice_token()).status, 204);
  EXPECT_EQ(c.get("/api/journal-entries/" + id, alice_token()).status, 404);
  EXPECT_EQ(c.del("/api/journal-entries/" + id, alice_token()).status, 404);

  // The record stays behind as a tombstone, so that the next sync can remove its document.
  auto store = store::open_store(server().database_url(), 1);
  auto tomb = store->read_value([&](store::Reader& r) { return r.find_journal_entry(id); });
  ASSERT_TRUE(tomb.has_value());
  EXPECT_TRUE(tomb->deleted_at.has_value());
  EXPECT_GT(tomb->change_seq, 1);
}

TEST_F(SourcesTest, OwnerManagesGoalsWithStatusAndTargetDate) {
  auto c = client();
  auto created = c.post("/api/goals", R"({"title":"Run a 10k","targetDate":"2027-04-30"})", bob_.token);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json().at("id").as_string());
  EXPECT_EQ(created.json().at("status").as_string(), "open");
  EXPECT_EQ(created.json().at("description").as_string(), "");

  auto done =
      c.request("PUT", "/api/goals/" + id, R"({"title":"Run a 10k","status":"done","targetDate":null})",
                {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + bob_.token}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json().at("status").as_string(), "done");
  EXPECT_TRUE(done.json().at("targetDate").is_null());

  auto list = c.get("/api/goals", bob_.token);
  ASSERT_EQ(list.status, 200);
  bool found = false;
  const auto list_json = list.json();
  for (const auto& g : list_json.at("items").as_array()) {
    found = found || g.at("id").as_string() == id;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(c.del("/api/goals/" + id, bob_.token).status, 204);
  EXPECT_EQ(c.get("/api/goals/" + id, bob_.token).status, 404);
}

TEST_F(SourcesTest, AnotherUsersRecordIsNotFoundAndTheirListIsForbidden) {
  const auto id = create_entry(alice_token(), "Private thoughts");
  auto c = client();
  EXPECT_EQ(c.get("/api/journal-entries/" + id, bob_.token).status, 404);
  EXPECT_EQ(c.request("PUT", "/api/journal-entries/" + id, R"({"title":"mine now","body":"x"})",
                      {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + bob_.token}})
                .status,
            404);
  EXPECT_EQ(c.del("/api/journal-entries/" + id, bob_.token).status, 404);
  EXPECT_EQ(c.get("/api/journal-entries/" + id, alice_token()).status, 200);  // untouched

  auto others = c.get("/api/journal-entries?userId=" + alice_id(), bob_.token);
  EXPECT_EQ(others.status, 403);
  auto own = c.get("/api/journal-entries?limit=500", bob_.token);
  ASSERT_EQ(own.status, 200);
  const auto own_json = own.json();
  for (const auto& e : own_json.at("items").as_array()) {
    EXPECT_EQ(e.at("userId").as_string(), bob_.id);
  }
}

TEST_F(SourcesTest, MlAdminReadsEveryonesRecordsButCannotChangeThem) {
  const auto id = create_entry(alice_token(), "Shared with the ML team");
  auto c = client();
  EXPECT_EQ(c.get("/api/journal-entries/" + id, ml_token()).status, 200);
  auto filtered = c.get("/api/journal-entries?limit=500&userId=" + alice_id(), ml_token());
  ASSERT_EQ(filtered.status, 200);
  bool found = false;
  const auto filtered_json = filtered.json();
  for (const auto& e : filtered_json.at("items").as_array()) {
    EXPECT_EQ(e.at("userId").as_string(), alice_id());
    found = found || e.at("id").as_string() == id;
  }
  EXPECT_TRUE(found);
  auto change = c.request("PUT", "/api/journal-entries/" + id, R"({"title":"edited","body":"by ml"})",
                          {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + ml_token()}});
  EXPECT_EQ(change.status, 403);
  EXPECT_EQ(change.error_code(), "not_owner");
  EXPECT_EQ(c.del("/api/journal-entries/" + id, ml_token()).status, 403);
  EXPECT_EQ(c.get("/api/journal-entries/" + id, alice_token()).json().at("title").as_string(),
            "Shared with the ML team");
}

TEST_F(SourcesTest, ContentASyncWouldRefuseIsRefusedNamingTheProblem) {
  auto c = client();
  struct Case {
    const char* path;
    std::string body;
    int status;
    const char* needle;
  };
  const Case cases[] = {
      {"/api/journal-entries", R"({"title":"t","body":"   "})", 422, "body is empty"},
      {"/api/journal-entries", R"({"title":"","body":"b"})", 422, "title is empty"},
      {"/api/journal-entries", R"({"title":"t","body":")" + std::string(64 * 1024 + 1, 'x') + R"("})", 422,
       "longer than 64 KiB"},
      {"/api/journal-entries", R"({"title":"t","body":"b","mood":7})", 400, "'mood'"},
      {"/api/journal-entries", R"({"title":"t","body":"b","mood":"happy"})", 400, "'mood'"},
      {"/api/journal-entries", R"({"title":"t","body":"b","tags":"a,b"})", 400, "'tags'"},
      {"/api/journal-entries", R"({"title":"t","body":"b","tags":[1]})", 400, "'tags'"},
      {"/api/journal-entries", R"({"title":"t","body":"b","secret":1})", 400, "'secret'"},
      {"/api/journal-entries", R"({"title":42,"body":"b"})", 400, "'title'"},
      {"/api/goals", R"({"title":"g","status":"abandoned"})", 400, "'status'"},
      {"/api/goals", R"({"title":"g","targetDate":"2027-02-30"})", 400, "'targetDate'"},
      {"/api/goals", R"({"description":"no title"})", 400, "'title'"},
  };
  const auto before =
      c.get("/api/journal-entries?limit=500", bob_.token).json().at("items").as_array().size();
  for (const auto& k : cases) {
    auto res = c.post(k.path, k.body, bob_.token);
    EXPECT_EQ(res.status, k.status) << k.body.substr(0, 80) << " -> " << res.body.substr(0, 200);
    EXPECT_NE(res.error_message().find(k.needle), std::string::npos) << res.body.substr(0, 200);
  }
  EXPECT_EQ(c.get("/api/journal-entries?limit=500", bob_.token).json().at("items").as_array().size(), before);
}

TEST_F(SourcesTest, ListPagesNewestFirstWithoutGapsOrDuplicates) {
  IntegrationServer fresh;  // its own database, so that only these records are listed
  auto& c = fresh.http();
  const auto token = fresh.user().token;
  std::vector<std::string> created;
  for (int i = 0; i < 7; ++i) {
    auto res = c.post(
        "/api/journal-entries",
        json::serialize(json::object{{"title", "entry " + std::to_string(i)}, {"body", "text"}}), token);
    ASSERT_EQ(res.status, 201);
    created.emplace_back(res.json().at("id").as_string());
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto res = c.get("/api/journal-entries?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor), token);
    ASSERT_EQ(res.status, 200) << res.body;
    const auto res_json = res.json();
    for (const auto& e : res_json.at("items").as_array()) {
      seen.emplace_back(e.at("id").as_string());
    }
    const auto next = res.json().at("nextCursor");
    if (next.is_null()) {
      break;
    }
    cursor = std::string(next.as_string());
  }
  EXPECT_EQ(seen, std::vector<std::string>(created.rbegin(), created.rend()));
}

TEST_F(SourcesTest, NoTokenIsUnauthorized) {
  auto c = client();
  EXPECT_EQ(c.get("/api/journal-entries").status, 401);
  EXPECT_EQ(c.post("/api/goals", R"({"title":"g"})").status, 401);
}

}  // namespace
}  // namespace mladmin::test

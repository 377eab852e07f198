// POST /api/ml/documents/bulk over real HTTP (issue 4 "Bulk operations"), the cases that need no
// more than a few thousand documents: dry runs count and change nothing; a small delete by ids
// answers per id (not_found included) at once; a re-sync rewrites an edited record's document
// (version + 1, new text), removes the one of a deleted record and fails (keeping the document)
// the one of a record that became invalid; who may call it, and the audit entry; every kind of
// bad body is a 400 naming the field, with nothing changed; and a re-sync of more than 1,000
// documents running as a job whose failed items a retry refuses with a clear 409.
//
// Documents are written straight into the store (tests/support/documents): a sync of thousands of
// records would only slow the tests down.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "support/documents.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kBulk = "/api/ml/documents/bulk";

std::string details_field(const HttpResponse& res) {
  const auto v = res.json();
  if (!v.is_object() || !v.as_object().contains("error")) {
    return "";
  }
  const auto* details = v.at("error").as_object().if_contains("details");
  if (details == nullptr || !details->is_object() || !details->as_object().contains("field")) {
    return "";
  }
  return str(*details, "field");
}

std::int64_t documents(IntegrationServer& server) {
  return query_int(server.database_url(), "SELECT count(*) FROM documents");
}

std::int64_t documents_of(IntegrationServer& server, const std::string& user_id) {
  return query_int(server.database_url(), "SELECT count(*) FROM documents WHERE user_id = '" + user_id + "'");
}

bool document_exists(IntegrationServer& server, const std::string& id) {
  return query_int(server.database_url(), "SELECT count(*) FROM documents WHERE id = '" + id + "'") == 1;
}

/// The newest audit entry, read as an admin.
json::value newest_audit(HttpClient& c, const std::string& admin_token) {
  auto res = c.get("/api/ml/admin/audit?limit=1", admin_token);
  EXPECT_EQ(res.status, 200) << res.body;
  const auto items = res.json().at("items").as_array();
  return items.empty() ? json::value() : items.front();
}

// ---------------------------------------------------------------------------------------------

TEST(DocumentBulkTest, DryRunCountsTheTargetsAndChangesNothing) {
  IntegrationServer server;
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@bulk.test", "user");
  seed_documents(server.database_url(), alice.id, 1500, "a-", "otter");
  seed_documents(server.database_url(), ml.id, 20, "m-", "heron");
  auto& c = server.http();

  auto by_filter = c.post(kBulk, R"({"action":"delete","filter":{"q":"heron"},"dryRun":true})", ml.token);
  ASSERT_EQ(by_filter.status, 200) << by_filter.body;
  EXPECT_EQ(str(by_filter.json(), "action"), "delete");
  EXPECT_TRUE(by_filter.json().at("dryRun").as_bool());
  EXPECT_EQ(num(by_filter.json(), "matched"), 20);
  EXPECT_FALSE(by_filter.json().at("runsAsJob").as_bool());

  auto large = c.post(kBulk, R"({"action":"resync","filter":{"userId":")" + alice.id + R"("},"dryRun":true})",
                      ml.token);
  ASSERT_EQ(large.status, 200) << large.body;
  EXPECT_EQ(num(large.json(), "matched"), 1500);
  EXPECT_TRUE(large.json().at("runsAsJob").as_bool());

  auto everything = c.post(kBulk, R"({"action":"delete","filter":{},"all":true,"dryRun":true})", ml.token);
  ASSERT_EQ(everything.status, 200) << everything.body;
  EXPECT_EQ(num(everything.json(), "matched"), 1520);

  auto by_ids =
      c.post(kBulk, R"({"action":"delete","ids":["a-1","a-2","a-2","nope"],"dryRun":true})", ml.token);
  ASSERT_EQ(by_ids.status, 200) << by_ids.body;
  EXPECT_EQ(num(by_ids.json(), "matched"), 2);

  EXPECT_EQ(documents(server), 1520);
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM jobs"), 0);
  const auto admin = server.admin();
  const auto audit = newest_audit(c, admin.token);
  EXPECT_TRUE(audit.is_null() || !str(audit, "action").starts_with("document.bulk"))
      << json::serialize(audit);
}

// A filter's search and count stop at [search] bulk_deadline_ms (docs/security.md, "Query
// deadlines"): 1 µs here, over before SQLite first asks (every 1,000 virtual machine steps). The
// dry run and the delete answer 503 query_timeout, nothing is deleted, no job is created, and the
// server goes on answering.
TEST(DocumentBulkTest, AFilterPastTheBulkDeadlineAnswers503QueryTimeoutAndChangesNothing) {
  IntegrationServer server({.config = "[search]\nbulk_deadline_ms = 0.001\n"});
  const auto ml = server.ml_admin();
  seed_documents(server.database_url(), ml.id, 1500, "m-", "heron");
  auto& c = server.http();
  for (const std::string body : {R"({"action":"delete","filter":{"q":"heron"},"dryRun":true})",
                                 R"({"action":"delete","filter":{"q":"heron"}})",
                                 R"({"action":"resync","filter":{"q":"heron","type":"journal_entries"}})"}) {
    const auto res = c.post(kBulk, body, ml.token);
    ASSERT_EQ(res.status, 503) << body << ": " << res.body;
    const auto error = res.json().at("error");
    EXPECT_EQ(str(error, "code"), "query_timeout") << res.body;
    EXPECT_NE(str(error, "message").find("narrow the filter"), std::string::npos) << res.body;
    EXPECT_EQ(str(error.at("details"), "deadlineMs"), "1") << res.body;
  }
  EXPECT_EQ(documents(server), 1500);
  const auto jobs = c.get("/api/ml/sync/jobs", ml.token);
  ASSERT_EQ(jobs.status, 200) << jobs.body;
  EXPECT_TRUE(jobs.json().at("items").as_array().empty()) << jobs.body;
  // Actions by ids search nothing: they still work, and so do other requests.
  const auto by_ids = c.post(kBulk, R"({"action":"delete","ids":["m-0","m-1"]})", ml.token);
  ASSERT_EQ(by_ids.status, 200) << by_ids.body;
  EXPECT_EQ(num(by_ids.json(), "deleted"), 2);
  EXPECT_EQ(c.get("/api/ml/documents?limit=1", ml.token).status, 200);
  EXPECT_EQ(documents(server), 1498);
}

TEST(DocumentBulkTest, SmallDeleteByIdsAnswersPerIdAndAnMlAdminMayActOnAnotherUsersDocuments) {
  IntegrationServer server;
  const auto ml = server.ml_admin();
  const auto admin = server.admin();
  const auto alice = server.add_account("alice@bulk.test", "user");
  seed_documents(server.database_url(), alice.id, 10, "a-", "otter");
  auto& c = server.http();

  auto res = c.post(kBulk, R"({"action":"delete","ids":["a-3","missing-1","a-1","a-3","a-7"]})", ml.token);
  ASSERT_EQ(res.status, 200) << res.body;
  const auto body = res.json();
  EXPECT_EQ(str(body, "action"), "delete");
  EXPECT_EQ(num(body, "matched"), 3);
  EXPECT_EQ(num(body, "deleted"), 3);
  EXPECT_EQ(num(body, "failed"), 0);
  EXPECT_EQ(num(body, "notFound"), 1);
  const auto& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), 4u);  // duplicates ignored, request order kept
  const std::vector<std::pair<std::string, std::string>> expected{
      {"a-3", "deleted"}, {"missing-1", "not_found"}, {"a-1", "deleted"}, {"a-7", "deleted"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(str(results[i], "id"), expected[i].first);
    EXPECT_EQ(str(results[i], "status"), expected[i].second) << str(results[i], "id");
  }
  EXPECT_FALSE(document_exists(server, "a-1"));
  EXPECT_FALSE(document_exists(server, "a-3"));
  EXPECT_FALSE(document_exists(server, "a-7"));
  EXPECT_TRUE(document_exists(server, "a-2"));
  EXPECT_EQ(documents_of(server, alice.id), 7);
  EXPECT_EQ(count_text_matches(server.database_url(), "otter"), 7);  // gone from the index too

  const auto audit = newest_audit(c, admin.token);
  ASSERT_TRUE(audit.is_object());
  EXPECT_EQ(str(audit, "action"), "document.bulk_delete");
  EXPECT_EQ(str(audit, "actorId"), ml.id);
  EXPECT_EQ(str(audit, "actor"), kFixtureMlAdminEmail);
  EXPECT_EQ(str(audit, "targetType"), "document");
  EXPECT_EQ(num(audit.at("details"), "idCount"), 4);
  EXPECT_EQ(num(audit.at("details"), "matched"), 3);
  EXPECT_EQ(num(audit.at("details"), "deleted"), 3);

  // A filter the same way, audited with the filter as written.
  auto by_filter =
      c.post(kBulk, R"({"action":"delete","filter":{"q":"otter","userId":")" + alice.id + R"("}})", ml.token);
  ASSERT_EQ(by_filter.status, 200) << by_filter.body;
  EXPECT_EQ(num(by_filter.json(), "matched"), 7);
  EXPECT_EQ(num(by_filter.json(), "deleted"), 7);
  EXPECT_EQ(by_filter.json().at("results").as_array().size(), 7u);
  EXPECT_EQ(documents(server), 0);
  const auto filter_audit = newest_audit(c, admin.token);
  EXPECT_EQ(str(filter_audit, "action"), "document.bulk_delete");
  EXPECT_EQ(str(filter_audit.at("details").at("filter"), "q"), "otter");
  EXPECT_EQ(str(filter_audit.at("details").at("filter"), "userId"), alice.id);
  EXPECT_EQ(num(filter_audit.at("details"), "matched"), 7);

  // An admin may too.
  seed_documents(server.database_url(), alice.id, 2, "b-", "otter");
  auto by_admin = c.post(kBulk, R"({"action":"delete","ids":["b-0"]})", admin.token);
  EXPECT_EQ(by_admin.status, 200) << by_admin.body;
  EXPECT_FALSE(document_exists(server, "b-0"));
}

TEST(DocumentBulkTest, AUserIsForbiddenAndChangesNothing) {
  IntegrationServer server;
  const auto alice = server.add_account("alice@bulk.test", "user");
  seed_documents(server.database_url(), alice.id, 5, "a-", "otter");
  auto& c = server.http();
  for (const char* body : {R"({"action":"delete","ids":["a-1"]})",
                           R"({"action":"delete","filter":{},"all":true,"dryRun":true})"}) {
    auto res = c.post(kBulk, body, alice.token);
    EXPECT_EQ(res.status, 403) << body << " -> " << res.body;
  }
  auto anonymous = c.post(kBulk, R"({"action":"delete","ids":["a-1"]})");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_EQ(documents(server), 5);
}

TEST(DocumentBulkTest, ResyncRewritesEditedRecordsRemovesDeletedOnesAndFailsInvalidOnes) {
  IntegrationServer server;
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@bulk.test", "user");
  auto& c = server.http();
  std::vector<std::string> entries;
  for (int i = 0; i < 4; ++i) {
    auto res = c.post("/api/journal-entries",
                      R"({"title":"Day )" + std::to_string(i) + R"(","body":"first version of the day"})",
                      alice.token);
    ASSERT_EQ(res.status, 201) << res.body;
    entries.push_back(str(res.json(), "id"));
  }
  const auto synced = server.run_job(kJournalSync, R"({"userId":")" + alice.id + R"("})", ml.token);
  ASSERT_EQ(str(synced, "status"), "completed") << json::serialize(synced);
  auto doc_of = [&](const std::string& entry) {
    return query_text(server.database_url(), "SELECT id FROM documents WHERE source_id = ?", entry);
  };
  std::vector<std::string> docs;
  for (const auto& e : entries) {
    docs.push_back(doc_of(e));
    ASSERT_FALSE(docs.back().empty());
  }

  // 0: edited; 1: deleted; 2: made invalid behind the API's back; 3: unchanged.
  auto edit = c.request("PUT", "/api/journal-entries/" + entries[0],
                        R"({"title":"Day 0","body":"second   version, rewritten"})",
                        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + alice.token}});
  ASSERT_EQ(edit.status, 200) << edit.body;
  ASSERT_EQ(c.del("/api/journal-entries/" + entries[1], alice.token).status, 204);
  exec_sql(server.database_url(), "UPDATE journal_entries SET body = '   ' WHERE id = '" + entries[2] + "'");

  const std::string ids =
      R"([")" + docs[0] + R"(",")" + docs[1] + R"(",")" + docs[2] + R"(",")" + docs[3] + R"("])";
  auto res = c.post(kBulk, R"({"action":"resync","ids":)" + ids + "}", ml.token);
  ASSERT_EQ(res.status, 200) << res.body;
  const auto body = res.json();
  EXPECT_EQ(num(body, "matched"), 4);
  EXPECT_EQ(num(body, "resynced"), 2);
  EXPECT_EQ(num(body, "deleted"), 1);
  EXPECT_EQ(num(body, "failed"), 1);
  const auto& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(str(results[0], "status"), "resynced");
  EXPECT_EQ(str(results[1], "status"), "deleted");
  EXPECT_EQ(str(results[2], "status"), "failed");
  EXPECT_NE(str(results[2], "reason").find("body"), std::string::npos) << str(results[2], "reason");
  EXPECT_EQ(str(results[3], "status"), "resynced");

  const auto url = server.database_url();
  EXPECT_EQ(query_text(url, "SELECT text FROM documents WHERE id = ?", docs[0]), "second version, rewritten");
  EXPECT_EQ(query_int(url, "SELECT version FROM documents WHERE id = '" + docs[0] + "'"), 2);
  EXPECT_EQ(query_int(url, "SELECT job_id IS NULL FROM documents WHERE id = '" + docs[0] + "'"), 1);
  EXPECT_FALSE(document_exists(server, docs[1]));
  EXPECT_EQ(query_int(url, "SELECT version FROM documents WHERE id = '" + docs[2] + "'"), 1);  // kept
  EXPECT_EQ(query_text(url, "SELECT text FROM documents WHERE id = ?", docs[2]), "first version of the day");
  EXPECT_EQ(query_int(url, "SELECT version FROM documents WHERE id = '" + docs[3] + "'"),
            2);  // always written
  EXPECT_EQ(count_text_matches(url, "rewritten"), 1);
}

TEST(DocumentBulkTest, EveryBadBodyIsA400NamingTheFieldAndChangesNothing) {
  IntegrationServer server;
  const auto ml = server.ml_admin();
  seed_documents(server.database_url(), ml.id, 5, "m-", "heron");
  auto& c = server.http();
  const struct {
    std::string body;
    std::string field;  ///< empty: the body itself
  } cases[] = {
      {R"({"action":"delete","ids":["m-1"])", ""},
      {R"(["m-1"])", ""},
      {R"({"ids":["m-1"]})", "action"},
      {R"({"action":5,"ids":["m-1"]})", "action"},
      {R"({"action":"purge","ids":["m-1"]})", "action"},
      {R"({"action":"delete"})", "ids"},
      {R"({"action":"delete","ids":["m-1"],"filter":{"q":"heron"}})", "filter"},
      {R"({"action":"delete","ids":"m-1"})", "ids"},
      {R"({"action":"delete","ids":[]})", "ids"},
      {R"({"action":"delete","ids":[1,2]})", "ids"},
      {R"({"action":"delete","ids":[""]})", "ids"},
      {R"({"action":"delete","filter":"heron"})", "filter"},
      {R"({"action":"delete","filter":{}})", "filter"},
      {R"({"action":"delete","filter":{},"all":false})", "filter"},
      {R"({"action":"delete","filter":{"q":"   "}})", "filter"},
      {R"({"action":"delete","filter":{"q":"heron"},"all":true})", "all"},
      {R"({"action":"delete","ids":["m-1"],"all":true})", "all"},
      {R"({"action":"delete","filter":{"color":"red"}})", "filter.color"},
      {R"({"action":"delete","filter":{"type":"notes"}})", "filter.type"},
      {R"({"action":"delete","filter":{"q":"\"unclosed"}})", "filter.q"},
      {R"({"action":"delete","filter":{"from":"yesterday"}})", "filter.from"},
      {R"({"action":"delete","filter":{"userId":7}})", "filter.userId"},
      {R"({"action":"delete","ids":["m-1"],"dryRun":"yes"})", "dryRun"},
      {R"({"action":"delete","ids":["m-1"],"force":true})", "force"},
  };
  for (const auto& t : cases) {
    auto res = c.post(kBulk, t.body, ml.token);
    EXPECT_EQ(res.status, 400) << t.body << " -> " << res.body;
    if (!t.field.empty()) {
      EXPECT_EQ(details_field(res), t.field) << t.body << " -> " << res.body;
      EXPECT_NE(res.error_message().find(t.field), std::string::npos) << t.body << " -> " << res.body;
    }
  }
  std::string too_many = R"({"action":"delete","ids":[)";
  for (int i = 0; i <= 10'000; ++i) {
    too_many += (i == 0 ? "\"" : ",\"") + std::to_string(i) + "\"";
  }
  too_many += "]}";
  auto res = c.post(kBulk, too_many, ml.token);
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(details_field(res), "ids");
  auto empty_filter = c.post(kBulk, R"({"action":"delete","filter":{}})", ml.token);
  EXPECT_NE(empty_filter.error_message().find("\"all\": true"), std::string::npos) << empty_filter.body;
  auto wrong_type = c.request("POST", kBulk, R"({"action":"delete","ids":["m-1"]})",
                              {{"Content-Type", "text/plain"}, {"Authorization", "Bearer " + ml.token}});
  EXPECT_EQ(wrong_type.status, 415) << wrong_type.body;

  EXPECT_EQ(documents(server), 5);
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM audit_log WHERE action LIKE 'document.%'"),
            0);
}

TEST(DocumentBulkTest, ALargeResyncRunsAsAJobAndARetryOfItsFailedItemsIsRefused) {
  IntegrationServer server;
  const auto ml = server.ml_admin();
  const auto admin = server.admin();
  const auto alice = server.add_account("alice@bulk.test", "user");
  constexpr int kDocs = 1200;
  constexpr int kInvalid = 40;
  seed_journal_entries(server.database_url(), alice.id, kDocs, "je-");
  seed_documents(server.database_url(), alice.id, kDocs, "d-", "otter", domain::SourceType::journal_entries,
                 "je-");
  exec_sql(server.database_url(),
           "UPDATE journal_entries SET title = '  ' WHERE CAST(substr(id, 4) AS INTEGER) < " +
               std::to_string(kInvalid));
  auto& c = server.http();

  auto res = c.post(kBulk, R"({"action":"resync","filter":{"userId":")" + alice.id + R"("}})", ml.token);
  ASSERT_EQ(res.status, 202) << res.body;
  const auto job = res.json();
  EXPECT_EQ(str(job, "type"), "bulk_resync");
  EXPECT_EQ(num(job, "totalItems"), kDocs);
  EXPECT_EQ(str(job.at("bulk"), "action"), "resync");
  EXPECT_EQ(str(job.at("bulk").at("filter"), "userId"), alice.id);
  const auto id = str(job, "id");
  EXPECT_EQ(res.header("location"), "/api/ml/sync/job/" + id);

  const auto done = server.wait_finished(id);
  EXPECT_EQ(str(done, "status"), "completed") << json::serialize(done);
  EXPECT_EQ(num(done, "processedItems"), kDocs);
  EXPECT_EQ(num(done, "syncedItems"), kDocs - kInvalid);
  EXPECT_EQ(num(done, "failedItems"), kInvalid);
  EXPECT_EQ(num(done, "progress"), 100);
  const auto url = server.database_url();
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents WHERE version = 2 AND job_id = '" + id + "'"),
            kDocs - kInvalid);
  EXPECT_EQ(query_int(url, "SELECT count(*) FROM documents WHERE version = 1"), kInvalid);

  // The job is in the history with the syncs.
  auto listed = c.get("/api/ml/sync/jobs?type=bulk_resync", ml.token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.json().at("items").as_array().size(), 1u);
  EXPECT_EQ(str(listed.json().at("items").as_array()[0], "id"), id);

  auto retry = c.post("/api/ml/sync/job/" + id + "/retry", "", ml.token);
  EXPECT_EQ(retry.status, 409) << retry.body;
  EXPECT_EQ(retry.error_code(), "bulk_items_not_retryable");
  EXPECT_NE(retry.error_message().find("new bulk action"), std::string::npos) << retry.body;

  const auto audit = newest_audit(c, admin.token);
  EXPECT_EQ(str(audit, "action"), "document.bulk_resync");
  EXPECT_EQ(str(audit.at("details"), "jobId"), id);
  EXPECT_EQ(num(audit.at("details"), "matched"), kDocs);
  EXPECT_EQ(str(audit.at("details").at("filter"), "userId"), alice.id);
}

}  // namespace
}  // namespace mladmin::test

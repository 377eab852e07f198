// Bulk import over real HTTP and from the command line (docs/openapi.yaml POST /api/import, §8 `mladmin
// import`): NDJSON lines become journal entries or goals, bad lines are reported by number while
// the good ones are stored, ids make a re-import an update, the body is spooled to a file under
// its own limit and checked for a token and a role before it is read.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr const char* kNdjson = "application/x-ndjson";

std::string line(const json::object& o) {
  return json::serialize(o) + "\n";
}

/// Files under `dir` whose name starts with "mladmin-upload-": spooled bodies not yet removed.
std::size_t spool_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    n += entry.path().filename().string().rfind("mladmin-upload-", 0) == 0 ? 1 : 0;
  }
  return n;
}

class ImportTest : public SharedIntegrationTest {
 protected:
  static void SetUpTestSuite() {
    spool_dir_ = std::make_unique<TempDir>();
    ServerProcess::Options options;
    options.env["TMPDIR"] = spool_dir_->path().string();
    start_shared(options);
    bob_id_ = server().add_account("bob@import.test", "user", "Bob").id;
  }
  static void TearDownTestSuite() {
    SharedIntegrationTest::TearDownTestSuite();
    spool_dir_.reset();
  }

  static const std::string& admin_token() { return server().admin().token; }
  static const std::string& ml_token() { return server().ml_admin().token; }
  /// Ann is the fixture's user.
  static const std::string& ann_token() { return server().user().token; }
  static const std::string& ann_id() { return server().user().id; }

  static HttpResponse import(const std::string& type, const std::string& body,
                             const std::string& token = admin_token(),
                             const std::string& content_type = kNdjson) {
    auto& c = server().http();
    HttpClient::Headers h;
    if (!content_type.empty()) {
      h.emplace_back("Content-Type", content_type);
    }
    if (!token.empty()) {
      h.emplace_back("Authorization", "Bearer " + token);
    }
    return c.request("POST", type.empty() ? "/api/import" : "/api/import?type=" + type, body, h);
  }

  /// Every live record of `user_id` of one kind, read through the API as ml_admin.
  static json::array list(const std::string& path, const std::string& user_id) {
    auto& c = server().http();
    auto res = c.get(path + "?limit=500&userId=" + user_id, ml_token());
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json().at("items").as_array();
  }

  static inline std::unique_ptr<TempDir> spool_dir_;
  static inline std::string bob_id_;
};

TEST_F(ImportTest, AdminImportsJournalEntriesThatTheirOwnersThenSee) {
  const std::string body =
      line({{"userId", ann_id()},
            {"id", "happy-e1"},
            {"title", "Imported one"},
            {"body", "From the old app."},
            {"mood", 4},
            {"tags", json::array{"legacy"}},
            {"createdAt", "2024-03-01T08:00:00Z"},
            {"updatedAt", "2024-03-02T09:30:00Z"}}) +
      line({{"userId", ann_id()}, {"title", "Imported two"}, {"body", "No id, no dates."}}) +
      line({{"userId", bob_id_}, {"id", "happy-e3"}, {"title", "Bob's"}, {"body", "Also imported."}});

  auto res = import("journal_entries", body);

  ASSERT_EQ(res.status, 200) << res.body;
  const auto r = res.json();
  EXPECT_EQ(r.at("type").as_string(), "journal_entries");
  EXPECT_EQ(r.at("lines").as_int64(), 3);
  EXPECT_EQ(r.at("imported").as_int64(), 3);
  EXPECT_EQ(r.at("created").as_int64(), 3);
  EXPECT_EQ(r.at("failed").as_int64(), 0);
  EXPECT_TRUE(r.at("errors").as_array().empty());
  EXPECT_EQ(r.at("errorsOmitted").as_int64(), 0);

  // The owner reads the record as it was in the file.
  auto& c = server().http();
  auto one = c.get("/api/journal-entries/happy-e1", ann_token());
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json().at("title").as_string(), "Imported one");
  EXPECT_EQ(one.json().at("mood").as_int64(), 4);
  EXPECT_EQ(one.json().at("tags").as_array().at(0).as_string(), "legacy");
  EXPECT_EQ(one.json().at("createdAt").as_string(), "2024-03-01T08:00:00.000Z");
  EXPECT_EQ(one.json().at("updatedAt").as_string(), "2024-03-02T09:30:00.000Z");
  EXPECT_EQ(c.get("/api/journal-entries/happy-e3", ann_token()).status, 404);  // Bob's
  std::set<std::string> titles;
  for (const auto& e : list("/api/journal-entries", ann_id())) {
    titles.emplace(e.at("title").as_string());
  }
  EXPECT_TRUE(titles.contains("Imported two"));
  EXPECT_EQ(spool_files(spool_dir_->path()), 0u) << "the spooled body outlived its request";
}

TEST_F(ImportTest, ImportedGoalsAreSyncedByTheNextSync) {
  const std::string user = server().add_account("gina@import.test", "user", "Gina").id;
  std::string body;
  for (int i = 0; i < 25; ++i) {
    body += line({{"userId", user},
                  {"id", "goal-" + std::to_string(i)},
                  {"title", "Goal " + std::to_string(i)},
                  {"description", "Imported"},
                  {"status", i % 2 == 0 ? "open" : "done"},
                  {"targetDate", "2027-01-15"}});
  }

  auto res = import("goals", body);

  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("imported").as_int64(), 25);
  EXPECT_EQ(list("/api/goals", user).size(), 25u);
  const auto job = server().run_job(kGoalSync, line({{"userId", user}}), ml_token());
  EXPECT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  EXPECT_EQ(job.at("syncedItems").as_int64(), 25) << json::serialize(job);
}

TEST_F(ImportTest, EachBadLineIsReportedByNumberAndTheGoodOnesAreStored) {
  const std::string user = server().add_account("mixed@import.test", "user", "Mixed").id;
  const auto good = [&](const std::string& title) {
    return line({{"userId", user}, {"title", title}, {"body", "fine"}});
  };
  const std::string body = good("good 1") +                                                     // 1
                           "\n" +                                                               // 2 blank
                           "{\"userId\": \"" + user + "\", \"title\": \"unterminated\n" +       // 3
                           line({{"userId", user}, {"title", 42}, {"body", "x"}}) +             // 4
                           line({{"userId", "no-such-user"}, {"title", "t"}, {"body", "x"}}) +  // 5
                           line({{"userId", user}, {"title", "t"}, {"body", "  \t "}}) +        // 6
                           "{\"userId\":\"" + user + "\",\"title\":\"" + std::string(1100000, 'x') +  // 7
                           "\",\"body\":\"x\"}\n" +                                                   //
                           good("good 2") +                                                           // 8
                           "   \r\n" +                                                             // 9 blank
                           line({{"userId", user}, {"title", "t"}, {"body", "x"}, {"mood", 0}}) +  // 10
                           "[]\n" +                                                                // 11
                           good("good 3");                                                         // 12

  auto res = import("journal_entries", body);

  ASSERT_EQ(res.status, 200) << res.body.substr(0, 500);
  const auto r = res.json();
  EXPECT_EQ(r.at("lines").as_int64(), 10);
  EXPECT_EQ(r.at("imported").as_int64(), 3);
  EXPECT_EQ(r.at("failed").as_int64(), 7);
  std::map<std::int64_t, std::string> reasons;
  for (const auto& e : r.at("errors").as_array()) {
    reasons[e.at("line").as_int64()] = std::string(e.at("reason").as_string());
  }
  ASSERT_EQ(reasons.size(), 7u) << res.body;
  EXPECT_NE(reasons[3].find("not valid JSON"), std::string::npos) << reasons[3];
  EXPECT_EQ(reasons[4], "field 'title': must be a string, not a number");
  EXPECT_EQ(reasons[5], "field 'userId': no user has this id");
  EXPECT_EQ(reasons[6], "the record cannot be synced: body is empty");
  EXPECT_EQ(reasons[7], "the line is longer than the limit of 1048576 bytes");
  EXPECT_EQ(reasons[10], "field 'mood': must be from 1 to 5, or null");
  EXPECT_EQ(reasons[11], "the line must be a JSON object, not an array");
  // The create route words the same mistakes the same way.
  auto& c = server().http();
  EXPECT_EQ(c.post("/api/journal-entries", R"({"title":42,"body":"x"})", ann_token()).error_message(),
            reasons[4]);
  EXPECT_EQ(c.post("/api/journal-entries", R"({"title":"t","body":"  "})", ann_token()).error_message(),
            reasons[6]);

  std::set<std::string> titles;
  for (const auto& e : list("/api/journal-entries", user)) {
    titles.emplace(e.at("title").as_string());
  }
  EXPECT_EQ(titles, (std::set<std::string>{"good 1", "good 2", "good 3"}));
}

TEST_F(ImportTest, ReimportingTheSameIdsUpdatesWithoutDuplicates) {
  const std::string user = server().add_account("again@import.test", "user", "Again").id;
  auto file = [&](const std::string& suffix) {
    std::string body;
    for (int i = 0; i < 30; ++i) {
      body += line(
          {{"userId", user}, {"id", "again-" + std::to_string(i)}, {"title", "T" + suffix}, {"body", "b"}});
    }
    return body;
  };
  ASSERT_EQ(import("journal_entries", file("1")).json().at("created").as_int64(), 30);

  auto res = import("journal_entries", file("2"));

  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("updated").as_int64(), 30);
  EXPECT_EQ(res.json().at("created").as_int64(), 0);
  const auto items = list("/api/journal-entries", user);
  EXPECT_EQ(items.size(), 30u);
  for (const auto& e : items) {
    EXPECT_EQ(e.at("title").as_string(), "T2");
  }
}

TEST_F(ImportTest, InlineErrorsAreCappedAndTheRestCounted) {
  std::string body;
  for (int i = 0; i < 150; ++i) {
    body += "{}\n";
  }

  auto res = import("goals", body);

  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("failed").as_int64(), 150);
  EXPECT_EQ(res.json().at("errors").as_array().size(), 100u);
  EXPECT_EQ(res.json().at("errorsOmitted").as_int64(), 50);
  EXPECT_EQ(res.json().at("errors").as_array().at(99).at("line").as_int64(), 100);
}

TEST_F(ImportTest, OnlyAnAdminMayImport) {
  const std::string body = line({{"userId", ann_id()}, {"title", "t"}, {"body", "b"}});
  for (const auto* token : {&ml_token(), &ann_token()}) {
    auto res = import("journal_entries", body, *token);
    EXPECT_EQ(res.status, 403) << res.body;
    EXPECT_EQ(res.error_code(), "forbidden");
  }
  auto anonymous = import("journal_entries", body, "");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_EQ(anonymous.header("www-authenticate"), "Bearer");
  EXPECT_EQ(import("journal_entries", body, "not.a.token").status, 401);
}

TEST_F(ImportTest, WrongContentTypeIs415AndAMissingOrUnknownTypeIs400) {
  const std::string body = line({{"userId", ann_id()}, {"title", "t"}, {"body", "b"}});
  for (const std::string type : {"application/json", "text/plain", "application/x-www-form-urlencoded", ""}) {
    auto res = import("journal_entries", body, admin_token(), type);
    EXPECT_EQ(res.status, 415) << "'" << type << "' -> " << res.body;
    EXPECT_EQ(res.error_code(), "unsupported_media_type");
  }
  for (const std::string type : {"application/x-ndjson; charset=utf-8", "application/jsonl"}) {
    EXPECT_EQ(import("journal_entries", body, admin_token(), type).status, 200) << type;
  }
  for (const std::string type : {"", "users", "journal-entries"}) {
    auto res = import(type, body);
    EXPECT_EQ(res.status, 400) << "'" << type << "' -> " << res.body;
    EXPECT_EQ(res.json().at("error").at("details").at("field").as_string(), "type") << res.body;
  }
}

/// Sends a request on a fresh connection and returns the raw answer: for Expect: 100-continue.
std::string exchange(unsigned short port, const std::string& head, const std::string& body,
                     bool wait_for_continue) {
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  s.expires_after(std::chrono::seconds(30));
  asio::write(s, asio::buffer(head));
  std::string got;
  char buf[4096];
  boost::system::error_code ec;
  if (wait_for_continue) {
    while (got.find("\r\n\r\n") == std::string::npos && !ec) {
      got.append(buf, s.read_some(asio::buffer(buf), ec));
    }
    if (got.find("100 Continue") == std::string::npos) {
      return got;  // refused before the body
    }
  }
  asio::write(s, asio::buffer(body), ec);
  while (!ec) {
    got.append(buf, s.read_some(asio::buffer(buf), ec));
  }
  return got;
}

TEST_F(ImportTest, ExpectContinueIsAnsweredOnlyOnceTheCallerMayImport) {
  const std::string body = line({{"userId", ann_id()}, {"title", "continued"}, {"body", "b"}});
  auto head = [&](const std::string& token) {
    return "POST /api/import?type=journal_entries HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
           "Content-Type: application/x-ndjson\r\nExpect: 100-continue\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  };

  const std::string ok = exchange(server().port(), head(admin_token()), body, true);
  const std::string refused = exchange(server().port(), head(ann_token()), body, true);

  EXPECT_EQ(ok.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << ok;
  EXPECT_NE(ok.find("HTTP/1.1 200 OK"), std::string::npos) << ok;
  EXPECT_NE(ok.find("\"imported\":1"), std::string::npos) << ok;
  EXPECT_EQ(refused.rfind("HTTP/1.1 403", 0), 0u) << refused;
}

TEST(ImportLimitTest, BodyOverTheConfiguredLimitIs413AndTheServerKeepsServing) {
  TempDir dir;
  IntegrationServer server(
      {.env = {{"TMPDIR", dir.path().string()}}, .config = "[server]\nimport_max_bytes = 65536\n"});
  const auto admin_id = server.admin().id;
  auto& c = server.http();
  const auto token = server.admin().token;
  std::string body;
  while (body.size() <= 200 * 1024) {
    body += line({{"userId", admin_id}, {"title", "over"}, {"body", std::string(400, 'o')}});
  }
  const HttpClient::Headers headers{{"Content-Type", kNdjson}, {"Authorization", "Bearer " + token}};

  auto res = c.request("POST", "/api/import?type=journal_entries", body, headers);

  EXPECT_EQ(res.status, 413) << res.body.substr(0, 300);
  EXPECT_EQ(res.error_code(), "payload_too_large");
  EXPECT_NE(res.error_message().find("65536"), std::string::npos) << res.error_message();
  // The same without a Content-Length: the limit stops a chunked body as it arrives.
  std::string chunked =
      "POST /api/import?type=journal_entries HTTP/1.1\r\nHost: a\r\n"
      "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
      "Authorization: Bearer " +
      token + "\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 8192) {
    const auto piece = body.substr(at, 8192);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  const std::string answer = c.raw(chunked);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer.substr(0, 300);
  // The server goes on serving, and a body under the limit goes through; no spool file stays.
  EXPECT_EQ(c.get("/healthz").status, 200);
  auto small =
      c.request("POST", "/api/import?type=journal_entries", body.substr(0, body.find('\n') + 1), headers);
  EXPECT_EQ(small.status, 200) << small.body;
  EXPECT_EQ(small.json().at("imported").as_int64(), 1);
  // Other routes keep the general 1 MiB limit.
  EXPECT_EQ(c.post("/api/auth/login", std::string(64 * 1024 + 10, ' ')).status, 400);
  EXPECT_EQ(spool_files(dir.path()), 0u);
}

TEST(ImportCliTest, ImportsAFileReportsEachBadLineAndExitsTwo) {
  IntegrationServer server;
  const auto user_id = server.user().id;
  TempDir dir;
  const auto file = dir.file("entries.ndjson");
  std::ofstream(file) << line(
                             {{"userId", user_id}, {"id", "cli-1"}, {"title", "From the CLI"}, {"body", "b"}})
                      << "oops\n"
                      << line({{"userId", user_id}, {"title", "No body"}})
                      << line({{"userId", user_id}, {"id", "cli-2"}, {"title", "Second"}, {"body", "b"}});

  const auto r =
      run_mladmin({"import", "--type", "journal_entries", file, "--database", server.database_url()});

  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("imported 2 of 4 lines as journal_entries (2 created, 0 updated); 2 failed"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("line 2: the line is not valid JSON"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 3: field 'body': is required"), std::string::npos) << r.err;
  auto& c = server.http();
  const auto token = server.user().token;
  EXPECT_EQ(c.get("/api/journal-entries/cli-1", token).json().at("title").as_string(), "From the CLI");
  EXPECT_EQ(c.get("/api/journal-entries/cli-2", token).status, 200);

  // A clean file exits 0; so does importing it again (an update).
  const auto clean = dir.file("clean.ndjson");
  std::ofstream(clean) << line({{"userId", user_id}, {"id", "cli-1"}, {"title", "Renamed"}, {"body", "b"}});
  const auto ok =
      run_mladmin({"import", "--type", "journal_entries", clean, "--database", server.database_url()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("(0 created, 1 updated)"), std::string::npos) << ok.out;
  EXPECT_EQ(c.get("/api/journal-entries/cli-1", token).json().at("title").as_string(), "Renamed");

  // A file that cannot be read, or a wrong type, exits 1 without touching the database.
  const auto missing = run_mladmin(
      {"import", "--type", "goals", dir.file("missing.ndjson"), "--database", server.database_url()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;
  const auto bad_type =
      run_mladmin({"import", "--type", "users", clean, "--database", server.database_url()});
  EXPECT_NE(bad_type.exit_code, 0);
  EXPECT_NE(bad_type.err.find("journal_entries"), std::string::npos) << bad_type.err;
}

}  // namespace
}  // namespace mladmin::test

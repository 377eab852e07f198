// Authorization that holds over time, and data at rest (docs/security.md): who reads which job,
// event streams that lose their rights, the login limiter behind a proxy, sync starts per user,
// file modes, the demo command's refusal, and the streamed job export.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "domain/testing/eventually.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"
#include "support/sse_client.hpp"
#include "support/text.hpp"

namespace mladmin::test {
namespace {

using namespace std::chrono_literals;

/// Starts a sync and answers the job's id (202 expected).
std::string start(IntegrationServer& server, const std::string& token, const std::string& body = "{}",
                  const std::string& path = kJournalSync) {
  const auto job = server.start_job(path, body, token);
  return job.is_object() ? str(job, "id") : "";
}

bool lists(HttpClient& c, const std::string& target, const std::string& token, const std::string& id) {
  const auto res = c.get(target, token);
  EXPECT_EQ(res.status, 200) << res.body;
  return res.body.find(id) != std::string::npos;
}

// --- 1. One rule for who reads and controls a job ---------------------------------------------

TEST(AuthzJobAccessTest, ADemotedUserLosesTheJobsTheyStartedOverOthersRecords) {
  IntegrationServer server;
  const auto root = server.admin();
  const auto ann = server.add_account("ann@authz.test", "ml_admin");
  const auto bob = server.add_account("bob@authz.test", "user");
  seed_journal_entries(server.database_url(), ann.id, 3, "ann-");
  seed_journal_entries(server.database_url(), bob.id, 3, "bob-");
  auto& c = server.http();

  // While ml_admin, Ann starts a sync of everyone's records and one of Bob's; an admin starts
  // one of Ann's records.
  const auto all = start(server, ann.token, R"({"scope":"all"})");
  server.wait_finished(all);
  const auto for_bob = start(server, ann.token, R"({"userId":")" + bob.id + R"("})", kGoalSync);
  server.wait_finished(for_bob);
  const auto for_ann = start(server, root.token, R"({"userId":")" + ann.id + R"("})");
  server.wait_finished(for_ann);

  ASSERT_EQ(c.patch("/api/ml/admin/users/" + ann.id, R"({"role":"user"})", root.token).status, 200);
  const auto token = c.login("ann@authz.test", kTestPassword);

  for (const auto& id : {all, for_bob}) {
    EXPECT_EQ(c.get("/api/ml/sync/job/" + id, token).status, 404) << id;
    EXPECT_EQ(c.get("/api/ml/sync/job/" + id + "/errors", token).status, 404) << id;
    for (const char* action : {"retry", "pause", "cancel", "resume"}) {
      const auto res = c.post("/api/ml/sync/job/" + id + "/" + action, "", token);
      EXPECT_EQ(res.status, 404) << action << " " << res.body;
    }
    EXPECT_FALSE(lists(c, "/api/ml/sync/jobs", token, id)) << id;
    EXPECT_FALSE(lists(c, "/api/ml/sync/jobs/export?format=csv", token, id)) << id;
    EXPECT_FALSE(lists(c, "/api/ml/sync/jobs/export", token, id)) << id;
  }
  // A job over her own records is hers, whoever started it; Bob's is his.
  EXPECT_EQ(c.get("/api/ml/sync/job/" + for_ann, token).status, 200);
  EXPECT_TRUE(lists(c, "/api/ml/sync/jobs", token, for_ann));
  EXPECT_TRUE(lists(c, "/api/ml/sync/jobs/export", token, for_ann));
  EXPECT_EQ(c.get("/api/ml/sync/job/" + for_bob, bob.token).status, 200);
  EXPECT_FALSE(lists(c, "/api/ml/sync/jobs", bob.token, all));

  // Her event stream's snapshot holds the same jobs.
  SseClient stream(server.port(), token);
  ASSERT_TRUE(stream.wait_for([](const auto& events) { return !events.empty(); }));
  const auto snapshot = stream.events().front().data;
  EXPECT_NE(snapshot.find(for_ann), std::string::npos);
  EXPECT_EQ(snapshot.find(all), std::string::npos);
  EXPECT_EQ(snapshot.find(for_bob), std::string::npos);
}

// --- 2. Open event streams re-check their rights -----------------------------------------------

bool has_job(const std::vector<SseEvent>& events, const std::string& id) {
  for (const auto& e : events) {
    if (e.data.find(id) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(AuthzStreamTest, DisablingAUserEndsTheirOpenStreamAtOnce) {
  IntegrationServer server;
  const auto root = server.admin();
  const auto ann = server.add_account("ann@authz.test", "user");
  auto& c = server.http();
  SseClient stream(server.port(), ann.token);
  ASSERT_EQ(stream.status(), 200);
  ASSERT_TRUE(stream.wait_for([](const auto& events) { return !events.empty(); }));
  ASSERT_FALSE(stream.ended());

  ASSERT_EQ(c.patch("/api/ml/admin/users/" + ann.id, R"({"status":"disabled"})", root.token).status, 200);
  // The heartbeat is 15 s: ending well before it is the accounts layer's doing.
  EXPECT_TRUE(stream.wait_ended(5s));
}

// Every change that revokes a user's tokens ends their streams at once, not only a disable: a new
// password, a deletion, and a disable among a bulk action's users.
TEST(AuthzStreamTest, APasswordChangeADeletionOrABulkDisableEndsTheStreamAtOnce) {
  IntegrationServer server;
  const auto root = server.admin();
  const auto ann = server.add_account("ann@authz.test", "user");
  const auto bob = server.add_account("bob@authz.test", "user");
  const auto cat = server.add_account("cat@authz.test", "user");
  auto& c = server.http();
  SseClient ann_stream(server.port(), ann.token);
  SseClient bob_stream(server.port(), bob.token);
  SseClient cat_stream(server.port(), cat.token);
  for (auto* s : {&ann_stream, &bob_stream, &cat_stream}) {
    ASSERT_EQ(s->status(), 200);
    ASSERT_TRUE(s->wait_for([](const auto& events) { return !events.empty(); }));
  }

  ASSERT_EQ(c.patch("/api/ml/admin/users/" + ann.id, R"({"password":"Copper-Meadow-71-Lantern"})", root.token)
                .status,
            200);
  EXPECT_TRUE(ann_stream.wait_ended(5s)) << "a new password";  // the heartbeat is 15 s
  ASSERT_EQ(c.del("/api/ml/admin/users/" + bob.id, root.token).status, 204);
  EXPECT_TRUE(bob_stream.wait_ended(5s)) << "a deletion";
  ASSERT_EQ(
      c.post("/api/ml/admin/users/bulk", R"({"action":"disable","ids":[")" + cat.id + R"("]})", root.token)
          .status,
      200);
  EXPECT_TRUE(cat_stream.wait_ended(5s)) << "a bulk disable";
}

TEST(AuthzStreamTest, ADemotedMlAdminStopsReceivingOthersJobs) {
  IntegrationServer server;
  const auto root = server.admin();
  const auto ml = server.add_account("ml@authz.test", "ml_admin");
  const auto bob = server.add_account("bob@authz.test", "user");
  auto& c = server.http();
  SseClient stream(server.port(), ml.token);
  ASSERT_TRUE(stream.wait_for([](const auto& events) { return !events.empty(); }));
  const auto before = start(server, bob.token);
  ASSERT_TRUE(stream.wait_for([&](const auto& events) { return has_job(events, before); }));
  server.wait_finished(before);

  ASSERT_EQ(c.patch("/api/ml/admin/users/" + ml.id, R"({"role":"user"})", root.token).status, 200);
  ASSERT_TRUE(stream.wait_ended(5s));
  const auto after = start(server, bob.token, "{}", kGoalSync);
  server.wait_finished(after);
  EXPECT_FALSE(has_job(stream.events(), after));

  // Signed in again as a user, the new stream carries only their own jobs.
  const auto token = c.login("ml@authz.test", kTestPassword);
  SseClient again(server.port(), token);
  ASSERT_TRUE(again.wait_for([](const auto& events) { return !events.empty(); }));
  const auto third = start(server, bob.token);
  const auto mine = start(server, token);
  ASSERT_TRUE(again.wait_for([&](const auto& events) { return has_job(events, mine); }));
  server.wait_finished(third);
  server.wait_finished(mine);
  EXPECT_FALSE(has_job(again.events(), third));
  EXPECT_FALSE(has_job(again.events(), before));
}

TEST(AuthzStreamTest, AChangeMadeByAnotherProcessEndsTheStreamAtTheNextHeartbeat) {
  IntegrationServer server({.config = "[events]\nheartbeat_ms = 200\n"});
  const auto ann = server.add_account("ann@authz.test", "ml_admin");
  SseClient stream(server.port(), ann.token);
  ASSERT_TRUE(stream.wait_for([](const auto& events) { return !events.empty(); }));
  // The command line writes to the database; the server hears of it only by looking.
  const auto r = run_mladmin({"user", "disable", "ann@authz.test", "--database", server.database_url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(stream.wait_ended(10s));
}

TEST(AuthzStreamTest, StreamsPerUserAreCapped) {
  IntegrationServer server({.config = "[events]\nmax_streams_per_user = 2\n"});
  const auto ann = server.add_account("ann@authz.test", "user");
  const auto bob = server.add_account("bob@authz.test", "user");
  SseClient one(server.port(), ann.token);
  SseClient two(server.port(), ann.token);
  ASSERT_EQ(one.status(), 200);
  ASSERT_EQ(two.status(), 200);
  ASSERT_TRUE(two.wait_for([](const auto& events) { return !events.empty(); }));
  SseClient three(server.port(), ann.token);
  EXPECT_EQ(three.status(), 429);
  ASSERT_TRUE(three.wait_ended());  // the body is read in full
  EXPECT_NE(three.body().find("too_many_streams"), std::string::npos) << three.body();
  EXPECT_NE(three.body().find("2 open event streams"), std::string::npos) << three.body();
  SseClient bobs(server.port(), bob.token);
  EXPECT_EQ(bobs.status(), 200);
  // Closing one makes room again.
  one.close();
  // The server notices the close asynchronously: try again until it has, with a deadline.
  EXPECT_TRUE(domain::eventually([&] { return SseClient(server.port(), ann.token).status() == 200; }, 10s));
}

// --- 4. The login limiter behind a reverse proxy -----------------------------------------------

int login_status(HttpClient& c, const std::string& email, const std::string& forwarded_for) {
  const std::string body = R"({"email":")" + email + R"(","password":"Wrong-Password-00-Wrong"})";
  return c
      .request("POST", "/api/auth/login", body,
               {{"Content-Type", "application/json"}, {"X-Forwarded-For", forwarded_for}})
      .status;
}

TEST(AuthzProxyTest, BehindATrustedProxyEachClientHasItsOwnLoginLimit) {
  IntegrationServer server({.config = "[server]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n"
                                      "[auth]\nlogin_failures_per_address = 3\n"});
  auto& c = server.http();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(login_status(c, "x" + std::to_string(i) + "@authz.test", "203.0.113.5"), 401) << i;
  }
  EXPECT_EQ(login_status(c, "y@authz.test", "203.0.113.5"), 429);
  // Another client behind the same proxy is not locked out, nor one that forges a hop.
  EXPECT_EQ(login_status(c, "y@authz.test", "203.0.113.6"), 401);
  EXPECT_EQ(login_status(c, "z@authz.test", "1.1.1.1, 203.0.113.5"), 429);

  // IPv6 clients count by their /64.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(
        login_status(c, "v" + std::to_string(i) + "@authz.test", "2001:db8:0:1::" + std::to_string(i + 1)),
        401);
  }
  EXPECT_EQ(login_status(c, "w@authz.test", "2001:db8:0:1:ffff::9"), 429);
  EXPECT_EQ(login_status(c, "w@authz.test", "2001:db8:0:2::1"), 401);
}

TEST(AuthzProxyTest, WithoutTrustedProxiesTheHeaderIsIgnored) {
  IntegrationServer server({.config = "[auth]\nlogin_failures_per_address = 2\n"});
  auto& c = server.http();
  EXPECT_EQ(login_status(c, "a@authz.test", "203.0.113.1"), 401);
  EXPECT_EQ(login_status(c, "b@authz.test", "203.0.113.2"), 401);
  EXPECT_EQ(login_status(c, "c@authz.test", "203.0.113.3"), 429);
}

TEST(AuthzProxyTest, ABadTrustedProxyEntryIsRefusedAtStart) {
  const auto r = serve_refused("[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("trusted_proxies"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("10.0.0.0/33"), std::string::npos) << r.err;
}

// --- 5. Files at rest ----------------------------------------------------------------------------

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(AuthzFilesTest, TheDatabaseAndItsWalAndShmAreOwnerOnly) {
  // The server generates the secret and stores it in the file.
  IntegrationServer server({.test_jwt_secret = false});
  const auto path = database_path(server.database_url());
  server.add_account("ann@authz.test", "user");
  // The full-text index's file holds the documents' words (docs/performance.md); its -wal and -shm
  // are there while a connection has it open, with its mode.
  for (const char* suffix : {"-search-wal", "-search-shm"}) {
    if (std::filesystem::exists(path + suffix)) {
      EXPECT_EQ(mode_of(path + suffix), 0600u) << suffix;
    }
  }
  for (const char* suffix : {"", "-wal", "-shm", "-search"}) {
    EXPECT_EQ(mode_of(path + suffix), 0600u) << suffix;
  }
}

TEST(AuthzFilesTest, AWiderExistingDatabaseIsWarnedAbout) {
  TempDir dir;
  const auto path = dir.file("wide.db");
  std::ofstream(path).close();  // an empty file is an empty SQLite database
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  IntegrationServer server({.database_url = "sqlite://" + path});
  EXPECT_NE(server.log().find("readable by other local users"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("chmod 600"), std::string::npos);
}

// --- 6. mladmin demo does not delete what is not its own ------------------------------------------

TEST(AuthzDemoTest, DemoRefusesToDeleteADatabaseItDidNotMake) {
  TempDir dir;
  const auto path = dir.file("precious.db");
  {
    IntegrationServer server({.database_url = "sqlite://" + path});
    server.add_account("keep@authz.test", "admin");
    ASSERT_TRUE(server.stop(SIGTERM).has_value());
  }
  const auto before = std::filesystem::file_size(path);
  const auto r = run_mladmin({"demo", "--database", "sqlite://" + path, "--listen", "127.0.0.1:0"}, "", {},
                             std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a demo database"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::file_size(path), before);
  EXPECT_EQ(query_int("sqlite://" + path, "SELECT COUNT(*) FROM users WHERE email = 'keep@authz.test'"), 1);
}

// --- 7. The job export streams -------------------------------------------------------------------

TEST(AuthzExportTest, AnExportOfThousandsOfJobsIsStreamedWholeAndInOrder) {
  IntegrationServer server;
  const auto ml = server.add_account("ml@authz.test", "ml_admin");
  constexpr int kJobs = 3000;
  seed(server.database_url(), [&](store::Writer& w) {
    for (int i = 0; i < kJobs; ++i) {
      domain::Job j;
      char id[32];
      std::snprintf(id, sizeof id, "job-%05d", i);
      j.id = id;
      j.user_id = ml.id;
      j.scope = domain::JobScope::user;
      j.scope_user_id = ml.id;
      j.status = domain::JobStatus::completed;
      j.created_at = j.updated_at = 1'700'000'000'000 + i;
      j.start_time = j.created_at;
      j.end_time = j.created_at + 10;
      j.counters.total = j.counters.synced = i;
      ASSERT_TRUE(w.insert_job(j));
    }
  });
  auto& c = server.http();

  const auto csv = c.get("/api/ml/sync/jobs/export?format=csv", ml.token);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("transfer-encoding"), "chunked");
  const auto rows = text_lines(csv.body);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kJobs + 1));
  EXPECT_EQ(rows[0].rfind("id,userId,type,status,", 0), 0u);
  for (int i = 0; i < kJobs; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "job-%05d,", kJobs - 1 - i);  // newest first
    ASSERT_EQ(rows[static_cast<std::size_t>(i + 1)].rfind(id, 0), 0u)
        << rows[static_cast<std::size_t>(i + 1)];
  }

  const auto json = c.get("/api/ml/sync/jobs/export", ml.token);
  ASSERT_EQ(json.status, 200);
  EXPECT_EQ(json.header("transfer-encoding"), "chunked");
  const auto all = json.json();
  ASSERT_TRUE(all.is_array()) << json.body.substr(0, 200);
  ASSERT_EQ(all.as_array().size(), static_cast<std::size_t>(kJobs));
  std::set<std::string> ids;
  for (std::size_t i = 0; i < all.as_array().size(); ++i) {
    const auto& job = all.as_array()[i];
    ids.insert(str(job, "id"));
    EXPECT_EQ(job.at("totalItems").as_int64(), static_cast<std::int64_t>(kJobs - 1 - static_cast<int>(i)));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kJobs));

  // Nothing to export is an empty array, not an empty body.
  const auto none = c.get("/api/ml/sync/jobs/export?status=failed", ml.token);
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "[]");
}

// --- 8. Sync starts per user ---------------------------------------------------------------------

TEST(AuthzSyncStartsTest, TooManySyncStartsFromOneUserAreRefusedWithRetryAfter) {
  IntegrationServer server({.config = "[sync]\nstarts_per_minute = 3\n"});
  const auto ann = server.add_account("ann@authz.test", "user");
  const auto bob = server.add_account("bob@authz.test", "user");
  auto& c = server.http();
  for (int i = 0; i < 3; ++i) {
    const auto id = start(server, ann.token, R"({"mode":"full"})", i % 2 ? kGoalSync : kJournalSync);
    server.wait_finished(id);
  }
  const auto refused = c.post(kGoalSync, "{}", ann.token);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.error_code(), "too_many_sync_starts");
  const auto retry_after = refused.header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_LE(std::stoi(retry_after), 60);
  // Another user is not held back.
  EXPECT_EQ(c.post(kGoalSync, "{}", bob.token).status, 202);
}

}  // namespace
}  // namespace mladmin::test

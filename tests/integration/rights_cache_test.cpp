// The token check answers from an in-memory copy of each user's role, status and token version
// (accounts/rights_cache.hpp, docs/performance.md). These tests warm that copy, change the
// account and check that the change is seen: through the API by the very next request; by
// another process writing the database file (the CLI, SQL on a connection of the test) within
// the rights cache's check interval, waited for with a deadline. A sync's commits, which touch no
// account, must leave the copy as it is.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "domain/testing/eventually.hpp"
#include "support/fixture.hpp"
#include "support/probes.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

/// Far longer than the rights cache's check interval (20 ms): only a change that is never seen
/// runs into it.
constexpr auto kSeenDeadline = 10s;

/// The rights cache's counters, from /metrics.
struct RightsCounts {
  double emptied = -1;
  double user_reads = -1;
};

class RightsCacheTest : public SharedAdminTest {
 protected:
  /// GET /api/auth/me twice with `token` on the client's connection, so that its user is cached;
  /// expects 200 with `role`.
  void warm(const std::string& token, const std::string& role) {
    for (int i = 0; i < 2; ++i) {
      const auto res = client_->get("/api/auth/me", token);
      ASSERT_EQ(res.status, 200) << res.body;
      ASSERT_EQ(res.json().at("role").as_string(), role);
    }
  }

  void expect_revoked(const std::string& token) {
    const auto res = client_->get("/api/auth/me", token);
    EXPECT_EQ(res.status, 401) << res.body;
    EXPECT_EQ(res.error_code(), "token_revoked");
  }

  /// Whether `token` comes to be refused as revoked before kSeenDeadline: a change another
  /// process made is seen at the rights cache's next check.
  bool revoked_eventually(const std::string& token) {
    return domain::eventually(
        [&] {
          const auto res = client_->get("/api/auth/me", token);
          return res.status == 401 && res.error_code() == "token_revoked";
        },
        kSeenDeadline);
  }

  static RightsCounts rights_counts() {
    const auto res = HttpClient(server().port()).get("/metrics");
    EXPECT_EQ(res.status, 200) << res.body;
    return RightsCounts{metric_sample(res.body, "mladmin_rights_cache_emptied_total").value_or(-1),
                        metric_sample(res.body, "mladmin_rights_cache_user_reads_total").value_or(-1)};
  }

  HttpResponse patch_user(const std::string& id, const std::string& body) {
    return client_->patch("/api/ml/admin/users/" + id, body, admin_token_);
  }
};

TEST_F(RightsCacheTest, RoleChangeThroughTheApiIsSeenByTheNextRequest) {
  const auto ann = server().add_account("ann@cache.test", "user");
  warm(ann.token, "user");

  ASSERT_EQ(patch_user(ann.id, R"({"role":"ml_admin"})").status, 200);

  expect_revoked(ann.token);
  const auto fresh = client_->login("ann@cache.test", kTestPassword);
  warm(fresh, "ml_admin");
}

TEST_F(RightsCacheTest, DisableAndPasswordChangeThroughTheApiAreSeenByTheNextRequest) {
  const auto bob = server().add_account("bob@cache.test", "user");
  const auto cid = server().add_account("cid@cache.test", "user");
  warm(bob.token, "user");
  warm(cid.token, "user");

  ASSERT_EQ(patch_user(bob.id, R"({"status":"disabled"})").status, 200);
  expect_revoked(bob.token);

  ASSERT_EQ(patch_user(cid.id, R"({"password":"Silver-Prairie-72-Lotus"})").status, 200);
  expect_revoked(cid.token);
}

TEST_F(RightsCacheTest, BulkActionsAndDeleteThroughTheApiAreSeenByTheNextRequest) {
  const auto dan = server().add_account("dan@cache.test", "user");
  const auto eve = server().add_account("eve@cache.test", "user");
  const auto fay = server().add_account("fay@cache.test", "user");
  warm(dan.token, "user");
  warm(eve.token, "user");
  warm(fay.token, "user");

  const auto bulk =
      client_->post("/api/ml/admin/users/bulk",
                    json::serialize(json::object{
                        {"ids", json::array{dan.id, eve.id}}, {"action", "set_role"}, {"role", "ml_admin"}}),
                    admin_token_);
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  expect_revoked(dan.token);
  expect_revoked(eve.token);

  ASSERT_EQ(client_->del("/api/ml/admin/users/" + fay.id, admin_token_).status, 204);
  expect_revoked(fay.token);
}

TEST_F(RightsCacheTest, DisableByTheCliOnTheSameDatabaseIsSeen) {
  const auto gus = server().add_account("gus@cache.test", "user");
  warm(gus.token, "user");

  // Another process writes the database file; the server is told nothing.
  const auto r = run_mladmin({"user", "disable", "gus@cache.test", "--database", server().database_url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  EXPECT_TRUE(revoked_eventually(gus.token));
  expect_revoked(gus.token);
}

TEST_F(RightsCacheTest, RoleChangeByTheCliOnTheSameDatabaseIsSeen) {
  const auto hal = server().add_account("hal@cache.test", "ml_admin");
  warm(hal.token, "ml_admin");

  const auto r =
      run_mladmin({"user", "set-role", "hal@cache.test", "user", "--database", server().database_url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  EXPECT_TRUE(revoked_eventually(hal.token));
  const auto fresh = client_->login("hal@cache.test", kTestPassword);
  warm(fresh, "user");
}

TEST_F(RightsCacheTest, ChangesBySqlOnAnotherConnectionAreSeen) {
  const auto ida = server().add_account("ida@cache.test", "user");
  const auto jon = server().add_account("jon@cache.test", "user");
  warm(ida.token, "user");
  warm(jon.token, "user");

  // What an operator could do with the sqlite3 shell: no code of mladmin runs.
  exec_sql(server().database_url(),
           "UPDATE users SET token_version = token_version + 1 WHERE email = 'ida@cache.test'");
  EXPECT_TRUE(revoked_eventually(ida.token));

  exec_sql(server().database_url(), "DELETE FROM users WHERE email = 'jon@cache.test'");
  EXPECT_TRUE(revoked_eventually(jon.token));
}

TEST_F(RightsCacheTest, ASyncsCommitsLeaveTheCacheAsItIs) {
  const auto ivy = server().add_account("ivy@cache.test", "user");
  const auto zed = server().add_account("zed@cache.test", "user");
  seed_journal_entries(server().database_url(), ivy.id, 300, "ivy-");
  const auto ml = server().ml_admin();
  server().jobs();  // the ml_admin's event stream is open (its token checked) before the count

  // Once a change made after every earlier one (accounts created above, changes of the tests
  // before) has been seen, no account change is left for the cache to find during the sync.
  warm(zed.token, "user");
  ASSERT_EQ(
      run_mladmin({"user", "disable", "zed@cache.test", "--database", server().database_url()}).exit_code, 0);
  ASSERT_TRUE(revoked_eventually(zed.token));
  warm(ivy.token, "user");
  warm(ml.token, "ml_admin");
  const auto before = rights_counts();
  ASSERT_GE(before.emptied, 0);
  ASSERT_GE(before.user_reads, 0);

  // Commits of every kind but accounts: the job's row, its batches of documents, its progress.
  const auto job = server().run_job(kJournalSync, R"({"scope":"all"})", ml.token);
  ASSERT_EQ(job.at("status").as_string(), "completed") << json::serialize(job);
  EXPECT_EQ(num(job, "syncedItems"), 300) << json::serialize(job);
  warm(ivy.token, "user");
  warm(ml.token, "ml_admin");

  const auto after = rights_counts();
  EXPECT_EQ(after.emptied, before.emptied);
  EXPECT_EQ(after.user_reads, before.user_reads);
}

}  // namespace
}  // namespace mladmin::test

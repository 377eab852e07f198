// The token check answers from an in-memory copy of each user's role, status and token version
// (accounts/rights_cache.hpp, docs/performance.md). These tests warm that copy, change the
// account (through the API, or with the CLI writing the database file directly) and check that
// the very next request sees the change.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;

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

TEST_F(RightsCacheTest, DisableByTheCliOnTheSameDatabaseIsSeenByTheNextRequest) {
  const auto gus = server().add_account("gus@cache.test", "user");
  warm(gus.token, "user");

  // Another process writes the database file; the server is told nothing.
  const auto r = run_mladmin({"user", "disable", "gus@cache.test", "--database", server().database_url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  expect_revoked(gus.token);
}

TEST_F(RightsCacheTest, RoleChangeByTheCliOnTheSameDatabaseIsSeenByTheNextRequest) {
  const auto hal = server().add_account("hal@cache.test", "ml_admin");
  warm(hal.token, "ml_admin");

  const auto r =
      run_mladmin({"user", "set-role", "hal@cache.test", "user", "--database", server().database_url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  expect_revoked(hal.token);
  const auto fresh = client_->login("hal@cache.test", kTestPassword);
  warm(fresh, "user");
}

}  // namespace
}  // namespace mladmin::test

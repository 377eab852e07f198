// Sign-in and tokens over real HTTP (docs/security.md, issue 2 "Bad input"): login, /api/auth/me, every
// kind of bad token, revocation, login rate limiting and the JWT secret's rules.
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "auth/token.hpp"
#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;

constexpr const char* kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Claims as the server issues them; tests change one thing at a time.
json::object claims_for(const std::string& user_id, const std::string& role) {
  const auto now = now_seconds();
  return {{"sub", user_id}, {"role", role}, {"iat", now}, {"exp", now + 3600}, {"ver", 0}};
}

std::string sign(const json::object& payload, const std::string& header = kHs256Header,
                 const std::string& secret = kTestJwtSecret) {
  return auth::TokenCodec(secret).sign_raw(header, json::serialize(payload));
}

std::string login_body(const std::string& email, const std::string& password) {
  return json::serialize(json::object{{"email", email}, {"password", password}});
}

/// The three dot-separated parts of a JWT.
struct JwtParts {
  std::string header;
  std::string payload;
  std::string signature;
};

JwtParts split(const std::string& token) {
  const auto a = token.find('.');
  const auto b = token.find('.', a + 1);
  return {token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

class AuthTest : public SharedAdminTest {
 protected:
  /// Creates a user through the admin API; returns its id.
  std::string create_user(const std::string& email, const std::string& password,
                          const std::string& role = "user", const std::string& name = "Token Tester") {
    auto res = client_->post("/api/ml/admin/users",
                             json::serialize(json::object{
                                 {"email", email}, {"name", name}, {"password", password}, {"role", role}}),
                             admin_token_);
    EXPECT_EQ(res.status, 201) << res.body;
    return res.status == 201 ? std::string(res.json().at("id").as_string()) : "";
  }

  HttpResponse me(const std::string& token) { return client_->get("/api/auth/me", token); }

  HttpResponse me_with_header(const std::string& authorization) {
    return client_->request("GET", "/api/auth/me", "", {{"Authorization", authorization}});
  }
};

TEST_F(AuthTest, LoginReturnsTokenAndUserWithoutPasswordHash) {
  const std::string id =
      create_user("alice@auth.test", "Velvet-Harbor-19-Comet", "ml_admin", "Alice Liddell");

  auto res = client_->post("/api/auth/login", login_body("alice@auth.test", "Velvet-Harbor-19-Comet"));

  ASSERT_EQ(res.status, 200) << res.body;
  const auto body = res.json();
  const std::string token(body.at("token").as_string());
  EXPECT_EQ(std::count(token.begin(), token.end(), '.'), 2) << token;
  const auto& user = body.at("user").as_object();
  EXPECT_EQ(user.at("id").as_string(), id);
  EXPECT_EQ(user.at("email").as_string(), "alice@auth.test");
  EXPECT_EQ(user.at("name").as_string(), "Alice Liddell");
  EXPECT_EQ(user.at("role").as_string(), "ml_admin");
  EXPECT_EQ(user.at("status").as_string(), "active");
  EXPECT_TRUE(user.at("lastLoginAt").is_string()) << res.body;
  // Nothing of the stored secret leaves the server, under any key.
  EXPECT_EQ(res.body.find("argon2"), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find("assword"), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find("tokenVersion"), std::string::npos) << res.body;

  auto who = me(token);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(who.json().at("id").as_string(), id);
  EXPECT_EQ(who.json().at("email").as_string(), "alice@auth.test");
  EXPECT_EQ(who.json().at("role").as_string(), "ml_admin");
  EXPECT_EQ(who.body.find("assword"), std::string::npos) << who.body;
  // The request log names each request but never the password or the token.
  const std::string log = server().log();
  EXPECT_NE(log.find("/api/auth/login"), std::string::npos) << log;
  EXPECT_EQ(log.find("Velvet-Harbor-19-Comet"), std::string::npos) << log;
  EXPECT_EQ(log.find(token), std::string::npos) << log;
  EXPECT_EQ(log.find(split(token).signature), std::string::npos) << log;
}

TEST_F(AuthTest, LoginEmailIsCaseInsensitive) {
  const std::string id = create_user("Mixed.Case@Auth.Test", "Copper-Willow-52-Falcon");

  auto res = client_->post("/api/auth/login", login_body("mixed.case@AUTH.test", "Copper-Willow-52-Falcon"));

  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("user").at("id").as_string(), id);
}

TEST_F(AuthTest, UnknownEmailAndWrongPasswordGetIdenticalAnswers) {
  create_user("known@auth.test", "Amber-Tundra-64-Violin");

  auto unknown = client_->post("/api/auth/login", login_body("nobody@auth.test", "Amber-Tundra-64-Violin"));
  auto wrong = client_->post("/api/auth/login", login_body("known@auth.test", "Amber-Tundra-64-Violim"));

  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.body, wrong.body);
  EXPECT_EQ(unknown.error_code(), "invalid_credentials");
  EXPECT_EQ(unknown.header("retry-after"), wrong.header("retry-after"));
}

TEST_F(AuthTest, RequestWithoutTokenIsUnauthorized) {
  auto res = client_->get("/api/auth/me");

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "missing_token");
  EXPECT_EQ(res.header("www-authenticate"), "Bearer");
}

TEST_F(AuthTest, MalformedAuthorizationHeaderIsUnauthorized) {
  const std::vector<std::string> headers = {"Basic YWRtaW46c2VjcmV0", "Bearer",           "Bearer ",
                                            "Token " + admin_token_,  "Bearer not-a-jwt", "Bearer a.b",
                                            "Bearer a.b.c.d",         "Bearer ..."};
  for (const auto& header : headers) {
    auto res = me_with_header(header);
    EXPECT_EQ(res.status, 401) << header;
    EXPECT_EQ(res.error_code(), "invalid_token") << header << " -> " << res.body;
  }
}

TEST_F(AuthTest, TokenWithTamperedPayloadIsRefused) {
  create_user("mallory@auth.test", "Saffron-Glacier-27-Piano");
  const std::string token = client_->login("mallory@auth.test", "Saffron-Glacier-27-Piano");
  ASSERT_EQ(me(token).status, 200);
  auto parts = split(token);
  auto payload = json::parse(*auth::base64url_decode(parts.payload)).as_object();
  ASSERT_EQ(payload.at("role").as_string(), "user");
  payload["role"] = "admin";
  const std::string forged =
      parts.header + "." + auth::base64url_encode(json::serialize(payload)) + "." + parts.signature;

  auto res = me(forged);
  auto admin_route = client_->get("/api/ml/admin/users", forged);

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "invalid_token");
  EXPECT_NE(res.error_message().find("signature"), std::string::npos) << res.body;
  EXPECT_EQ(admin_route.status, 401) << admin_route.body;
}

TEST_F(AuthTest, TokenWithTamperedSignatureIsRefused) {
  const std::string token = sign(claims_for(admin_id_, "admin"));
  ASSERT_EQ(me(token).status, 200);
  auto parts = split(token);
  parts.signature[10] = parts.signature[10] == 'A' ? 'B' : 'A';

  auto res = me(parts.header + "." + parts.payload + "." + parts.signature);

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "invalid_token");
  EXPECT_NE(res.error_message().find("signature"), std::string::npos) << res.body;
}

TEST_F(AuthTest, TokenWithoutSignatureIsRefused) {
  auto parts = split(sign(claims_for(admin_id_, "admin")));

  auto res = me(parts.header + "." + parts.payload + ".");

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "invalid_token");
}

TEST_F(AuthTest, TokenExpiredByOneSecondIsRefusedWhileOneValidForAMinuteWorks) {
  auto expired = claims_for(admin_id_, "admin");
  expired["iat"] = now_seconds() - 3600;
  expired["exp"] = now_seconds() - 1;
  auto fresh = claims_for(admin_id_, "admin");
  fresh["exp"] = now_seconds() + 60;

  auto refused = me(sign(expired));
  auto accepted = me(sign(fresh));

  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.error_code(), "token_expired");
  EXPECT_NE(refused.error_message().find("expired"), std::string::npos) << refused.body;
  EXPECT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(accepted.json().at("id").as_string(), admin_id_);
}

TEST_F(AuthTest, TokenNotYetValidIsRefused) {
  auto future = claims_for(admin_id_, "admin");
  future["iat"] = now_seconds() + 3600;
  future["nbf"] = now_seconds() + 3600;
  future["exp"] = now_seconds() + 7200;
  auto nbf_only = claims_for(admin_id_, "admin");
  nbf_only["nbf"] = now_seconds() + 3600;

  for (const auto& claims : {future, nbf_only}) {
    auto res = me(sign(claims));
    EXPECT_EQ(res.status, 401) << json::serialize(claims);
    EXPECT_EQ(res.error_code(), "invalid_token");
    EXPECT_NE(res.error_message().find("not valid yet"), std::string::npos) << res.body;
  }
}

TEST_F(AuthTest, TokenWithAlgNoneIsRefusedWithOrWithoutSignature) {
  const auto claims = claims_for(admin_id_, "admin");
  for (const std::string header : {R"({"alg":"none","typ":"JWT"})", R"({"alg":"None","typ":"JWT"})",
                                   R"({"alg":"NONE"})", R"({"typ":"JWT"})"}) {
    const std::string signed_token = sign(claims, header);  // a valid HMAC-SHA256 under our secret
    const auto parts = split(signed_token);
    const std::string unsigned_token = parts.header + "." + parts.payload + ".";

    for (const auto& token : {signed_token, unsigned_token}) {
      auto res = me(token);
      EXPECT_EQ(res.status, 401) << header << " " << token;
      EXPECT_EQ(res.error_code(), "invalid_token") << res.body;
      EXPECT_NE(res.error_message().find("algorithm"), std::string::npos) << res.body;
    }
  }
}

TEST_F(AuthTest, TokenSignedWithHs512IsRefused) {
  const std::string header = R"({"alg":"HS512","typ":"JWT"})";
  const std::string input = auth::base64url_encode(header) + "." +
                            auth::base64url_encode(json::serialize(claims_for(admin_id_, "admin")));
  ASSERT_GE(sodium_init(), 0);
  // A genuine HMAC-SHA512 under the server's own secret: only the algorithm is wrong.
  unsigned char mac[crypto_auth_hmacsha512_BYTES];
  crypto_auth_hmacsha512_state state;
  crypto_auth_hmacsha512_init(&state, reinterpret_cast<const unsigned char*>(kTestJwtSecret),
                              std::char_traits<char>::length(kTestJwtSecret));
  crypto_auth_hmacsha512_update(&state, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  crypto_auth_hmacsha512_final(&state, mac);
  const std::string token =
      input + "." + auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac));

  auto res = me(token);

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "invalid_token");
  EXPECT_NE(res.error_message().find("algorithm"), std::string::npos) << res.body;
}

TEST_F(AuthTest, TokenClaimingRs256IsRefusedEvenWithAValidHmac) {
  // The key-confusion attack: the signature is a valid HMAC-SHA256 under the secret, but the
  // header names another algorithm.
  auto res = me(sign(claims_for(admin_id_, "admin"), R"({"alg":"RS256","typ":"JWT"})"));

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "invalid_token");
  EXPECT_NE(res.error_message().find("algorithm"), std::string::npos) << res.body;
}

TEST_F(AuthTest, TokenSignedWithAnotherSecretIsRefused) {
  auto res =
      me(sign(claims_for(admin_id_, "admin"), kHs256Header, "another-secret-of-enough-length-0123456789"));

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "invalid_token");
  EXPECT_NE(res.error_message().find("signature"), std::string::npos) << res.body;
}

TEST_F(AuthTest, TokenIsRevokedWhenItsUserIsDisabled) {
  const std::string id = create_user("dora@auth.test", "Indigo-Canyon-31-Maple");
  const std::string token = client_->login("dora@auth.test", "Indigo-Canyon-31-Maple");
  ASSERT_EQ(me(token).status, 200);

  auto patch = client_->patch("/api/ml/admin/users/" + id, R"({"status":"disabled"})", admin_token_);
  ASSERT_EQ(patch.status, 200) << patch.body;
  auto after_disable = me(token);
  // Enabling the account again does not bring old tokens back.
  ASSERT_EQ(client_->patch("/api/ml/admin/users/" + id, R"({"status":"active"})", admin_token_).status, 200);
  auto after_enable = me(token);

  EXPECT_EQ(after_disable.status, 401);
  EXPECT_EQ(after_disable.error_code(), "token_revoked");
  EXPECT_EQ(after_enable.status, 401);
  EXPECT_EQ(after_enable.error_code(), "token_revoked");
}

TEST_F(AuthTest, TokenIsRevokedWhenItsUsersRoleChanges) {
  const std::string id = create_user("rolf@auth.test", "Crimson-Orchard-45-Delta");
  const std::string token = client_->login("rolf@auth.test", "Crimson-Orchard-45-Delta");
  ASSERT_EQ(me(token).status, 200);

  auto patch = client_->patch("/api/ml/admin/users/" + id, R"({"role":"ml_admin"})", admin_token_);
  ASSERT_EQ(patch.status, 200) << patch.body;
  auto old_token = me(token);
  const std::string new_token = client_->login("rolf@auth.test", "Crimson-Orchard-45-Delta");
  auto with_new = me(new_token);

  EXPECT_EQ(old_token.status, 401);
  EXPECT_EQ(old_token.error_code(), "token_revoked");
  ASSERT_EQ(with_new.status, 200) << with_new.body;
  EXPECT_EQ(with_new.json().at("role").as_string(), "ml_admin");
}

TEST_F(AuthTest, TokenIsRevokedWhenItsUsersPasswordChanges) {
  const std::string id = create_user("petra@auth.test", "Olive-Thunder-58-Kayak");
  const std::string token = client_->login("petra@auth.test", "Olive-Thunder-58-Kayak");
  ASSERT_EQ(me(token).status, 200);

  auto patch =
      client_->patch("/api/ml/admin/users/" + id, R"({"password":"Silver-Prairie-72-Lotus"})", admin_token_);
  ASSERT_EQ(patch.status, 200) << patch.body;
  auto old_token = me(token);
  auto old_password =
      client_->post("/api/auth/login", login_body("petra@auth.test", "Olive-Thunder-58-Kayak"));
  auto new_password =
      client_->post("/api/auth/login", login_body("petra@auth.test", "Silver-Prairie-72-Lotus"));

  EXPECT_EQ(old_token.status, 401);
  EXPECT_EQ(old_token.error_code(), "token_revoked");
  EXPECT_EQ(old_password.status, 401);
  EXPECT_EQ(new_password.status, 200) << new_password.body;
}

TEST_F(AuthTest, TokenOfDeletedUserIsRefused) {
  const std::string id = create_user("gone@auth.test", "Walnut-Sparrow-66-Bridge");
  const std::string token = client_->login("gone@auth.test", "Walnut-Sparrow-66-Bridge");
  ASSERT_EQ(me(token).status, 200);

  ASSERT_EQ(client_->del("/api/ml/admin/users/" + id, admin_token_).status, 204);
  auto res = me(token);

  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.error_code(), "token_revoked");
}

TEST_F(AuthTest, DisabledUserCannotLogIn) {
  const std::string id = create_user("dis@auth.test", "Maroon-Lagoon-93-Tulip");
  ASSERT_EQ(client_->patch("/api/ml/admin/users/" + id, R"({"status":"disabled"})", admin_token_).status,
            200);

  auto right = client_->post("/api/auth/login", login_body("dis@auth.test", "Maroon-Lagoon-93-Tulip"));
  auto wrong = client_->post("/api/auth/login", login_body("dis@auth.test", "Maroon-Lagoon-93-Tulix"));

  // With or without the right password, a disabled account looks like any other failed sign-in:
  // the answer does not tell who knows its password (docs/security.md).
  EXPECT_EQ(right.status, 401) << right.body;
  EXPECT_EQ(right.error_code(), "invalid_credentials");
  EXPECT_EQ(right.body.find("token"), std::string::npos) << right.body;
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, right.body);
}

TEST_F(AuthTest, TenFailedLoginsForOneEmailLockItOutEvenWithTheRightPassword) {
  create_user("rate@auth.test", "Cobalt-Meadow-14-Raven");
  for (int i = 0; i < 10; ++i) {
    auto res =
        client_->post("/api/auth/login", login_body("rate@auth.test", "Wrong-Guess-" + std::to_string(i)));
    ASSERT_EQ(res.status, 401) << "attempt " << i << ": " << res.body;
  }

  auto locked = client_->post("/api/auth/login", login_body("rate@auth.test", "Cobalt-Meadow-14-Raven"));
  auto other_case = client_->post("/api/auth/login", login_body("RATE@Auth.Test", "Cobalt-Meadow-14-Raven"));

  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(locked.body.find("\"token\""), std::string::npos) << locked.body;
  const std::string retry_after = locked.header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GT(std::stoi(retry_after), 0);
  EXPECT_LE(std::stoi(retry_after), 15 * 60);
  EXPECT_EQ(other_case.status, 429) << other_case.body;
  // The lock is on that email only: another account still signs in.
  EXPECT_FALSE(client_->login(kFixtureAdminEmail, kTestPassword).empty());
}

TEST(AuthSecretTest, SecretShorterThan32BytesStopsTheServerFromStarting) {
  const std::string secret(31, 'k');

  auto r = serve_refused("", {{"MLADMIN_JWT_SECRET", secret}});

  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("32 bytes"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find(secret), std::string::npos) << "the secret must not be printed";
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
}

TEST(AuthSecretTest, SecretShorterThan32BytesInTheConfigFileStopsTheServerFromStarting) {
  auto r = serve_refused("[auth]\njwt_secret = \"too-short-secret\"\n");

  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("32 bytes"), std::string::npos) << r.err;
}

TEST(AuthSecretTest, SecretOfExactly32BytesIsAccepted) {
  IntegrationServer server({.env = {{"MLADMIN_JWT_SECRET", std::string(32, 'k')}}});
  EXPECT_EQ(server.http().get("/healthz").status, 200);
}

TEST(AuthSecretTest, GeneratedSecretIsStoredSoTokensSurviveARestart) {
  const ServerProcess::Options options{.test_jwt_secret = false};
  IntegrationServer server(options);
  const std::string token = server.user().token;
  ASSERT_EQ(server.as_user().get("/api/auth/me").status, 200);
  ASSERT_EQ(server.stop(SIGTERM, std::chrono::seconds(10)), 0);

  server.restart(options);
  auto& client = server.http();
  auto res = client.get("/api/auth/me", token);

  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("email").as_string(), kFixtureUserEmail);
  // The generated secret is not some well-known value: the test secret does not sign for it...
  auto parts = split(token);
  auto payload = json::parse(*auth::base64url_decode(parts.payload)).as_object();
  auto forged = client.get("/api/auth/me", sign(payload));
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(forged.error_code(), "invalid_token");
  // ...and another database generates a secret of its own.
  IntegrationServer other(options);
  auto foreign = other.http().get("/api/auth/me", token);
  EXPECT_EQ(foreign.status, 401);
  EXPECT_EQ(foreign.error_code(), "invalid_token");
}

}  // namespace
}  // namespace mladmin::test

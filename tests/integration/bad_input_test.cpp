// Bad input over real HTTP (docs/openapi.yaml, issue 2 "Bad input"): each answer has the right status and
// a code and message a client can act on, and none of them changes stored data or stops the
// server from answering.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;

constexpr const char* kPassword = "Lichen-Harvest-29-Sonnet";
constexpr std::size_t kBodyLimit = 1024 * 1024;

std::string user_body(const std::string& email, const std::string& password = kPassword,
                      const std::string& name = "Bad Input") {
  return json::serialize(json::object{{"email", email}, {"name", name}, {"password", password}});
}

/// `text` without its last UTF-8 character (however many bytes it takes).
std::string without_last_character(std::string text) {
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0U) == 0x80U) {
    text.pop_back();
  }
  if (!text.empty()) {
    text.pop_back();
  }
  return text;
}

class BadInputTest : public SharedIntegrationTest {
 protected:
  static void SetUpTestSuite() {
    SharedIntegrationTest::SetUpTestSuite();
    auto& client = server().http();
    admin_token_ = server().admin().token;
    // A user that requests try to change.
    auto res = client.post("/api/ml/admin/users", user_body("victim@bad.test"), admin_token_);
    EXPECT_EQ(res.status, 201) << res.body;
    victim_id_ = res.status == 201 ? std::string(res.json().at("id").as_string()) : "";
  }
  void SetUp() override {
    ASSERT_FALSE(admin_token_.empty());
    ASSERT_FALSE(victim_id_.empty());
    client_ = std::make_unique<HttpClient>(server().port());
    before_ = stored_users();
  }

  /// Every bad input leaves the stored users as they were, and the server answering.
  void TearDown() override {
    if (!expect_unchanged_) {
      return;
    }
    EXPECT_EQ(stored_users(), before_) << "stored data changed";
    EXPECT_EQ(HttpClient(server().port()).get("/healthz").status, 200);
  }

  /// All users as the list API shows them.
  std::string stored_users() {
    auto res = HttpClient(server().port()).get("/api/ml/admin/users?limit=500&sort=email", admin_token_);
    EXPECT_EQ(res.status, 200) << res.body;
    return res.body;
  }

  HttpResponse send(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& content_type = "application/json") {
    HttpClient::Headers headers{{"Authorization", "Bearer " + admin_token_}};
    if (!content_type.empty()) {
      headers.emplace_back("Content-Type", content_type);
    }
    return client_->request(method, target, body, headers);
  }

  HttpResponse create(const std::string& body) { return send("POST", "/api/ml/admin/users", body); }
  HttpResponse patch_victim(const std::string& body) {
    return send("PATCH", "/api/ml/admin/users/" + victim_id_, body);
  }
  HttpResponse login(const std::string& body) { return send("POST", "/api/auth/login", body); }

  /// A 400 whose message and details name `field`.
  static void expect_field_error(const HttpResponse& res, const std::string& field, const std::string& what) {
    EXPECT_EQ(res.status, 400) << what << " -> " << res.body;
    EXPECT_NE(res.error_message().find("'" + field + "'"), std::string::npos) << what << " -> " << res.body;
    const auto v = res.json();
    ASSERT_TRUE(v.is_object() && v.as_object().contains("error")) << what << " -> " << res.body;
    EXPECT_EQ(v.at("error").at("details").at("field").as_string(), field) << what << " -> " << res.body;
  }

  static inline std::string admin_token_;
  static inline std::string victim_id_;
  std::unique_ptr<HttpClient> client_;
  std::string before_;
  bool expect_unchanged_ = true;
};

TEST_F(BadInputTest, MalformedJsonIsBadRequest) {
  for (const std::string body :
       {R"({"email": "x@bad.test",)", R"({email: "x@bad.test"})", R"({"email":"x@bad.test"}})",
        R"({"email":"x@bad.test",})", "", "{", R"({"name":"unterminated)", "\x01\x02\x03"}) {
    for (const auto& res :
         {create(body), patch_victim(body), login(body), send("POST", "/api/ml/admin/users/bulk", body)}) {
      EXPECT_EQ(res.status, 400) << body << " -> " << res.body;
      EXPECT_EQ(res.error_code(), "malformed_json") << body << " -> " << res.body;
      EXPECT_NE(res.error_message().find("JSON"), std::string::npos) << res.body;
    }
  }
}

TEST_F(BadInputTest, JsonThatIsNotAnObjectIsBadRequest) {
  for (const std::string body : {"[]", R"(["email","x@bad.test"])", R"("text")", "42", "null", "true"}) {
    for (const auto& res : {create(body), patch_victim(body), login(body)}) {
      EXPECT_EQ(res.status, 400) << body << " -> " << res.body;
      EXPECT_NE(res.error_message().find("object"), std::string::npos) << body << " -> " << res.body;
    }
  }
}

TEST_F(BadInputTest, MissingFieldIsBadRequestNamingTheField) {
  expect_field_error(create(R"({"name":"No Email","password":"Lichen-Harvest-29-Sonnet"})"), "email",
                     "create");
  expect_field_error(create(R"({"email":"noname@bad.test","password":"Lichen-Harvest-29-Sonnet"})"), "name",
                     "create");
  expect_field_error(create(R"({"email":"nopass@bad.test","name":"No Pass"})"), "password", "create");
  expect_field_error(login(R"({"password":"Lichen-Harvest-29-Sonnet"})"), "email", "login");
  expect_field_error(login(R"({"email":"victim@bad.test"})"), "password", "login");
  expect_field_error(send("POST", "/api/ml/admin/users/bulk", R"({"action":"disable"})"), "ids", "bulk");
}

TEST_F(BadInputTest, WronglyTypedFieldIsBadRequestNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> creates = {
      {R"({"email":42,"name":"Typed","password":"Lichen-Harvest-29-Sonnet"})", "email"},
      {R"({"email":"typed@bad.test","name":["Typed"],"password":"Lichen-Harvest-29-Sonnet"})", "name"},
      {R"({"email":"typed@bad.test","name":"Typed","password":null})", "password"},
      {R"({"email":"typed@bad.test","name":"Typed","password":"Lichen-Harvest-29-Sonnet","role":1})", "role"},
      {R"({"email":"typed@bad.test","name":"Typed","password":"Lichen-Harvest-29-Sonnet","status":true})",
       "status"},
  };
  for (const auto& [body, field] : creates) {
    expect_field_error(create(body), field, body);
  }
  expect_field_error(login(R"({"email":"victim@bad.test","password":12345678})"), "password", "login");
  expect_field_error(login(R"({"email":{"$ne":null},"password":"x"})"), "email", "login");
  expect_field_error(patch_victim(R"({"name":7})"), "name", "patch");
  expect_field_error(patch_victim(R"({"status":"deleted"})"), "status", "patch");
}

TEST_F(BadInputTest, UnknownFieldIsBadRequestNamingTheField) {
  auto res = create(R"({"email":"extra@bad.test","name":"Extra","password":"Lichen-Harvest-29-Sonnet",)"
                    R"("isAdmin":true})");
  auto on_login =
      login(R"({"email":"victim@bad.test","password":"Lichen-Harvest-29-Sonnet","remember":true})");
  auto on_patch = patch_victim(R"({"email":"moved@bad.test"})");
  auto hash = patch_victim(R"({"passwordHash":"$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB"})");

  for (const auto& [r, field] : {std::pair{res, "isAdmin"}, std::pair{on_login, "remember"},
                                 std::pair{on_patch, "email"}, std::pair{hash, "passwordHash"}}) {
    expect_field_error(r, field, field);
    EXPECT_EQ(r.error_code(), "unknown_field") << r.body;
  }
}

TEST_F(BadInputTest, UnknownRoleIsBadRequestNamingTheField) {
  for (const std::string role : {"superuser", "Admin", "ADMIN", "", "admin "}) {
    const std::string body = json::serialize(json::object{
        {"email", "roleless@bad.test"}, {"name", "Roleless"}, {"password", kPassword}, {"role", role}});
    expect_field_error(create(body), "role", "create role '" + role + "'");
    expect_field_error(patch_victim(json::serialize(json::object{{"role", role}})), "role",
                       "patch role '" + role + "'");
    expect_field_error(send("POST", "/api/ml/admin/users/bulk",
                            json::serialize(json::object{
                                {"action", "set_role"}, {"role", role}, {"ids", json::array{victim_id_}}})),
                       "role", "bulk role '" + role + "'");
  }
}

TEST_F(BadInputTest, EmailThatIsNotAnEmailIsBadRequestNamingTheField) {
  for (const std::string email : {"not-an-email", "a@b", "@bad.test", "someone@", "a b@bad.test",
                                  "a@@bad.test", "a@bad..test", "", "a@.bad.test", "line\nbreak@bad.test"}) {
    expect_field_error(create(user_body(email)), "email", "'" + email + "'");
  }
}

TEST_F(BadInputTest, BodyOverOneMebibyteIsRefusedWith413AndTheServerKeepsAnswering) {
  // A valid JSON object one byte over the limit.
  const std::string head = R"({"email":"big@bad.test","name":")";
  const std::string tail = R"(","password":"Lichen-Harvest-29-Sonnet"})";
  const std::string over = head + std::string(kBodyLimit + 1 - head.size() - tail.size(), 'x') + tail;
  ASSERT_EQ(over.size(), kBodyLimit + 1);

  auto res = create(over);
  auto on_login = HttpClient(server().port()).post("/api/auth/login", over);

  EXPECT_EQ(res.status, 413) << res.body.substr(0, 200);
  EXPECT_EQ(res.error_code(), "payload_too_large");
  EXPECT_EQ(on_login.status, 413) << on_login.body.substr(0, 200);
  EXPECT_EQ(client_->get("/healthz").status, 200);
  // At the limit itself the body is read and judged on its content (the name is far too long).
  const std::string at_limit = head + std::string(kBodyLimit - head.size() - tail.size(), 'x') + tail;
  ASSERT_EQ(at_limit.size(), kBodyLimit);
  expect_field_error(create(at_limit), "name", "a body of exactly 1 MiB");
}

TEST_F(BadInputTest, WrongContentTypeIsRefusedWith415) {
  const std::string body = user_body("typed.wrong@bad.test");
  for (const std::string type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                 "application/jsonp", "application/xml", ""}) {
    auto res = send("POST", "/api/ml/admin/users", body, type);
    EXPECT_EQ(res.status, 415) << "'" << type << "' -> " << res.body;
    EXPECT_EQ(res.error_code(), "unsupported_media_type") << res.body;
    auto on_login = send("POST", "/api/auth/login", R"({"email":"victim@bad.test","password":"x"})", type);
    EXPECT_EQ(on_login.status, 415) << "'" << type << "' -> " << on_login.body;
  }
  // Parameters and case do not matter: these get past the type check to the missing field.
  for (const std::string type : {"application/json; charset=utf-8", "Application/JSON"}) {
    expect_field_error(send("POST", "/api/ml/admin/users", "{}", type), "email", type);
  }
}

TEST_F(BadInputTest, PasswordShorterThanEightCharactersIsRefusedNamingTheRule) {
  // Seven characters, the second one in more than seven bytes.
  for (const std::string password : {"Ab3$xyz", "\xCE\xA9\xD0\xBC\xD0\xB5\xD0\xB3\xD0\xB0-7", "", "1"}) {
    auto res = create(user_body("shorty@bad.test", password));
    EXPECT_EQ(res.status, 400) << "'" << password << "' -> " << res.body;
    EXPECT_EQ(res.error_code(), "weak_password") << res.body;
    EXPECT_NE(res.error_message().find("at least 8 characters"), std::string::npos) << res.body;
    EXPECT_EQ(res.json().at("error").at("details").at("rule").as_string(), "min_length") << res.body;
  }
  auto on_patch = patch_victim(R"({"password":"Ab3$xyz"})");
  EXPECT_EQ(on_patch.error_code(), "weak_password") << on_patch.body;
}

TEST_F(BadInputTest, CommonPasswordIsRefusedNamingTheRule) {
  for (const std::string password : {"password1", "12345678", "qwertyuiop", "Password123"}) {
    auto res = create(user_body("common@bad.test", password));
    EXPECT_EQ(res.status, 400) << password << " -> " << res.body;
    EXPECT_EQ(res.error_code(), "weak_password") << password << " -> " << res.body;
    EXPECT_NE(res.error_message().find("common"), std::string::npos) << res.body;
    EXPECT_EQ(res.json().at("error").at("details").at("rule").as_string(), "common") << res.body;
  }
  auto on_patch = patch_victim(R"({"password":"password1"})");
  EXPECT_EQ(on_patch.status, 400) << on_patch.body;
  EXPECT_EQ(on_patch.error_code(), "weak_password");
  // The victim's password did not change.
  EXPECT_FALSE(client_->login("victim@bad.test", kPassword).empty());
  expect_unchanged_ = false;  // that sign-in set lastLoginAt
}

TEST_F(BadInputTest, LongAndNonAsciiPasswordsAreAcceptedAndLogInAsTyped) {
  expect_unchanged_ = false;  // these inputs are good: they add users
  const std::string long_password = "k3V9-mQ2x-Lr8P-wT5n-Hy6B-cJ4s-Fd1G-pN7z-Xa2W-eU9k-Rb3M-tY8q-Ze5v";
  ASSERT_EQ(long_password.size(), 64u);
  const std::string longest = long_password + long_password;  // docs/security.md: up to at least 128
  const std::string unicode = "пароль-для-теста-Ω";

  for (const auto& [email, password] :
       {std::pair{"long@bad.test", long_password}, std::pair{"longest@bad.test", longest},
        std::pair{"unicode@bad.test", unicode}}) {
    auto created = create(user_body(email, password, "Good Input"));
    ASSERT_EQ(created.status, 201) << email << " -> " << created.body;
    auto res = client_->post("/api/auth/login",
                             json::serialize(json::object{{"email", email}, {"password", password}}));
    EXPECT_EQ(res.status, 200) << email << " -> " << res.body;
    // As typed: neither cut short nor normalized.
    auto shorter = client_->post(
        "/api/auth/login",
        json::serialize(json::object{{"email", email}, {"password", without_last_character(password)}}));
    EXPECT_EQ(shorter.status, 401) << email;
  }
  auto upper = client_->post(
      "/api/auth/login",
      json::serialize(json::object{{"email", "unicode@bad.test"}, {"password", "ПАРОЛЬ-ДЛЯ-ТЕСТА-Ω"}}));
  EXPECT_EQ(upper.status, 401);
}

TEST_F(BadInputTest, UnknownRouteIsNotFoundWithAJsonError) {
  for (const auto& [method, path] :
       {std::pair{"GET", "/api/nope"}, std::pair{"GET", "/api/ml/admin/users/a/b"},
        std::pair{"POST", "/api/nothing/here"}, std::pair{"GET", "/api/auth"}}) {
    auto res = send(method, path, "");
    EXPECT_EQ(res.status, 404) << method << " " << path;
    EXPECT_EQ(res.error_code(), "not_found") << res.body;
    EXPECT_NE(res.error_message().find(path), std::string::npos) << res.body;
    EXPECT_EQ(res.header("content-type"), "application/json");
  }
}

TEST_F(BadInputTest, WrongMethodIs405WithAnAllowHeader) {
  auto put_login = send("PUT", "/api/auth/login", R"({"email":"victim@bad.test","password":"x"})");
  auto delete_health = send("DELETE", "/healthz", "");
  auto post_user = send("POST", "/api/ml/admin/users/" + victim_id_, R"({"name":"Posted"})");
  auto delete_list = send("DELETE", "/api/ml/admin/users", "");

  for (const auto& [res, allow] :
       {std::pair{put_login, "POST"}, std::pair{delete_health, "GET"},
        std::pair{post_user, "GET, PATCH, DELETE"}, std::pair{delete_list, "GET, POST"}}) {
    EXPECT_EQ(res.status, 405) << res.body;
    EXPECT_EQ(res.error_code(), "method_not_allowed") << res.body;
    EXPECT_EQ(res.header("allow"), allow);
  }
}

TEST_F(BadInputTest, HeadersOverTheLimitAreRefusedWith431) {
  auto res = client_->request("GET", "/healthz", "", {{"X-Padding", std::string(20 * 1024, 'h')}});
  auto many = [] {
    HttpClient::Headers h;
    for (int i = 0; i < 400; ++i) {
      h.emplace_back("X-Header-" + std::to_string(i), std::string(64, 'v'));
    }
    return h;
  }();
  auto res_many = HttpClient(server().port()).request("GET", "/healthz", "", many);

  EXPECT_EQ(res.status, 431) << res.body;
  EXPECT_EQ(res.error_code(), "headers_too_large") << res.body;
  EXPECT_EQ(res_many.status, 431) << res_many.body;
  EXPECT_EQ(HttpClient(server().port()).get("/healthz").status, 200);
}

TEST_F(BadInputTest, InvalidUtf8InJsonIsBadRequest) {
  const std::vector<std::string> bodies = {
      "{\"email\":\"utf@bad.test\",\"name\":\"Bad \xFF\xFE Name\",\"password\":\"Lichen-Harvest-29-Sonnet\"}",
      "{\"email\":\"utf@bad.test\",\"name\":\"Bad \xC3\x28 Name\",\"password\":\"Lichen-Harvest-29-Sonnet\"}",
      "{\"email\":\"utf@bad.test\",\"name\":\"Overlong \xC0\xAF\",\"password\":\"Lichen-Harvest-29-Sonnet\"}",
      "{\"email\":\"utf@bad.test\",\"name\":\"Surrogate "
      "\xED\xA0\x80\",\"password\":\"Lichen-Harvest-29-Sonnet\"}",
      R"({"email":"utf@bad.test","name":"Lone \ud800 surrogate","password":"Lichen-Harvest-29-Sonnet"})",
      "{\"email\":\"utf\xFF@bad.test\",\"name\":\"Bad Email\",\"password\":\"Lichen-Harvest-29-Sonnet\"}",
      "{\"email\":\"utf@bad.test\",\"name\":\"Bad Password\",\"password\":\"Lichen-\xFF-29-Sonnet\"}",
  };
  for (const auto& body : bodies) {
    auto res = create(body);
    EXPECT_EQ(res.status, 400) << body << " -> " << res.body;
    EXPECT_FALSE(res.error_code().empty()) << res.body;
  }
  auto on_login = login("{\"email\":\"victim@bad.test\",\"password\":\"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\"}");
  EXPECT_EQ(on_login.status, 400) << on_login.body;
  auto on_patch = patch_victim("{\"name\":\"\xC3\x28\"}");
  EXPECT_EQ(on_patch.status, 400) << on_patch.body;
}

TEST_F(BadInputTest, RequestThatIsNotHttpIsBadRequest) {
  const std::string answer = HttpClient(server().port()).raw("HELLO THERE\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
}

}  // namespace
}  // namespace mladmin::test

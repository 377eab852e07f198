// The admin user API over real HTTP (docs/openapi.yaml, docs/security.md): create, read, change, delete, list
// with filters, sorting and cursors, bulk actions, the last-admin rule, the audit log and roles.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;

constexpr const char* kPassword = "Lichen-Harvest-29-Sonnet";

std::string url_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::vector<std::string> ids_of(const HttpResponse& res) {
  std::vector<std::string> out;
  const auto body = res.json();
  for (const auto& item : body.at("items").as_array()) {
    out.emplace_back(item.at("id").as_string());
  }
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

class UsersTest : public SharedAdminTest {
 protected:
  HttpResponse create(const std::string& email, const std::string& name, const std::string& role = "user",
                      const std::string& status = "active") {
    return client_->post(
        "/api/ml/admin/users",
        json::serialize(json::object{
            {"email", email}, {"name", name}, {"password", kPassword}, {"role", role}, {"status", status}}),
        admin_token_);
  }

  /// Creates a user and returns its JSON (fails the test unless 201).
  json::object create_ok(const std::string& email, const std::string& name, const std::string& role = "user",
                         const std::string& status = "active") {
    auto res = create(email, name, role, status);
    EXPECT_EQ(res.status, 201) << res.body;
    return res.status == 201 ? res.json().as_object() : json::object{};
  }

  HttpResponse list(const std::string& query) {
    return client_->get("/api/ml/admin/users" + (query.empty() ? "" : "?" + query), admin_token_);
  }

  HttpResponse get_user(const std::string& id) {
    return client_->get("/api/ml/admin/users/" + id, admin_token_);
  }

  HttpResponse bulk(const json::object& body) {
    return client_->post("/api/ml/admin/users/bulk", json::serialize(body), admin_token_);
  }

  /// Follows nextCursor from the first page of `query` to the end; returns every id in order and
  /// the size of each page.
  std::pair<std::vector<std::string>, std::vector<std::size_t>> walk(const std::string& query) {
    std::vector<std::string> ids;
    std::vector<std::size_t> sizes;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      auto res = list(query + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor)));
      EXPECT_EQ(res.status, 200) << res.body;
      if (res.status != 200) {
        break;
      }
      const auto page_ids = ids_of(res);
      ids.insert(ids.end(), page_ids.begin(), page_ids.end());
      sizes.push_back(page_ids.size());
      const auto body = res.json();
      const auto& next = body.at("nextCursor");
      if (next.is_null()) {
        break;
      }
      cursor = std::string(next.as_string());
    }
    return {ids, sizes};
  }
};

TEST_F(UsersTest, CreateAnswers201WithTheLocationOfTheNewUser) {
  auto res = client_->post(
      "/api/ml/admin/users",
      R"({"email":"Nora.New@Users.Test","name":"Nora New","password":"Lichen-Harvest-29-Sonnet"})",
      admin_token_);

  ASSERT_EQ(res.status, 201) << res.body;
  const auto user = res.json();
  const std::string id = str(user, "id");
  EXPECT_EQ(res.header("location"), "/api/ml/admin/users/" + id);
  EXPECT_EQ(str(user, "email"), "Nora.New@Users.Test");
  EXPECT_EQ(str(user, "name"), "Nora New");
  EXPECT_EQ(str(user, "role"), "user");
  EXPECT_EQ(str(user, "status"), "active");
  EXPECT_TRUE(user.at("createdAt").is_string());
  EXPECT_TRUE(user.at("lastLoginAt").is_null());
  EXPECT_EQ(res.body.find("assword"), std::string::npos) << res.body;

  auto fetched = client_->get(res.header("location"), admin_token_);
  ASSERT_EQ(fetched.status, 200) << fetched.body;
  EXPECT_EQ(fetched.json(), user);
  // The new account works.
  EXPECT_FALSE(client_->login("nora.new@users.test", kPassword).empty());
}

TEST_F(UsersTest, DuplicateEmailIsConflictWhateverItsCase) {
  create_ok("Dupe.Case@Users.Test", "First Dupe");

  auto res = create("dupe.case@USERS.test", "Second Dupe");
  auto padded = create(" dupe.case@users.test ", "Third Dupe");

  EXPECT_EQ(res.status, 409) << res.body;
  EXPECT_EQ(res.error_code(), "email_taken");
  EXPECT_NE(padded.status, 201) << padded.body;
  auto found = list("q=dupe.case");
  ASSERT_EQ(found.status, 200);
  ASSERT_EQ(found.json().at("items").as_array().size(), 1u) << found.body;
  EXPECT_EQ(str(found.json().at("items").at(0), "name"), "First Dupe");
}

TEST_F(UsersTest, PatchChangesNameRoleAndStatus) {
  const auto user = create_ok("patchy@users.test", "Patchy Before");
  const std::string path = "/api/ml/admin/users/" + str(user, "id");

  auto renamed = client_->patch(path, R"({"name":"Patchy After"})", admin_token_);
  auto promoted = client_->patch(path, R"({"role":"ml_admin"})", admin_token_);
  auto disabled = client_->patch(path, R"({"status":"disabled"})", admin_token_);

  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(str(renamed.json(), "name"), "Patchy After");
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(str(promoted.json(), "role"), "ml_admin");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_EQ(str(disabled.json(), "status"), "disabled");
  auto now = client_->get(path, admin_token_);
  ASSERT_EQ(now.status, 200);
  EXPECT_EQ(str(now.json(), "name"), "Patchy After");
  EXPECT_EQ(str(now.json(), "role"), "ml_admin");
  EXPECT_EQ(str(now.json(), "status"), "disabled");
  EXPECT_EQ(str(now.json(), "email"), "patchy@users.test");
  EXPECT_EQ(now.json().at("createdAt"), user.at("createdAt"));
}

TEST_F(UsersTest, PatchWithNothingToChangeIsBadRequest) {
  const auto user = create_ok("idle.patch@users.test", "Idle Patch");

  auto res = client_->patch("/api/ml/admin/users/" + str(user, "id"), "{}", admin_token_);

  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(get_user(str(user, "id")).json(), json::value(user));
}

TEST_F(UsersTest, DeleteAnswers204AndTheUserIsGone) {
  const auto user = create_ok("doomed@users.test", "Doomed User");
  const std::string id = str(user, "id");

  auto res = client_->del("/api/ml/admin/users/" + id, admin_token_);

  EXPECT_EQ(res.status, 204);
  EXPECT_TRUE(res.body.empty()) << res.body;
  auto after = get_user(id);
  EXPECT_EQ(after.status, 404);
  EXPECT_EQ(after.error_code(), "not_found");
  EXPECT_EQ(client_->del("/api/ml/admin/users/" + id, admin_token_).status, 404);
  EXPECT_TRUE(ids_of(list("q=doomed")).empty());
  // The email is free again.
  EXPECT_EQ(create("doomed@users.test", "Doomed Again").status, 201);
}

TEST_F(UsersTest, NonexistentIdIsNotFoundOnGetPatchAndDelete) {
  for (const std::string id : {"01900000-0000-7000-8000-000000000000", "no-such-user", "%27%20OR%201%3D1"}) {
    const std::string path = "/api/ml/admin/users/" + id;
    auto got = client_->get(path, admin_token_);
    auto patched = client_->patch(path, R"({"name":"Ghost"})", admin_token_);
    auto deleted = client_->del(path, admin_token_);

    EXPECT_EQ(got.status, 404) << id;
    EXPECT_EQ(got.error_code(), "not_found") << got.body;
    EXPECT_EQ(patched.status, 404) << id;
    EXPECT_EQ(patched.error_code(), "not_found") << patched.body;
    EXPECT_EQ(deleted.status, 404) << id;
    EXPECT_EQ(deleted.error_code(), "not_found") << deleted.body;
  }
}

TEST_F(UsersTest, ListFiltersByTextRoleStatusAndCreatedRange) {
  std::vector<json::object> made;
  made.push_back(create_ok("filt.a@users.test", "Filter Anna", "user", "active"));
  made.push_back(create_ok("filt.b@users.test", "Filter Boris", "ml_admin", "active"));
  made.push_back(create_ok("filt.c@users.test", "Zebra Keeper", "user", "disabled"));
  made.push_back(create_ok("filt.d@users.test", "Filter Dana", "ml_admin", "disabled"));
  made.push_back(create_ok("filt.e@users.test", "Filter Emil", "admin", "active"));
  made.push_back(create_ok("filt.f@users.test", "Filter Fay", "user", "active"));
  ASSERT_EQ(made.size(), 6u);
  auto id = [&](int i) { return str(made[static_cast<std::size_t>(i)], "id"); };

  EXPECT_EQ(sorted(ids_of(list("q=filt."))), sorted({id(0), id(1), id(2), id(3), id(4), id(5)}));
  EXPECT_EQ(sorted(ids_of(list("q=FILT."))), sorted({id(0), id(1), id(2), id(3), id(4), id(5)}));
  EXPECT_EQ(ids_of(list("q=zebra")), std::vector<std::string>{id(2)});
  EXPECT_EQ(sorted(ids_of(list("q=filt.&role=ml_admin"))), sorted({id(1), id(3)}));
  EXPECT_EQ(sorted(ids_of(list("q=filt.&status=disabled"))), sorted({id(2), id(3)}));
  EXPECT_EQ(ids_of(list("q=filt.&role=ml_admin&status=disabled")), std::vector<std::string>{id(3)});
  EXPECT_EQ(ids_of(list("q=filt.&role=admin")), std::vector<std::string>{id(4)});
  EXPECT_TRUE(ids_of(list("q=no-such-text-anywhere")).empty());

  // createdFrom is inclusive and createdTo exclusive: expect what the timestamps say.
  const std::string from = str(made[1], "createdAt");
  const std::string to = str(made[4], "createdAt");
  std::vector<std::string> expected;
  for (const auto& u : made) {
    const std::string at = str(u, "createdAt");
    if (at >= from && at < to) {
      expected.emplace_back(u.at("id").as_string());
    }
  }
  ASSERT_FALSE(expected.empty());
  auto ranged = list("q=filt.&createdFrom=" + url_encode(from) + "&createdTo=" + url_encode(to));
  ASSERT_EQ(ranged.status, 200) << ranged.body;
  EXPECT_EQ(sorted(ids_of(ranged)), sorted(expected));
  auto before_all = list("q=filt.&createdTo=2000-01-01");
  EXPECT_TRUE(ids_of(before_all).empty()) << before_all.body;
  auto after_all = list("q=filt.&createdFrom=2000-01-01");
  EXPECT_EQ(ids_of(after_all).size(), 6u) << after_all.body;
}

TEST_F(UsersTest, ListSortsByEachKeyInBothDirections) {
  create_ok("sorty.c@users.test", "Bravo Sort");
  create_ok("Sorty.A@users.test", "Charlie Sort");
  create_ok("sorty.b@users.test", "alpha Sort");
  auto field_of = [&](const std::string& query, const char* field) {
    auto res = list(query);
    EXPECT_EQ(res.status, 200) << res.body;
    std::vector<std::string> out;
    const auto body = res.json();
    for (const auto& item : body.at("items").as_array()) {
      out.push_back(str(item, field));
    }
    return out;
  };
  using V = std::vector<std::string>;

  EXPECT_EQ(field_of("q=sorty&sort=email", "email"),
            (V{"Sorty.A@users.test", "sorty.b@users.test", "sorty.c@users.test"}));
  EXPECT_EQ(field_of("q=sorty&sort=-email", "email"),
            (V{"sorty.c@users.test", "sorty.b@users.test", "Sorty.A@users.test"}));
  const auto by_name = field_of("q=sorty&sort=name", "name");
  const auto by_name_desc = field_of("q=sorty&sort=-name", "name");
  EXPECT_EQ(by_name, V(by_name_desc.rbegin(), by_name_desc.rend()));
  EXPECT_EQ(by_name.size(), 3u);
  const auto oldest_first = field_of("q=sorty&sort=createdAt", "email");
  const auto newest_first = field_of("q=sorty&sort=-createdAt", "email");
  const auto by_default = field_of("q=sorty", "email");
  EXPECT_EQ(oldest_first, (V{"sorty.c@users.test", "Sorty.A@users.test", "sorty.b@users.test"}));
  EXPECT_EQ(newest_first, V(oldest_first.rbegin(), oldest_first.rend()));
  EXPECT_EQ(by_default, newest_first);
}

TEST_F(UsersTest, CursorPagingVisitsEveryUserOnceAndEndsWithANullCursor) {
  std::set<std::string> made;
  for (int i = 0; i < 25; ++i) {
    char email[64];
    std::snprintf(email, sizeof email, "pager%02d@users.test", (i * 7) % 25);
    // Few distinct names, so that paging by name must break ties by id.
    const auto user = create_ok(email, "Pager " + std::string(1, static_cast<char>('A' + i % 3)));
    made.insert(str(user, "id"));
  }
  ASSERT_EQ(made.size(), 25u);

  for (const std::string sort : {"-createdAt", "createdAt", "email", "-email", "name", "-name"}) {
    SCOPED_TRACE("sort=" + sort);
    const auto [ids, sizes] = walk("q=pager&limit=10&sort=" + url_encode(sort));

    EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
    const std::set<std::string> seen(ids.begin(), ids.end());
    EXPECT_EQ(seen.size(), ids.size()) << "a user appeared twice";
    EXPECT_EQ(seen, made) << "a user was skipped";
  }
  // A page that ends exactly at the last user says so.
  const auto [ids, sizes] = walk("q=pager&limit=25");
  EXPECT_EQ(sizes, std::vector<std::size_t>{25});
}

TEST_F(UsersTest, BadListParametersAreBadRequestsNamingTheParameter) {
  create_ok("param.a@users.test", "Param A");
  create_ok("param.b@users.test", "Param B");
  auto page = list("q=param.&sort=email&limit=1");
  ASSERT_EQ(page.status, 200);
  const std::string email_cursor(page.json().at("nextCursor").as_string());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sort=age", "sort"},
      {"sort=-", "sort"},
      {"sort=password_hash", "sort"},
      {"limit=0", "limit"},
      {"limit=501", "limit"},
      {"limit=abc", "limit"},
      {"limit=-1", "limit"},
      {"limit=", "limit"},
      {"role=root", "role"},
      {"status=gone", "status"},
      {"createdFrom=yesterday", "createdFrom"},
      {"createdTo=2026-13-01", "createdTo"},
      {"cursor=not-a-cursor", "cursor"},
      {"q=param.&sort=name&cursor=" + url_encode(email_cursor), "cursor"},
      {"favouriteColour=blue", "favouriteColour"},
  };
  for (const auto& [query, field] : cases) {
    auto res = list(query);
    EXPECT_EQ(res.status, 400) << query << " -> " << res.body;
    EXPECT_NE(res.error_message().find(field), std::string::npos) << query << " -> " << res.body;
    EXPECT_EQ(res.json().at("error").at("details").at("field").as_string(), field) << query;
  }
  EXPECT_EQ(list("limit=500").status, 200);
}

TEST_F(UsersTest, BulkActionsReportAResultForEachId) {
  const std::string a = str(create_ok("bulk.a@users.test", "Bulk A"), "id");
  const std::string b = str(create_ok("bulk.b@users.test", "Bulk B"), "id");
  const std::string c = str(create_ok("bulk.c@users.test", "Bulk C"), "id");
  const std::string ghost = "01900000-0000-7000-8000-00000000dead";

  auto promote = bulk({{"action", "set_role"}, {"role", "ml_admin"}, {"ids", {a, ghost, b}}});

  ASSERT_EQ(promote.status, 200) << promote.body;
  const auto promoted = promote.json();
  const auto& results = promoted.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(str(results[0], "id"), a);
  EXPECT_TRUE(results[0].at("ok").as_bool());
  EXPECT_EQ(str(results[1], "id"), ghost);
  EXPECT_FALSE(results[1].at("ok").as_bool());
  EXPECT_EQ(results[1].at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(str(results[2], "id"), b);
  EXPECT_TRUE(results[2].at("ok").as_bool());
  EXPECT_EQ(promote.json().at("succeeded").to_number<int>(), 2);
  EXPECT_EQ(promote.json().at("failed").to_number<int>(), 1);
  EXPECT_EQ(str(get_user(a).json(), "role"), "ml_admin");
  EXPECT_EQ(str(get_user(b).json(), "role"), "ml_admin");
  EXPECT_EQ(str(get_user(c).json(), "role"), "user");

  auto disable = bulk({{"action", "disable"}, {"ids", {a, b, c}}});
  ASSERT_EQ(disable.status, 200) << disable.body;
  EXPECT_EQ(disable.json().at("succeeded").to_number<int>(), 3);
  EXPECT_EQ(sorted(ids_of(list("q=bulk.&status=disabled"))), sorted({a, b, c}));

  auto enable = bulk({{"action", "enable"}, {"ids", {b}}});
  ASSERT_EQ(enable.status, 200) << enable.body;
  EXPECT_EQ(str(get_user(b).json(), "status"), "active");
  EXPECT_EQ(str(get_user(a).json(), "status"), "disabled");

  auto remove = bulk({{"action", "delete"}, {"ids", {c, ghost}}});
  ASSERT_EQ(remove.status, 200) << remove.body;
  EXPECT_TRUE(remove.json().at("results").at(0).at("ok").as_bool());
  EXPECT_FALSE(remove.json().at("results").at(1).at("ok").as_bool());
  EXPECT_EQ(get_user(c).status, 404);
  EXPECT_EQ(get_user(a).status, 200);
}

TEST_F(UsersTest, BulkRequestsThatMakeNoSenseAreBadRequests) {
  const std::string a = str(create_ok("bulk.bad@users.test", "Bulk Bad"), "id");
  const std::vector<std::pair<json::object, std::string>> cases = {
      {{{"action", "set_role"}, {"ids", {a}}}, "role"},
      {{{"action", "set_role"}, {"role", "root"}, {"ids", {a}}}, "role"},
      {{{"action", "disable"}, {"role", "admin"}, {"ids", {a}}}, "role"},
      {{{"action", "explode"}, {"ids", {a}}}, "action"},
      {{{"action", "disable"}}, "ids"},
      {{{"action", "disable"}, {"ids", json::array{}}}, "ids"},
      {{{"action", "disable"}, {"ids", a}}, "ids"},
      {{{"action", "disable"}, {"ids", {1, 2}}}, "ids"},
  };
  for (const auto& [body, field] : cases) {
    auto res = bulk(body);
    EXPECT_EQ(res.status, 400) << json::serialize(body) << " -> " << res.body;
    EXPECT_NE(res.error_message().find(field), std::string::npos)
        << json::serialize(body) << " -> " << res.body;
  }
  auto user = get_user(a);
  EXPECT_EQ(str(user.json(), "status"), "active");
  EXPECT_EQ(str(user.json(), "role"), "user");
}

TEST_F(UsersTest, AuditLogRecordsEachAdminActionWithTheActorsEmail) {
  const std::string id = str(create_ok("audited@users.test", "Audited User"), "id");
  ASSERT_EQ(client_->patch("/api/ml/admin/users/" + id, R"({"role":"ml_admin"})", admin_token_).status, 200);
  ASSERT_EQ(bulk({{"action", "disable"}, {"ids", {id}}}).status, 200);
  ASSERT_EQ(client_->del("/api/ml/admin/users/" + id, admin_token_).status, 204);

  auto trail = client_->get("/api/ml/admin/audit?targetId=" + id, admin_token_);

  ASSERT_EQ(trail.status, 200) << trail.body;
  std::vector<std::string> actions;
  const auto trail_json = trail.json();
  for (const auto& e : trail_json.at("items").as_array()) {
    actions.push_back(str(e, "action"));
    EXPECT_EQ(str(e, "actor"), kFixtureAdminEmail) << json::serialize(e);
    EXPECT_EQ(str(e, "actorId"), admin_id_) << json::serialize(e);
    EXPECT_EQ(str(e, "targetId"), id);
    EXPECT_TRUE(e.at("at").is_string());
  }
  // Newest first.
  EXPECT_EQ(actions, (std::vector<std::string>{"user.delete", "user.update", "user.update", "user.create"}));
  const auto& items = trail_json.at("items").as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[2].at("details").at("changes").at("role").at("to").as_string(), "ml_admin") << trail.body;
  EXPECT_EQ(items[1].at("details").at("changes").at("status").at("to").as_string(), "disabled") << trail.body;

  auto all = client_->get("/api/ml/admin/audit?limit=500", admin_token_);
  ASSERT_EQ(all.status, 200);
  bool found_bulk = false;
  const auto all_json = all.json();
  for (const auto& e : all_json.at("items").as_array()) {
    if (str(e, "action") != "user.bulk") {
      continue;
    }
    const auto& ids = e.at("details").at("ids").as_array();
    if (std::find(ids.begin(), ids.end(), json::value(id)) != ids.end()) {
      found_bulk = true;
      EXPECT_EQ(str(e, "actor"), kFixtureAdminEmail);
      EXPECT_EQ(e.at("details").at("action").as_string(), "disable");
    }
  }
  EXPECT_TRUE(found_bulk) << all.body;
}

TEST_F(UsersTest, UserAndMlAdminAreForbiddenOnEveryAdminRoute) {
  const auto target = create_ok("target@users.test", "Target User");
  const std::string target_id = str(target, "id");
  create_ok("plain@users.test", "Plain Person", "user");
  create_ok("mlops@users.test", "Model Operator", "ml_admin");
  const std::string user_token = client_->login("plain@users.test", kPassword);
  const std::string ml_token = client_->login("mlops@users.test", kPassword);
  struct Call {
    const char* method;
    std::string path;
    std::string body;
  };
  const std::vector<Call> calls = {
      {"GET", "/api/ml/admin/users", ""},
      {"POST", "/api/ml/admin/users",
       R"({"email":"sneaky@users.test","name":"Sneaky","password":"Lichen-Harvest-29-Sonnet","role":"admin"})"},
      {"POST", "/api/ml/admin/users/bulk", R"({"action":"delete","ids":[")" + target_id + R"("]})"},
      {"GET", "/api/ml/admin/users/" + target_id, ""},
      {"PATCH", "/api/ml/admin/users/" + target_id, R"({"role":"admin"})"},
      {"DELETE", "/api/ml/admin/users/" + target_id, ""},
      {"GET", "/api/ml/admin/audit", ""},
  };

  for (const auto& [who, token] : {std::pair{"user", user_token}, std::pair{"ml_admin", ml_token}}) {
    ASSERT_FALSE(token.empty()) << who;
    for (const auto& call : calls) {
      HttpClient::Headers headers{{"Authorization", "Bearer " + token}};
      if (!call.body.empty()) {
        headers.emplace_back("Content-Type", "application/json");
      }
      auto res = client_->request(call.method, call.path, call.body, headers);
      EXPECT_EQ(res.status, 403) << who << " " << call.method << " " << call.path << " -> " << res.body;
      EXPECT_EQ(res.error_code(), "forbidden") << res.body;
      auto anonymous =
          client_->request(call.method, call.path, call.body,
                           call.body.empty() ? HttpClient::Headers{}
                                             : HttpClient::Headers{{"Content-Type", "application/json"}});
      EXPECT_EQ(anonymous.status, 401) << call.method << " " << call.path;
    }
  }
  EXPECT_EQ(get_user(target_id).json(), json::value(target));
  EXPECT_TRUE(ids_of(list("q=sneaky")).empty());
}

TEST(UsersLastAdminTest, LastActiveAdminCannotBeDeletedDemotedOrDisabled) {
  IntegrationServer server;
  const std::string only = server.admin().id;
  auto& client = server.http();
  const std::string token = server.admin().token;
  const std::string path = "/api/ml/admin/users/" + only;
  auto bulk = [&](const std::string& body) { return client.post("/api/ml/admin/users/bulk", body, token); };

  std::vector<HttpResponse> single = {
      client.del(path, token), client.patch(path, R"({"role":"ml_admin"})", token),
      client.patch(path, R"({"role":"user"})", token), client.patch(path, R"({"status":"disabled"})", token)};
  for (const auto& res : single) {
    EXPECT_EQ(res.status, 409) << res.body;
    EXPECT_EQ(res.error_code(), "last_admin") << res.body;
  }
  for (const auto& body : {R"({"action":"delete","ids":[")" + only + R"("]})",
                           R"({"action":"disable","ids":[")" + only + R"("]})",
                           R"({"action":"set_role","role":"user","ids":[")" + only + R"("]})"}) {
    auto res = bulk(body);
    ASSERT_EQ(res.status, 200) << body << " -> " << res.body;
    const auto answer = res.json();
    const auto& result = answer.at("results").at(0);
    EXPECT_FALSE(result.at("ok").as_bool()) << res.body;
    EXPECT_EQ(result.at("error").at("code").as_string(), "last_admin") << res.body;
  }
  // A disabled admin does not count.
  auto standby = client.post("/api/ml/admin/users",
                             R"({"email":"standby@users.test","name":"Standby Admin","password":")" +
                                 std::string(kPassword) + R"(","role":"admin","status":"disabled"})",
                             token);
  ASSERT_EQ(standby.status, 201) << standby.body;
  const std::string standby_id(standby.json().at("id").as_string());
  EXPECT_EQ(client.patch(path, R"({"role":"user"})", token).error_code(), "last_admin");

  auto me = client.get("/api/auth/me", token);
  ASSERT_EQ(me.status, 200) << "the admin's own token still works: nothing changed";
  EXPECT_EQ(me.json().at("role").as_string(), "admin");
  EXPECT_EQ(me.json().at("status").as_string(), "active");

  // With a second active admin, a bulk demotion of both stops at the last one.
  ASSERT_EQ(client.patch("/api/ml/admin/users/" + standby_id, R"({"status":"active"})", token).status, 200);
  auto both =
      bulk(R"({"action":"set_role","role":"user","ids":[")" + standby_id + R"(",")" + only + R"("]})");
  ASSERT_EQ(both.status, 200) << both.body;
  EXPECT_TRUE(both.json().at("results").at(0).at("ok").as_bool()) << both.body;
  EXPECT_FALSE(both.json().at("results").at(1).at("ok").as_bool()) << both.body;
  EXPECT_EQ(both.json().at("results").at(1).at("error").at("code").as_string(), "last_admin");
  EXPECT_EQ(client.get("/api/auth/me", token).json().at("role").as_string(), "admin");
  EXPECT_EQ(client.get("/api/ml/admin/users/" + standby_id, token).json().at("role").as_string(), "user");
}

}  // namespace
}  // namespace mladmin::test

#include "api/users.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <unordered_set>

#include "accounts/accounts.hpp"
#include "api/json.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "store/store.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;

namespace {

accounts::Actor actor_of(const auth::Caller& caller) {
  return {caller.id, caller.email};
}

domain::Role role_field(const boost::json::value& v, std::string_view field) {
  if (!v.is_string()) {
    throw field_error(std::string(field), "must be one of user, ml_admin, admin");
  }
  auto role = domain::parse_role(v.as_string());
  if (!role) {
    throw field_error(std::string(field),
                      "must be one of user, ml_admin, admin, not '" + std::string(v.as_string()) + "'");
  }
  return *role;
}

domain::UserStatus status_field(const boost::json::value& v, std::string_view field) {
  const auto status = v.is_string() ? domain::parse_user_status(v.as_string()) : std::nullopt;
  if (!status) {
    throw field_error(std::string(field), "must be active or disabled");
  }
  return *status;
}

struct SortSpec {
  store::UserSortKey key;
  bool descending;
  const char* name;
};

SortSpec parse_sort(std::string_view text) {
  static constexpr struct {
    const char* name;
    store::UserSortKey key;
  } kKeys[] = {{"createdAt", store::UserSortKey::created_at},
               {"email", store::UserSortKey::email},
               {"name", store::UserSortKey::name},
               {"lastLoginAt", store::UserSortKey::last_login_at}};
  const bool desc = !text.empty() && text[0] == '-';
  const auto bare = desc ? text.substr(1) : text;
  for (const auto& k : kKeys) {
    if (bare == k.name) {
      return {k.key, desc, k.name};
    }
  }
  throw field_error("sort", "must be one of createdAt, email, name, lastLoginAt, optionally prefixed by '-'");
}

std::variant<std::int64_t, std::string> sort_value(const domain::User& u, store::UserSortKey key) {
  switch (key) {
    case store::UserSortKey::created_at:
      return u.created_at;
    case store::UserSortKey::email:
      return domain::normalize_email(u.email);
    case store::UserSortKey::name:
      return u.name;
    case store::UserSortKey::last_login_at:
      return u.last_login_at.value_or(0);
  }
  return u.created_at;
}

}  // namespace

http::Response list_users(http::Request& req, const auth::Caller&, ApiContext& ctx) {
  allow_params(req, {"q", "role", "status", "createdFrom", "createdTo", "sort", "limit", "cursor"});
  store::UserQuery q;
  if (auto text = req.query_param("q")) {
    if (text->size() > 200) {
      throw field_error("q", "must be at most 200 characters");
    }
    q.text = std::string(*text);
  }
  if (auto role = req.query_param("role")) {
    q.role = role_field(boost::json::value(*role), "role");
  }
  if (auto status = req.query_param("status")) {
    q.status = status_field(boost::json::value(*status), "status");
  }
  q.created_from = time_param(req, "createdFrom");
  q.created_to = time_param(req, "createdTo");
  const std::string sort_text(req.query_param("sort").value_or("-createdAt"));
  const SortSpec sort = parse_sort(sort_text);
  q.sort = sort.key;
  q.descending = sort.descending;
  q.limit = limit_param(req);
  if (auto cursor = req.query_param("cursor")) {
    auto pos = decode_cursor(*cursor);
    const auto* s = pos.if_contains("s");
    const auto* id = pos.if_contains("id");
    const auto* v = pos.if_contains("v");
    if (s == nullptr || !s->is_string() || s->as_string() != sort_text || id == nullptr || !id->is_string() ||
        v == nullptr || !(v->is_int64() || v->is_string())) {
      throw field_error("cursor", "belongs to another listing or sort; start again without it");
    }
    store::UserCursor c;
    c.id = std::string(id->as_string());
    if (v->is_int64()) {
      c.value = v->as_int64();
    } else {
      c.value = std::string(v->as_string());
    }
    q.after = std::move(c);
  }
  const auto page = ctx.store.read_value([&](store::Reader& r) { return r.list_users(q); });
  boost::json::array items;
  for (const auto& u : page.items) {
    items.push_back(user_json(u));
  }
  boost::json::object out;
  out["items"] = std::move(items);
  out["nextCursor"] = nullptr;
  if (page.has_more && !page.items.empty()) {
    const auto& last = page.items.back();
    boost::json::object pos{{"s", sort_text}, {"id", last.id}};
    std::visit([&](const auto& v) { pos["v"] = v; }, sort_value(last, sort.key));
    out["nextCursor"] = encode_cursor(pos);
  }
  return json_response(200, out);
}

http::Response create_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  JsonBody body(req);
  body.allow({"email", "name", "password", "role", "status"});
  accounts::NewUser nu;
  nu.email = body.required_string("email");
  nu.name = body.required_string("name");
  nu.password = body.required_string("password");
  if (const auto* role = body.get("role")) {
    nu.role = role_field(*role, "role");
  }
  if (const auto* status = body.get("status")) {
    nu.status = status_field(*status, "status");
  }
  const auto user = ctx.accounts.create(nu, actor_of(caller));
  auto res = json_response(201, user_json(user));
  res.header("Location", "/api/ml/admin/users/" + user.id);
  return res;
}

http::Response get_user(http::Request& req, const auth::Caller&, ApiContext& ctx) {
  const auto user = ctx.store.read_value([&](store::Reader& r) { return r.find_user(req.param("id")); });
  if (!user) {
    throw domain::not_found("user");
  }
  return json_response(200, user_json(*user));
}

http::Response update_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  JsonBody body(req);
  body.allow({"name", "role", "status", "password"});
  accounts::UserChange change;
  change.name = body.optional_string("name");
  change.password = body.optional_string("password");
  if (const auto* role = body.get("role")) {
    change.role = role_field(*role, "role");
  }
  if (const auto* status = body.get("status")) {
    change.status = status_field(*status, "status");
  }
  if (!change.name && !change.password && !change.role && !change.status) {
    throw Error(ErrorKind::bad_request, "empty_change", "send at least one of name, role, status, password");
  }
  const auto user = ctx.accounts.update(req.param("id"), change, actor_of(caller));
  return json_response(200, user_json(user));
}

http::Response delete_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  ctx.accounts.remove(req.param("id"), actor_of(caller));
  http::Response res;
  res.status = 204;
  return res;
}

http::Response bulk_users(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  JsonBody body(req);
  body.allow({"ids", "action", "role"});
  const std::string action_text = body.required_string("action");
  accounts::BulkAction action;
  if (action_text == "set_role") {
    action = accounts::BulkAction::set_role;
  } else if (action_text == "disable") {
    action = accounts::BulkAction::disable;
  } else if (action_text == "enable") {
    action = accounts::BulkAction::enable;
  } else if (action_text == "delete") {
    action = accounts::BulkAction::remove;
  } else {
    throw field_error("action", "must be one of set_role, disable, enable, delete");
  }
  std::optional<domain::Role> role;
  if (const auto* r = body.get("role")) {
    role = role_field(*r, "role");
  }
  if (action == accounts::BulkAction::set_role && !role) {
    throw field_error("role", "is required when action is set_role");
  }
  if (action != accounts::BulkAction::set_role && role) {
    throw field_error("role", "is only allowed when action is set_role");
  }
  const auto* ids_value = body.get("ids");
  if (ids_value == nullptr) {
    throw field_error("ids", "is required");
  }
  if (!ids_value->is_array() || ids_value->as_array().empty() || ids_value->as_array().size() > 500) {
    throw field_error("ids", "must be an array of 1 to 500 user ids");
  }
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  for (const auto& v : ids_value->as_array()) {
    if (!v.is_string()) {
      throw field_error("ids", "must contain only strings");
    }
    std::string id(v.as_string());
    if (seen.insert(id).second) {
      ids.push_back(std::move(id));
    }
  }
  const auto outcomes = ctx.accounts.bulk(ids, action, role, actor_of(caller));
  boost::json::array results;
  std::size_t ok = 0;
  for (const auto& o : outcomes) {
    boost::json::object r{{"id", o.id}};
    if (o.error) {
      r["ok"] = false;
      r["error"] = {{"code", o.error->code()}, {"message", o.error->what()}};
    } else {
      r["ok"] = true;
      ++ok;
    }
    results.push_back(std::move(r));
  }
  boost::json::object out{{"action", action_text},
                          {"succeeded", ok},
                          {"failed", outcomes.size() - ok},
                          {"results", std::move(results)}};
  return json_response(200, out);
}

http::Response list_audit(http::Request& req, const auth::Caller&, ApiContext& ctx) {
  allow_params(req, {"limit", "cursor", "targetId"});
  store::AuditQuery q;
  q.limit = limit_param(req);
  if (auto t = req.query_param("targetId")) {
    q.target_id = std::string(*t);
  }
  if (auto cursor = req.query_param("cursor")) {
    auto pos = decode_cursor(*cursor);
    const auto* id = pos.if_contains("before");
    if (id == nullptr || !id->is_string()) {
      throw field_error("cursor", "belongs to another listing; start again without it");
    }
    q.before_id = std::string(id->as_string());
  }
  q.limit += 1;
  auto entries = ctx.store.read_value([&](store::Reader& r) { return r.list_audit(q); });
  const bool more = entries.size() == q.limit;
  if (more) {
    entries.pop_back();
  }
  boost::json::array items;
  for (const auto& e : entries) {
    boost::system::error_code ec;
    auto details = boost::json::parse(e.details_json, ec);
    items.push_back(
        boost::json::object{{"id", e.id},
                            {"at", domain::format_iso8601(e.at)},
                            {"actorId", e.actor_id ? boost::json::value(*e.actor_id) : nullptr},
                            {"actor", e.actor_label},
                            {"action", e.action},
                            {"targetType", e.target_type},
                            {"targetId", e.target_id ? boost::json::value(*e.target_id) : nullptr},
                            {"details", ec ? boost::json::value(boost::json::object()) : details}});
  }
  boost::json::object out{{"items", std::move(items)}, {"nextCursor", nullptr}};
  if (more && !entries.empty()) {
    out["nextCursor"] = encode_cursor({{"before", entries.back().id}});
  }
  return json_response(200, out);
}

}  // namespace mladmin::api

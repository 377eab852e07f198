#include "api/json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/token.hpp"
#include "domain/error.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;

namespace {

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  auto type = ct.substr(0, semi);
  while (!type.empty() && type.back() == ' ') {
    type.remove_suffix(1);
  }
  if (type.size() != 16) {
    return false;
  }
  constexpr std::string_view kJson = "application/json";
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != kJson[i]) {
      return false;
    }
  }
  return true;
}

const char* kind_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "something else";
}

}  // namespace

JsonBody::JsonBody(const http::Request& req) {
  const auto ct = req.header("content-type");
  if (!ct || !is_json_content_type(*ct)) {
    throw Error(ErrorKind::unsupported_media_type, "unsupported_media_type",
                "the request body must be JSON, sent with 'Content-Type: application/json'");
  }
  boost::system::error_code ec;
  auto value = boost::json::parse(req.body, ec);
  if (ec) {
    throw Error(ErrorKind::bad_request, "malformed_json",
                "the request body is not valid JSON: " + ec.message());
  }
  if (!value.is_object()) {
    throw Error(ErrorKind::bad_request, "malformed_json",
                std::string("the request body must be a JSON object, not ") + kind_name(value));
  }
  obj_ = std::move(value.as_object());
}

JsonBody& JsonBody::allow(std::initializer_list<std::string_view> names) {
  for (const auto& kv : obj_) {
    bool known = false;
    for (auto n : names) {
      known = known || kv.key() == n;
    }
    if (!known) {
      throw std::move(
          Error(ErrorKind::bad_request, "unknown_field", "unknown field '" + std::string(kv.key()) + "'")
              .with("field", std::string(kv.key())));
    }
  }
  return *this;
}

bool JsonBody::has(std::string_view name) const {
  return obj_.contains(name);
}

const boost::json::value* JsonBody::get(std::string_view name) const {
  return obj_.if_contains(name);
}

std::string JsonBody::required_string(std::string_view name) const {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr) {
    throw field_error(std::string(name), "is required");
  }
  if (!v->is_string()) {
    throw field_error(std::string(name), std::string("must be a string, not ") + kind_name(*v));
  }
  return std::string(v->as_string());
}

std::optional<std::string> JsonBody::optional_string(std::string_view name) const {
  if (!obj_.contains(name)) {
    return std::nullopt;
  }
  return required_string(name);
}

std::optional<bool> JsonBody::optional_bool(std::string_view name) const {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_bool()) {
    throw field_error(std::string(name), std::string("must be true or false, not ") + kind_name(*v));
  }
  return v->as_bool();
}

http::Response json_response(int status, const boost::json::value& body) {
  http::Response r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

boost::json::value timestamp_json(std::optional<std::int64_t> ms) {
  if (!ms) {
    return nullptr;
  }
  return boost::json::value(domain::format_iso8601(*ms));
}

boost::json::object user_json(const domain::User& u) {
  boost::json::object o;
  o["id"] = u.id;
  o["email"] = u.email;
  o["name"] = u.name;
  o["role"] = domain::to_string(u.role);
  o["status"] = domain::to_string(u.status);
  o["createdAt"] = timestamp_json(u.created_at);
  o["updatedAt"] = timestamp_json(u.updated_at);
  o["lastLoginAt"] = timestamp_json(u.last_login_at);
  return o;
}

std::size_t limit_param(const http::Request& req) {
  const auto v = req.query_param("limit");
  if (!v) {
    return 50;
  }
  std::size_t n = 0;
  if (v->empty() || v->size() > 6) {
    throw field_error("limit", "must be a whole number from 1 to 500");
  }
  for (char c : *v) {
    if (c < '0' || c > '9') {
      throw field_error("limit", "must be a whole number from 1 to 500");
    }
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n < 1 || n > 500) {
    throw field_error("limit", "must be a whole number from 1 to 500");
  }
  return n;
}

void allow_params(const http::Request& req, std::initializer_list<std::string_view> names) {
  for (const auto& [key, value] : req.query) {
    bool known = false;
    for (auto n : names) {
      known = known || key == n;
    }
    if (!known) {
      throw std::move(
          Error(ErrorKind::bad_request, "unknown_parameter", "unknown query parameter '" + key + "'")
              .with("field", key));
    }
  }
}

std::optional<std::int64_t> time_param(const http::Request& req, std::string_view name) {
  const auto v = req.query_param(name);
  if (!v) {
    return std::nullopt;
  }
  auto ms = domain::parse_iso8601(*v);
  if (!ms) {
    throw field_error(std::string(name),
                      "must be an ISO 8601 date or time such as 2026-01-31 or 2026-01-31T12:00:00Z");
  }
  return ms;
}

std::string encode_cursor(const boost::json::object& position) {
  return auth::base64url_encode(boost::json::serialize(position));
}

boost::json::object decode_cursor(std::string_view cursor) {
  auto bytes = auth::base64url_decode(cursor);
  if (bytes) {
    boost::system::error_code ec;
    auto v = boost::json::parse(*bytes, ec);
    if (!ec && v.is_object()) {
      return std::move(v.as_object());
    }
  }
  throw field_error("cursor", "is not a cursor this server handed out; start again without it");
}

std::optional<std::pair<std::int64_t, std::string>> time_id_cursor(const http::Request& req) {
  const auto cursor = req.query_param("cursor");
  if (!cursor) {
    return std::nullopt;
  }
  auto pos = decode_cursor(*cursor);
  const auto* c = pos.if_contains("c");
  const auto* id = pos.if_contains("id");
  if (c == nullptr || !c->is_int64() || id == nullptr || !id->is_string()) {
    throw field_error("cursor", "belongs to another listing; start again without it");
  }
  return std::make_pair(c->as_int64(), std::string(id->as_string()));
}

std::string encode_time_id_cursor(std::int64_t created_at, const std::string& id) {
  return encode_cursor({{"c", created_at}, {"id", id}});
}

}  // namespace mladmin::api

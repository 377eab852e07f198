#include "api/json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/token.hpp"
#include "domain/error.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;

bool media_type_is(std::string_view content_type, std::string_view media_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) {
    type.remove_prefix(1);
  }
  if (type.size() != media_type.size()) {
    return false;
  }
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != media_type[i]) {
      return false;
    }
  }
  return true;
}

JsonBody::JsonBody(const http::Request& req) {
  const auto ct = req.header("content-type");
  if (!ct || !media_type_is(*ct, "application/json")) {
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
                std::string("the request body must be a JSON object, not ") + util::json_kind_name(value));
  }
  obj_ = std::move(value.as_object());
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

#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "domain/user.hpp"
#include "http/message.hpp"
#include "util/json_fields.hpp"

namespace mladmin::api {

/// A request's JSON object body with typed, named-field access (util::JsonFields). Every failure
/// throws a 400/415 domain::Error whose message names the field.
class JsonBody final : public util::JsonFields {
 public:
  /// Checks Content-Type (415 unless application/json) and parses (400 when malformed or not an
  /// object).
  explicit JsonBody(const http::Request& req);
};

/// True when a Content-Type header value names `media_type` (lowercase), ignoring case and any
/// parameters such as "; charset=utf-8".
bool media_type_is(std::string_view content_type, std::string_view media_type);

/// A JSON response with the given status.
http::Response json_response(int status, const boost::json::value& body);

/// The public form of a user (never the password hash or token version).
boost::json::object user_json(const domain::User& user);

/// ISO 8601 or null.
boost::json::value timestamp_json(std::optional<std::int64_t> ms);

/// Query-string helpers: each throws a 400 naming the parameter.
std::size_t limit_param(const http::Request& req);
/// Refuses any query parameter not listed.
void allow_params(const http::Request& req, std::initializer_list<std::string_view> names);
std::optional<std::int64_t> time_param(const http::Request& req, std::string_view name);

/// The `cursor` parameter of a newest-first listing keyed by (created_at, id), or nullopt when
/// absent; 400 naming the parameter when it is not one such cursor.
std::optional<std::pair<std::int64_t, std::string>> time_id_cursor(const http::Request& req);
/// The cursor time_id_cursor reads back.
std::string encode_time_id_cursor(std::int64_t created_at, const std::string& id);

/// Opaque cursors: base64url of a small JSON object.
std::string encode_cursor(const boost::json::object& position);
boost::json::object decode_cursor(std::string_view cursor);

}  // namespace mladmin::api

#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mladmin::util {

/// Typed, named-field access to a JSON object: a request body or one line of an import. Every
/// failure throws a 400 domain::Error whose message and `details.field` name the field, so that
/// the API and the importer word the same mistake the same way.
class JsonFields {
 public:
  JsonFields() = default;
  explicit JsonFields(boost::json::object object) : obj_(std::move(object)) {}

  /// Refuses any field not listed (400 "unknown field 'x'"); returns *this for chaining.
  JsonFields& allow(std::span<const std::string_view> names);
  JsonFields& allow(std::initializer_list<std::string_view> names);

  bool has(std::string_view name) const;
  std::string required_string(std::string_view name) const;
  std::optional<std::string> optional_string(std::string_view name) const;
  std::optional<bool> optional_bool(std::string_view name) const;
  /// The raw value, or null when the field is absent.
  const boost::json::value* get(std::string_view name) const;

 protected:
  boost::json::object obj_;
};

/// "a string", "an array", "null"… for messages such as "must be a string, not a number".
const char* json_kind_name(const boost::json::value& value);

}  // namespace mladmin::util

#include "util/json_fields.hpp"

#include "domain/error.hpp"

namespace mladmin::util {

using domain::field_error;

const char* json_kind_name(const boost::json::value& v) {
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

JsonFields& JsonFields::allow(std::span<const std::string_view> names) {
  for (const auto& kv : obj_) {
    bool known = false;
    for (auto n : names) {
      known = known || kv.key() == n;
    }
    if (!known) {
      throw std::move(domain::Error(domain::ErrorKind::bad_request, "unknown_field",
                                    "unknown field '" + std::string(kv.key()) + "'")
                          .with("field", std::string(kv.key())));
    }
  }
  return *this;
}

JsonFields& JsonFields::allow(std::initializer_list<std::string_view> names) {
  return allow(std::span<const std::string_view>(names.begin(), names.size()));
}

bool JsonFields::has(std::string_view name) const {
  return obj_.contains(name);
}

const boost::json::value* JsonFields::get(std::string_view name) const {
  return obj_.if_contains(name);
}

std::string JsonFields::required_string(std::string_view name) const {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr) {
    throw field_error(std::string(name), "is required");
  }
  if (!v->is_string()) {
    throw field_error(std::string(name), std::string("must be a string, not ") + json_kind_name(*v));
  }
  return std::string(v->as_string());
}

std::optional<std::string> JsonFields::optional_string(std::string_view name) const {
  if (!obj_.contains(name)) {
    return std::nullopt;
  }
  return required_string(name);
}

std::optional<bool> JsonFields::optional_bool(std::string_view name) const {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_bool()) {
    throw field_error(std::string(name), std::string("must be true or false, not ") + json_kind_name(*v));
  }
  return v->as_bool();
}

}  // namespace mladmin::util

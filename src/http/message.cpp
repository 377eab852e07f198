#include "http/message.hpp"

namespace mladmin::http {

std::optional<std::string_view> Request::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) {
    return std::nullopt;
  }
  return std::string_view(it->second);
}

const std::string& Request::param(const std::string& name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

}  // namespace mladmin::http

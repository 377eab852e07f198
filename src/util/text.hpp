#pragma once

#include <string_view>

namespace mladmin::util {

/// `s` without the spaces and horizontal tabs around it: HTTP's optional whitespace (RFC 9110
/// §5.6.3), as in the elements of a comma-separated header value.
inline std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace mladmin::util

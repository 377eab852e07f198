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

/// `s` without spaces and tabs around it and without the line ending (CR, LF) at its end: a
/// header line or an error text as a client library hands it over.
inline std::string_view trim_line(std::string_view s) {
  s = trim_ows(s);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace mladmin::util

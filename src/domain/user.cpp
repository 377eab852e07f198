#include "domain/user.hpp"

#include <cctype>
#include <cstdint>
#include <cstring>

namespace mladmin::domain {

std::string normalize_email(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) {
    email.remove_prefix(1);
  }
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) {
    email.remove_suffix(1);
  }
  std::string out(email);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::optional<std::string> email_problem(std::string_view email) {
  if (email.empty()) {
    return "must not be empty";
  }
  if (email.size() > 254) {
    return "must be at most 254 characters";
  }
  if (!valid_utf8(email)) {
    return "must be valid UTF-8";
  }
  for (const char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      return "must not contain spaces or control characters";
    }
  }
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return "must be an email address like name@example.com";
  }
  const auto local = email.substr(0, at);
  const auto domain = email.substr(at + 1);
  if (local.empty() || local.size() > 64) {
    return "must be an email address like name@example.com";
  }
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return "must be an email address like name@example.com";
  }
  return std::nullopt;
}

std::optional<std::string> name_problem(std::string_view name) {
  if (!valid_utf8(name)) {
    return "must be valid UTF-8";
  }
  bool has_visible = false;
  std::size_t chars = 0;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return "must not contain control characters";
    }
    if ((u & 0xC0) != 0x80) {
      ++chars;
    }
    if (u != ' ') {
      has_visible = true;
    }
  }
  if (!has_visible) {
    return "must not be empty";
  }
  if (chars > 200) {
    return "must be at most 200 characters";
  }
  return std::nullopt;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    if (i + 8 <= n) {  // eight ASCII bytes at once: most text is ASCII (docs/performance.md)
      std::uint64_t w = 0;
      std::memcpy(&w, text.data() + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) {
      return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace mladmin::domain

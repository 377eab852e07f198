#include "sync/shape.hpp"

#include <sodium.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>

namespace mladmin::sync {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// True when `text` needs no folding: no blank at either end, and no blank but single spaces.
bool is_normal(std::string_view text) {
  if (text.empty()) {
    return true;
  }
  if (is_space(text.front()) || is_space(text.back())) {
    return false;
  }
  bool after_space = false;
  for (char c : text) {
    // Every blank is at most ' ' (0x20): one comparison for the other characters.
    if (static_cast<unsigned char>(c) > ' ' || !is_space(c)) {
      after_space = false;
    } else if (c != ' ' || after_space) {
      return false;
    } else {
      after_space = true;
    }
  }
  return true;
}

}  // namespace

std::string normalize_text(std::string_view text) {
  if (is_normal(text)) {
    return std::string(text);  // the common case: one copy
  }
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    std::size_t j = i;
    while (j < text.size() && !is_space(text[j])) {
      ++j;
    }
    if (j > i) {
      if (!out.empty()) {
        out.push_back(' ');
      }
      out.append(text.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

std::string content_hash(std::initializer_list<std::string_view> parts) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  for (auto part : parts) {
    // Length-prefixed so that moving text from one part to the next changes the hash.
    const std::uint64_t n = part.size();
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(&n), sizeof n);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  }
  unsigned char digest[32];
  crypto_generichash_final(&state, digest, sizeof digest);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

Shaped shape(const domain::JournalEntry& e) {
  boost::json::array tags;
  for (const auto& t : e.tags) {
    tags.emplace_back(t);
  }
  boost::json::object meta{{"mood", e.mood ? boost::json::value(*e.mood) : nullptr},
                           {"tags", std::move(tags)},
                           {"createdAt", domain::format_iso8601(e.created_at)},
                           {"updatedAt", domain::format_iso8601(e.updated_at)}};
  return {normalize_text(e.title), normalize_text(e.body), boost::json::serialize(meta)};
}

Shaped shape(const domain::Goal& g) {
  boost::json::object meta{{"status", g.status},
                           {"targetDate", g.target_date ? boost::json::value(*g.target_date) : nullptr},
                           {"createdAt", domain::format_iso8601(g.created_at)},
                           {"updatedAt", domain::format_iso8601(g.updated_at)}};
  return {normalize_text(g.title), normalize_text(g.description), boost::json::serialize(meta)};
}

}  // namespace mladmin::sync

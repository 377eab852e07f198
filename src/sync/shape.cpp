#include "sync/shape.hpp"

#include <sodium.h>

#include <bit>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstring>

namespace mladmin::sync {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

/// 0x80 in each byte of `w` that is zero, 0 in the others: exact, no borrow from one byte to
/// the next (the usual `(w - 0x01..) & ~w & 0x80..` marks some bytes after a zero byte too).
std::uint64_t zero_bytes(std::uint64_t w) {
  return ~(((w & ~kHighBits) + ~kHighBits) | w | ~kHighBits);
}

/// True when `text` needs no folding: no blank at either end, and no blank but single spaces.
/// Eight bytes at a time while they hold no byte below ' ' (docs/performance.md, "Shaping a
/// record"): a space in them is wrong only beside another space.
bool is_normal(std::string_view text) {
  if (text.empty()) {
    return true;
  }
  if (is_space(text.front()) || is_space(text.back())) {
    return false;
  }
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::uint64_t space_before = 0;  // 0x80 when the byte before the word is a space
    for (; i + 8 <= text.size(); i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, text.data() + i, 8);
      if (zero_bytes(w & 0xE0E0E0E0E0E0E0E0ULL) != 0) {
        break;  // a byte below ' ' (a tab, a line break, a control character): byte by byte
      }
      const std::uint64_t spaces = zero_bytes(w ^ 0x2020202020202020ULL);
      if ((spaces & ((spaces << 8) | space_before)) != 0) {
        return false;
      }
      space_before = spaces >> 56;
    }
  }
  bool after_space = i > 0 && text[i - 1] == ' ';
  for (char c : text.substr(i)) {
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

/// Every run of blanks folded to one space, none at either end.
std::string fold_blanks(std::string_view text) {
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

}  // namespace

std::string normalize_text(std::string_view text) {
  return is_normal(text) ? std::string(text) : fold_blanks(text);  // the common case: one copy
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

void normalize_text_in_place(std::string& text) {
  if (!is_normal(text)) {
    text = fold_blanks(text);
  }
}

namespace {

std::string metadata_of(const domain::JournalEntry& e) {
  boost::json::array tags;
  for (const auto& t : e.tags) {
    tags.emplace_back(t);
  }
  boost::json::object meta{{"mood", e.mood ? boost::json::value(*e.mood) : nullptr},
                           {"tags", std::move(tags)},
                           {"createdAt", domain::format_iso8601(e.created_at)},
                           {"updatedAt", domain::format_iso8601(e.updated_at)}};
  return boost::json::serialize(meta);
}

std::string metadata_of(const domain::Goal& g) {
  boost::json::object meta{{"status", g.status},
                           {"targetDate", g.target_date ? boost::json::value(*g.target_date) : nullptr},
                           {"createdAt", domain::format_iso8601(g.created_at)},
                           {"updatedAt", domain::format_iso8601(g.updated_at)}};
  return boost::json::serialize(meta);
}

}  // namespace

Shaped shape(const domain::JournalEntry& e) {
  return {normalize_text(e.title), normalize_text(e.body), metadata_of(e)};
}

Shaped shape(const domain::Goal& g) {
  return {normalize_text(g.title), normalize_text(g.description), metadata_of(g)};
}

Shaped shape(domain::JournalEntry&& e) {
  normalize_text_in_place(e.title);
  normalize_text_in_place(e.body);
  return {std::move(e.title), std::move(e.body), metadata_of(e)};
}

Shaped shape(domain::Goal&& g) {
  normalize_text_in_place(g.title);
  normalize_text_in_place(g.description);
  return {std::move(g.title), std::move(g.description), metadata_of(g)};
}

}  // namespace mladmin::sync

#include "domain/stats.hpp"

namespace mladmin::domain {

std::string_view to_string(StatsBucket bucket) {
  return bucket == StatsBucket::hour ? "hour" : "day";
}

std::optional<StatsBucket> parse_stats_bucket(std::string_view text) {
  if (text == "hour") {
    return StatsBucket::hour;
  }
  if (text == "day") {
    return StatsBucket::day;
  }
  return std::nullopt;
}

std::int64_t bucket_ms(StatsBucket bucket) {
  return bucket == StatsBucket::hour ? kHourMs : kDayMs;
}

TimestampMs bucket_start(TimestampMs t, StatsBucket bucket) {
  const auto size = bucket_ms(bucket);
  auto q = t / size;
  if (t % size < 0) {
    --q;  // C++ division truncates toward zero; buckets floor
  }
  return q * size;
}

std::int64_t bucket_count(TimestampMs from, TimestampMs to, StatsBucket bucket) {
  return (bucket_start(to - 1, bucket) - bucket_start(from, bucket)) / bucket_ms(bucket) + 1;
}

StatsBucket default_bucket(TimestampMs from, TimestampMs to) {
  return to - from <= 2 * kDayMs ? StatsBucket::hour : StatsBucket::day;
}

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Whether a number may start at s[i]: at the start, or after a space or an opening parenthesis.
bool starts_word(std::string_view s, std::size_t i) {
  return i == 0 || s[i - 1] == ' ' || s[i - 1] == '(';
}

/// Whether a number ending before s[i] is a whole word: at the end, before a space, a comma, a
/// semicolon or a closing parenthesis, or before a period or colon that ends a sentence or clause
/// (so that "10.0.0.1" and "12:30" stay as they are).
bool ends_word(std::string_view s, std::size_t i) {
  if (i == s.size() || s[i] == ' ' || s[i] == ',' || s[i] == ';' || s[i] == ')') {
    return true;
  }
  return (s[i] == '.' || s[i] == ':') && (i + 1 == s.size() || s[i + 1] == ' ');
}

}  // namespace

std::string failure_kind(std::string_view reason) {
  std::string unquoted;
  const auto first = reason.find('\'');
  const auto last = reason.rfind('\'');
  if (first != std::string_view::npos && last > first) {
    unquoted.append(reason.substr(0, first)).append("'…'").append(reason.substr(last + 1));
  } else {
    unquoted.assign(reason);
  }
  std::string out;
  out.reserve(unquoted.size());
  const std::string_view s = unquoted;
  std::size_t i = 0;
  while (i < s.size()) {
    const bool at_word_start = starts_word(s, i);
    std::size_t j = i;
    if (at_word_start && s[j] == '-' && j + 1 < s.size() && is_digit(s[j + 1])) {
      ++j;
    }
    if (at_word_start && j < s.size() && is_digit(s[j])) {
      std::size_t end = j;
      while (end < s.size() && is_digit(s[end])) {
        ++end;
      }
      const bool whole_word = ends_word(s, end);
      const auto rest = s.substr(end);
      const bool size_limit = rest.starts_with(" KiB") || rest.starts_with(" MiB");
      if (whole_word && !size_limit) {
        out += 'N';
        i = end;
        continue;
      }
      out.append(s.substr(i, end - i));
      i = end;
      continue;
    }
    out += s[i];
    ++i;
  }
  return out;
}

}  // namespace mladmin::domain

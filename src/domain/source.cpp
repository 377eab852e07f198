#include "domain/source.hpp"

#include "domain/user.hpp"

namespace mladmin::domain {

std::string_view to_string(SourceType type) {
  return type == SourceType::journal_entries ? "journal_entries" : "goals";
}

std::optional<SourceType> parse_source_type(std::string_view text) {
  if (text == "journal_entries") {
    return SourceType::journal_entries;
  }
  if (text == "goals") {
    return SourceType::goals;
  }
  return std::nullopt;
}

std::string_view to_string(GoalStatus status) {
  return status == GoalStatus::open ? "open" : "done";
}

std::optional<GoalStatus> parse_goal_status(std::string_view text) {
  if (text == "open") {
    return GoalStatus::open;
  }
  if (text == "done") {
    return GoalStatus::done;
  }
  return std::nullopt;
}

namespace {

bool blank(std::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') {
      return false;
    }
  }
  return true;
}

std::optional<std::string> text_problem(std::string_view field, std::string_view text, bool required) {
  if (!valid_utf8(text)) {
    return std::string(field) + " is not valid UTF-8";
  }
  if (required && blank(text)) {
    return std::string(field) + " is empty";
  }
  if (text.size() > kMaxTextBytes) {
    return std::string(field) + " is longer than 64 KiB";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> sync_problem(const JournalEntry& e) {
  if (auto p = text_problem("title", e.title, true)) {
    return p;
  }
  if (auto p = text_problem("body", e.body, true)) {
    return p;
  }
  if (e.mood && (*e.mood < 1 || *e.mood > 5)) {
    return "mood " + std::to_string(*e.mood) + " is outside 1-5";
  }
  for (const auto& tag : e.tags) {
    if (auto p = text_problem("a tag", tag, true)) {
      return p;
    }
  }
  return std::nullopt;
}

std::optional<std::string> sync_problem(const Goal& g) {
  if (auto p = text_problem("title", g.title, true)) {
    return p;
  }
  if (auto p = text_problem("description", g.description, false)) {
    return p;
  }
  if (!parse_goal_status(g.status)) {
    return "status '" + g.status + "' is neither open nor done";
  }
  if (g.target_date && !valid_date(*g.target_date)) {
    return "targetDate is not a YYYY-MM-DD date";
  }
  return std::nullopt;
}

bool valid_date(std::string_view text) {
  if (text.size() != 10) {
    return false;
  }
  const auto ms = parse_iso8601(text);
  return ms && format_iso8601(*ms).substr(0, 10) == text;
}

}  // namespace mladmin::domain

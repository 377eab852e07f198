#include "sources/records.hpp"

#include <boost/json/array.hpp>

#include "domain/error.hpp"

namespace mladmin::sources {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;

namespace {

constexpr std::size_t kMaxTags = 50;

void refuse_unsyncable(const std::optional<std::string>& problem) {
  if (problem) {
    throw Error(ErrorKind::unprocessable, "invalid_record", "the record cannot be synced: " + *problem);
  }
}

std::optional<std::int64_t> optional_int(const util::JsonFields& fields, std::string_view name) {
  const auto* v = fields.get(name);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->as_int64();
  }
  if (v->is_uint64()) {
    throw field_error(std::string(name), "is out of range");
  }
  throw field_error(std::string(name), "must be a whole number or null");
}

std::vector<std::string> tags_field(const util::JsonFields& fields) {
  std::vector<std::string> tags;
  const auto* v = fields.get("tags");
  if (v == nullptr || v->is_null()) {
    return tags;
  }
  if (!v->is_array()) {
    throw field_error("tags", "must be an array of strings");
  }
  if (v->as_array().size() > kMaxTags) {
    throw field_error("tags", "must hold at most " + std::to_string(kMaxTags) + " tags");
  }
  for (const auto& t : v->as_array()) {
    if (!t.is_string()) {
      throw field_error("tags", "must be an array of strings");
    }
    if (t.as_string().size() > 100) {
      throw field_error("tags", "each tag must be at most 100 characters");
    }
    tags.emplace_back(t.as_string());
  }
  return tags;
}

}  // namespace

void read_fields(const util::JsonFields& fields, domain::JournalEntry& e) {
  e.title = fields.required_string("title");
  e.body = fields.required_string("body");
  e.mood = optional_int(fields, "mood");
  if (e.mood && (*e.mood < 1 || *e.mood > 5)) {
    throw field_error("mood", "must be from 1 to 5, or null");
  }
  e.tags = tags_field(fields);
  refuse_unsyncable(domain::sync_problem(e));
}

void read_fields(const util::JsonFields& fields, domain::Goal& g) {
  g.title = fields.required_string("title");
  g.description = fields.optional_string("description").value_or("");
  g.status = fields.optional_string("status").value_or("open");
  if (!domain::parse_goal_status(g.status)) {
    throw field_error("status", "must be open or done");
  }
  g.target_date.reset();
  if (const auto* v = fields.get("targetDate"); v != nullptr && !v->is_null()) {
    if (!v->is_string() || !domain::valid_date(v->as_string())) {
      throw field_error("targetDate", "must be a date such as 2026-12-31, or null");
    }
    g.target_date = std::string(v->as_string());
  }
  refuse_unsyncable(domain::sync_problem(g));
}

}  // namespace mladmin::sources

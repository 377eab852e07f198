#include "domain/document_filter.hpp"

#include "domain/document_filter_json.hpp"

#include "domain/error.hpp"
#include "domain/search_query.hpp"

namespace mladmin::domain {

namespace {

constexpr std::string_view kNames[] = {"q", "type", "userId", "from", "to", "dateField"};

std::optional<std::string>* field_of(DocumentFilterSpec& spec, std::string_view name) {
  if (name == "q") {
    return &spec.q;
  }
  if (name == "type") {
    return &spec.type;
  }
  if (name == "userId") {
    return &spec.user_id;
  }
  if (name == "from") {
    return &spec.from;
  }
  if (name == "to") {
    return &spec.to;
  }
  if (name == "dateField") {
    return &spec.date_field;
  }
  return nullptr;
}

std::optional<TimestampMs> time_of(const std::optional<std::string>& text, const std::string& field) {
  if (!text) {
    return std::nullopt;
  }
  auto ms = parse_iso8601(*text);
  if (!ms) {
    throw field_error(field, "must be an ISO 8601 date or time such as 2026-01-31 or 2026-01-31T12:00:00Z");
  }
  return ms;
}

}  // namespace

DocumentFilter compile_filter(const DocumentFilterSpec& spec, std::string_view prefix) {
  const std::string p(prefix);
  DocumentFilter out;
  if (spec.q) {
    auto parsed = SearchQuery::parse(*spec.q);
    if (parsed.problem) {
      throw std::move(
          Error(ErrorKind::bad_request, "invalid_query", "field '" + p + "q': " + parsed.problem->message)
              .with("field", p + "q")
              .with("position", std::to_string(parsed.problem->position)));
    }
    if (parsed.query) {
      out.match = parsed.query->to_fts5();
    }
  }
  if (spec.type) {
    out.type = parse_source_type(*spec.type);
    if (!out.type) {
      throw field_error(p + "type", "must be journal_entries or goals");
    }
  }
  if (spec.user_id) {
    if (spec.user_id->empty() || spec.user_id->size() > 200) {
      throw field_error(p + "userId", "must be a user id");
    }
    out.user_id = spec.user_id;
  }
  if (spec.date_field) {
    if (*spec.date_field == "synced") {
      out.date = DocumentDate::synced;
    } else if (*spec.date_field == "source") {
      out.date = DocumentDate::source;
    } else {
      throw field_error(p + "dateField", "must be synced or source");
    }
  }
  out.from = time_of(spec.from, p + "from");
  out.to = time_of(spec.to, p + "to");
  if (out.from && out.to && *out.from >= *out.to) {
    throw field_error(p + "to", "must be later than from");
  }
  return out;
}

boost::json::object filter_spec_json(const DocumentFilterSpec& spec) {
  boost::json::object out;
  DocumentFilterSpec copy = spec;
  for (auto name : kNames) {
    if (const auto* v = field_of(copy, name); v != nullptr && *v) {
      out[name] = **v;
    }
  }
  return out;
}

DocumentFilterSpec filter_spec_from_json(const boost::json::object& object, std::string_view prefix) {
  DocumentFilterSpec spec;
  for (const auto& [key, value] : object) {
    auto* field = field_of(spec, key);
    if (field == nullptr) {
      throw field_error(std::string(prefix) + std::string(key),
                        "is not a filter field; use q, type, userId, from, to or dateField");
    }
    if (value.is_null()) {
      continue;
    }
    if (!value.is_string()) {
      throw field_error(std::string(prefix) + std::string(key), "must be a string");
    }
    *field = std::string(value.as_string());
  }
  return spec;
}

}  // namespace mladmin::domain

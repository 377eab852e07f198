#include "sources/import.hpp"

#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "domain/error.hpp"
#include "sources/records.hpp"
#include "util/json_fields.hpp"

namespace mladmin::sources {

using domain::field_error;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxIdBytes = 128;
constexpr std::string_view kImportFields[] = {"userId", "id", "createdAt", "updatedAt"};

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

/// Ids end up in URLs (/api/journal-entries/:id), so they keep to characters that need no escaping.
bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

/// The JSON object of a line, with the record's and the import's fields allowed.
util::JsonFields line_fields(std::string_view line, std::span<const std::string_view> record_fields) {
  boost::system::error_code ec;
  auto value = boost::json::parse(line, ec);
  if (ec) {
    throw domain::Error(domain::ErrorKind::bad_request, "malformed_json",
                        "the line is not valid JSON: " + ec.message());
  }
  if (!value.is_object()) {
    throw domain::Error(domain::ErrorKind::bad_request, "malformed_json",
                        std::string("the line must be a JSON object, not ") + util::json_kind_name(value));
  }
  util::JsonFields fields(std::move(value.as_object()));
  std::vector<std::string_view> allowed(record_fields.begin(), record_fields.end());
  allowed.insert(allowed.end(), std::begin(kImportFields), std::end(kImportFields));
  fields.allow(allowed);
  return fields;
}

std::optional<domain::TimestampMs> optional_time(const util::JsonFields& fields, std::string_view name) {
  const auto* v = fields.get(name);
  if (v == nullptr || v->is_null()) {
    return std::nullopt;
  }
  const auto ms = v->is_string() ? domain::parse_iso8601(v->as_string()) : std::nullopt;
  if (!ms) {
    throw field_error(std::string(name),
                      "must be an ISO 8601 date or time such as 2026-01-31 or 2026-01-31T12:00:00Z, or null");
  }
  return ms;
}

template <class T>
ParsedLine<T> parse_line(std::string_view line, std::span<const std::string_view> record_fields) {
  const auto fields = line_fields(line, record_fields);
  ParsedLine<T> out;
  out.record.user_id = fields.required_string("userId");
  if (const auto* id = fields.get("id"); id != nullptr && !id->is_null()) {
    if (!id->is_string() || !valid_id(id->as_string())) {
      throw field_error("id", "must be 1 to 128 letters, digits, '-', '_', '.' or ':', or null");
    }
    out.record.id = std::string(id->as_string());
    out.has_id = true;
  }
  const auto created = optional_time(fields, "createdAt");
  const auto updated = optional_time(fields, "updatedAt");
  if (created && updated && *updated < *created) {
    throw field_error("updatedAt", "must not be before createdAt");
  }
  out.has_created_at = created.has_value();
  out.has_updated_at = updated.has_value();
  out.record.created_at = created.value_or(0);
  out.record.updated_at = updated.value_or(0);
  read_fields(fields, out.record);
  return out;
}

/// What differs between the two kinds of record.
template <class T>
struct Kind;

template <>
struct Kind<domain::JournalEntry> {
  static ParsedLine<domain::JournalEntry> parse(std::string_view line) {
    return parse_journal_entry_line(line);
  }
  static auto find(store::Reader& r, const std::string& id) { return r.find_journal_entry(id); }
  static void save(store::Writer& w, std::vector<domain::JournalEntry>& rows) {
    w.save_journal_entries(rows);
  }
};

template <>
struct Kind<domain::Goal> {
  static ParsedLine<domain::Goal> parse(std::string_view line) { return parse_goal_line(line); }
  static auto find(store::Reader& r, const std::string& id) { return r.find_goal(id); }
  static void save(store::Writer& w, std::vector<domain::Goal>& rows) { w.save_goals(rows); }
};

/// Lines read since the last write: the records to write and the lines that failed.
template <class T>
class Batch final {
 public:
  Batch(domain::SourceType type, store::Store& store, const domain::Clock& clock, domain::IdGenerator& ids,
        const ImportOptions& options, ImportReport& report)
      : store_(store), clock_(clock), ids_(ids), options_(options), report_(report) {
    report_.type = type;
  }

  void add(std::size_t line, ParsedLine<T> parsed, std::size_t bytes) {
    pending_.push_back({line, std::move(parsed)});
    bytes_ += bytes;
    flush_if_full();
  }

  void fail(std::size_t line, std::string reason) {
    errors_.push_back({line, std::move(reason)});
    flush_if_full();
  }

  /// Writes the pending records in one transaction and reports the failed lines in line order.
  void flush() {
    if (pending_.empty() && errors_.empty()) {
      return;
    }
    std::size_t created = 0;
    std::size_t updated = 0;
    if (!pending_.empty()) {
      store_.write([&](store::Writer& w) { write(w, created, updated); });
    }
    report_.created += created;
    report_.updated += updated;
    report_.imported += created + updated;
    std::sort(errors_.begin(), errors_.end(),
              [](const LineError& a, const LineError& b) { return a.line < b.line; });
    for (auto& e : errors_) {
      ++report_.failed;
      if (options_.on_error) {
        options_.on_error(e);
      }
      if (report_.errors.size() < options_.kept_errors) {
        report_.errors.push_back(std::move(e));
      }
    }
    pending_.clear();
    errors_.clear();
    bytes_ = 0;
  }

 private:
  struct Pending {
    std::size_t line;
    ParsedLine<T> parsed;
  };

  void flush_if_full() {
    if (pending_.size() >= options_.batch_records || bytes_ >= options_.batch_bytes ||
        errors_.size() >= options_.batch_records) {
      flush();
    }
  }

  void write(store::Writer& w, std::size_t& created, std::size_t& updated) {
    const auto now = clock_.now_ms();
    std::unordered_map<std::string, bool> owners;  // user id -> exists
    struct Known {
      std::string user_id;
      domain::TimestampMs created_at;
    };
    std::unordered_map<std::string, Known> seen;  // ids written earlier in this batch
    std::vector<T> rows;
    rows.reserve(pending_.size());
    for (auto& [line, parsed] : pending_) {
      T& r = parsed.record;
      auto [owner, fresh] = owners.try_emplace(r.user_id, false);
      if (fresh) {
        owner->second = w.find_user(r.user_id).has_value();
      }
      if (!owner->second) {
        errors_.push_back({line, "field 'userId': no user has this id"});
        continue;
      }
      std::optional<Known> existing;
      if (!parsed.has_id) {
        r.id = ids_.next();
      } else if (auto it = seen.find(r.id); it != seen.end()) {
        existing = it->second;
      } else if (auto stored = Kind<T>::find(w, r.id)) {
        existing = Known{stored->user_id, stored->created_at};
      }
      if (existing && existing->user_id != r.user_id) {
        errors_.push_back({line, "field 'id': names a record of another user"});
        continue;
      }
      if (!parsed.has_created_at) {
        r.created_at = existing ? existing->created_at : now;
      }
      if (!parsed.has_updated_at) {
        r.updated_at = std::max(now, r.created_at);
      }
      r.deleted_at.reset();
      ++(existing ? updated : created);
      seen.insert_or_assign(r.id, Known{r.user_id, r.created_at});
      rows.push_back(std::move(r));
    }
    Kind<T>::save(w, rows);
  }

  store::Store& store_;
  const domain::Clock& clock_;
  domain::IdGenerator& ids_;
  const ImportOptions& options_;
  ImportReport& report_;
  std::vector<Pending> pending_;
  std::vector<LineError> errors_;
  std::size_t bytes_ = 0;
};

template <class T>
void run_import(std::istream& in, domain::SourceType type, store::Store& store, const domain::Clock& clock,
                domain::IdGenerator& ids, const ImportOptions& options, ImportReport& report) {
  Batch<T> batch(type, store, clock, ids, options, report);
  LineReader reader(in, options.max_line_bytes);
  while (auto line = reader.next()) {
    if (line->too_long) {
      ++report.lines;
      batch.fail(line->number,
                 "the line is longer than the limit of " + std::to_string(options.max_line_bytes) + " bytes");
      continue;
    }
    if (blank(line->text)) {
      continue;
    }
    ++report.lines;
    try {
      batch.add(line->number, Kind<T>::parse(line->text), line->text.size());
    } catch (const domain::Error& e) {
      batch.fail(line->number, e.what());
    }
  }
  batch.flush();
}

}  // namespace

LineReader::LineReader(std::istream& in, std::size_t max_bytes)
    : in_(in), max_bytes_(max_bytes), buffer_(kReadChunk) {}

bool LineReader::fill() {
  if (in_.eof()) {
    return false;
  }
  in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  if (in_.bad()) {
    throw std::runtime_error("the input could not be read");
  }
  pos_ = 0;
  end_ = static_cast<std::size_t>(in_.gcount());
  return end_ > 0;
}

std::optional<LineReader::Line> LineReader::next() {
  line_.clear();
  bool too_long = false;
  bool any = false;  // a line without a final newline still counts
  for (;;) {
    if (pos_ == end_ && !fill()) {
      if (!any) {
        return std::nullopt;
      }
      break;
    }
    any = true;
    const char* start = buffer_.data() + pos_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    const std::size_t n = newline != nullptr ? static_cast<std::size_t>(newline - start) : end_ - pos_;
    // Keep one byte beyond the limit: a "\r" that the newline strips.
    if (!too_long && line_.size() + n <= max_bytes_ + 1) {
      line_.append(start, n);
    } else {
      too_long = true;
      line_.clear();
    }
    pos_ += n;
    if (newline != nullptr) {
      ++pos_;
      break;
    }
  }
  ++number_;
  if (!line_.empty() && line_.back() == '\r') {
    line_.pop_back();
  }
  if (line_.size() > max_bytes_) {
    too_long = true;
    line_.clear();
  }
  std::string_view text(line_);
  if (number_ == 1 && text.starts_with("\xEF\xBB\xBF")) {
    text.remove_prefix(3);
  }
  return Line{number_, text, too_long};
}

ParsedLine<domain::JournalEntry> parse_journal_entry_line(std::string_view line) {
  return parse_line<domain::JournalEntry>(line, kJournalEntryFields);
}

ParsedLine<domain::Goal> parse_goal_line(std::string_view line) {
  return parse_line<domain::Goal>(line, kGoalFields);
}

ImportReport import_ndjson(std::istream& in, domain::SourceType type, store::Store& store,
                           const domain::Clock& clock, domain::IdGenerator& ids,
                           const ImportOptions& options) {
  ImportReport report;
  if (type == domain::SourceType::journal_entries) {
    run_import<domain::JournalEntry>(in, type, store, clock, ids, options, report);
  } else {
    run_import<domain::Goal>(in, type, store, clock, ids, options, report);
  }
  const boost::json::object details{{"type", domain::to_string(type)}, {"lines", report.lines},
                                    {"imported", report.imported},     {"created", report.created},
                                    {"updated", report.updated},       {"failed", report.failed}};
  store.write([&](store::Writer& w) {
    store::AuditEntry e;
    e.id = ids.next();
    e.at = clock.now_ms();
    e.actor_id = options.actor_id;
    e.actor_label = options.actor_label;
    e.action = "source.import";
    e.target_type = std::string(domain::to_string(type));
    e.details_json = boost::json::serialize(details);
    w.insert_audit(e);
  });
  return report;
}

}  // namespace mladmin::sources

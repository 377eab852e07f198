#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/clock.hpp"

namespace mladmin::domain {

/// The two kinds of app data a sync copies (docs/jobs.md).
enum class SourceType { journal_entries, goals };

std::string_view to_string(SourceType type);
std::optional<SourceType> parse_source_type(std::string_view text);

/// A journal entry. `deleted_at` set means a tombstone: the record is gone for its owner, and
/// the next sync removes its document. `change_seq` orders every change of the table, so an
/// incremental sync can take "everything changed after N".
struct JournalEntry {
  std::string id;
  std::string user_id;
  std::string title;
  std::string body;
  std::optional<std::int64_t> mood;  ///< 1-5 when set
  std::vector<std::string> tags;
  TimestampMs created_at = 0;
  TimestampMs updated_at = 0;
  std::optional<TimestampMs> deleted_at;
  std::int64_t change_seq = 0;
};

enum class GoalStatus { open, done };
std::string_view to_string(GoalStatus status);
std::optional<GoalStatus> parse_goal_status(std::string_view text);

struct Goal {
  std::string id;
  std::string user_id;
  std::string title;
  std::string description;
  std::string status = "open";             ///< kept as text: imported data may hold an unknown status
  std::optional<std::string> target_date;  ///< "YYYY-MM-DD"
  TimestampMs created_at = 0;
  TimestampMs updated_at = 0;
  std::optional<TimestampMs> deleted_at;
  std::int64_t change_seq = 0;
};

/// Largest title, body or description a sync accepts (docs/jobs.md: text over 64 KiB fails).
inline constexpr std::size_t kMaxTextBytes = 64 * 1024;

/// The docs/jobs.md item rules: nullopt when a sync may turn the record into a document, otherwise
/// the reason it fails (empty or whitespace-only title/body, text over 64 KiB, invalid UTF-8,
/// mood outside 1-5, unknown goal status). The API refuses such records (422) and so does the
/// import (a failed line); seeded data may hold them, and they fail at sync time.
std::optional<std::string> sync_problem(const JournalEntry& entry);
std::optional<std::string> sync_problem(const Goal& goal);

/// True for "YYYY-MM-DD" naming a real calendar day.
bool valid_date(std::string_view text);

}  // namespace mladmin::domain

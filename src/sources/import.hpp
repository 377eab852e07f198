#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "domain/source.hpp"
#include "store/store.hpp"

namespace mladmin::sources {

/// A line an import did not take, and why (the same words the create routes use).
struct LineError {
  std::size_t line = 0;  ///< 1-based line number in the input (blank lines count)
  std::string reason;
};

struct ImportOptions {
  std::size_t max_line_bytes = 1024 * 1024;   ///< a longer line fails, without being held in memory
  std::size_t batch_records = 1000;           ///< records written per transaction, at most
  std::size_t batch_bytes = 8 * 1024 * 1024;  ///< and bytes of input lines per transaction, at most
  std::size_t kept_errors = 100;              ///< errors kept in the report; the others are only counted
  /// Called with every error in line order, kept or not (the command line prints them all).
  std::function<void(const LineError&)> on_error;
  /// Who runs the import, for the audit log: a user id and email, or none and "cli".
  std::optional<std::string> actor_id;
  std::string actor_label = "cli";
};

struct ImportReport {
  domain::SourceType type = domain::SourceType::journal_entries;
  std::size_t lines = 0;          ///< non-blank lines read
  std::size_t imported = 0;       ///< lines written: created + updated
  std::size_t created = 0;        ///< lines that made a new record
  std::size_t updated = 0;        ///< lines whose id named an existing record (or an earlier line)
  std::size_t failed = 0;         ///< lines refused; lines == imported + failed
  std::vector<LineError> errors;  ///< the first `kept_errors` of them, in line order
};

/// Loads journal entries or goals from NDJSON: one JSON object per line, with the fields the
/// create route takes (`title`, `body`, `mood`, `tags` / `title`, `description`, `status`,
/// `targetDate`) plus `userId` (the owner, who must exist), and optionally `id` (a line with the
/// id of an existing record of the same owner replaces it, a deleted one included; without an id
/// the record gets a new one), `createdAt` and `updatedAt` (ISO 8601; default: kept on
/// replacement, otherwise now). Each line is checked like the create route checks a body; a bad
/// line is reported and the import goes on. Blank lines are skipped; CRLF and a UTF-8 byte order
/// mark are accepted.
///
/// Valid records are written in batches, one write transaction each; memory stays bounded by
/// one batch and one line whatever the size of the input. A database failure throws, leaving the
/// batches written so far in place (importing the same lines with ids again is harmless). Throws
/// std::runtime_error when the stream cannot be read. Blocking; call it off the I/O threads.
ImportReport import_ndjson(std::istream& in, domain::SourceType type, store::Store& store,
                           const domain::Clock& clock, domain::IdGenerator& ids,
                           const ImportOptions& options = {});

/// Splits a stream into lines, holding at most `max_bytes` of any line: a longer one is reported
/// as too long and skipped to its end. Strips "\r" before "\n" and a UTF-8 byte order mark.
class LineReader final {
 public:
  LineReader(std::istream& in, std::size_t max_bytes);

  struct Line {
    std::size_t number = 0;  ///< 1-based
    std::string_view text;   ///< valid until the next call; empty when too long
    bool too_long = false;
  };
  /// The next line, or nullopt at the end of the input. Throws std::runtime_error when the
  /// stream fails.
  std::optional<Line> next();

 private:
  bool fill();

  std::istream& in_;
  std::size_t max_bytes_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::string line_;
  std::size_t number_ = 0;
};

/// One line turned into a record, before the checks that need the database (the owner exists,
/// an existing id belongs to the same owner). Timestamps the line does not give are 0.
template <class T>
struct ParsedLine {
  T record;
  bool has_id = false;
  bool has_created_at = false;
  bool has_updated_at = false;
};

/// Parses and checks one non-blank import line; throws domain::Error whose message is the
/// line's reason.
ParsedLine<domain::JournalEntry> parse_journal_entry_line(std::string_view line);
ParsedLine<domain::Goal> parse_goal_line(std::string_view line);

}  // namespace mladmin::sources

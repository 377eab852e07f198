#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mladmin::domain {

/// Why a search text was refused, with the byte offset in it where the problem is.
struct SearchQueryProblem {
  std::string message;  ///< for a person, e.g. "unclosed quote starting at position 4"
  std::size_t position = 0;
};

/// A parsed full-text search (the `q` of GET /api/ml/documents): words, "quoted phrases",
/// prefixes (word*), AND, OR, NOT and parentheses. Adjacent terms mean AND; NOT binds tighter
/// than AND, AND tighter than OR; operators are upper case (lower-case and/or/not are words).
///
/// The only way to reach the store is to_fts5(), which rebuilds the expression from the parsed
/// terms, each quoted: nothing of the client's text is ever read as FTS5 or SQL syntax.
class SearchQuery final {
 public:
  static constexpr std::size_t kMaxBytes = 1000;
  static constexpr std::size_t kMaxTerms = 32;
  static constexpr std::size_t kMaxDepth = 8;

  struct Parsed;  // the outcome of parse()

  /// Parses `text`; an empty or blank text is no search (nullopt in `query`).
  static Parsed parse(std::string_view text);

  /// The expression in FTS5 query syntax, fully parenthesized.
  const std::string& to_fts5() const { return fts5_; }
  /// How many phrases (words, prefixes and quoted phrases) it holds, in FTS5's phrase order.
  std::size_t phrase_count() const { return phrases_; }

 private:
  SearchQuery(std::string fts5, std::size_t phrases) : fts5_(std::move(fts5)), phrases_(phrases) {}
  std::string fts5_;
  std::size_t phrases_ = 0;
};

struct SearchQuery::Parsed {
  std::optional<SearchQuery> query;
  std::optional<SearchQueryProblem> problem;
};

}  // namespace mladmin::domain

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/clock.hpp"
#include "domain/source.hpp"

namespace mladmin::domain {

/// Which date `from`/`to` and the date sorts use: when the document was synced, or when its
/// source record was created.
enum class DocumentDate { synced, source };

/// Which documents a listing, a count or a bulk action takes. Every field narrows; all empty
/// takes every document.
struct DocumentFilter {
  /// A full-text expression in FTS5 syntax, built only by SearchQuery::to_fts5() (never from
  /// client text directly).
  std::optional<std::string> match;
  std::optional<SourceType> type;
  std::optional<std::string> user_id;
  DocumentDate date = DocumentDate::synced;
  std::optional<TimestampMs> from;      ///< inclusive
  std::optional<TimestampMs> to;        ///< exclusive
  std::optional<std::int64_t> max_seq;  ///< only documents with seq <= this (a snapshot)
};

/// A filter as a client writes it: the `q`, `type`, `userId`, `from`, `to` and `dateField` of
/// GET /api/ml/documents, or the `filter` object of a bulk action. Kept as written so that a
/// bulk job can show and re-read it.
struct DocumentFilterSpec {
  std::optional<std::string> q;
  std::optional<std::string> type;
  std::optional<std::string> user_id;
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::optional<std::string> date_field;
};

/// Checks every field and builds the filter. Throws a 400 domain::Error naming the field as
/// `prefix` + its name ("q", or "filter.q"): code "invalid_query" for a malformed search
/// (details: field, position), "invalid_field" for the rest.
DocumentFilter compile_filter(const DocumentFilterSpec& spec, std::string_view prefix = "");

}  // namespace mladmin::domain

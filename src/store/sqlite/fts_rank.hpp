#pragma once

struct sqlite3;

namespace mladmin::store::sqlite {

/// Registers the FTS5 auxiliary functions document search ranks with, on one connection:
///
/// - `mlstats(fts)`: the corpus figures BM25 needs for the current query, as text
///   "rows tokens n1 … nk" (nK = rows containing phrase K).
/// - `mlrank(fts, stats)`: the row's BM25 relevance (k1 = 1.2, b = 0.75, Lucene's always-positive
///   IDF, a title hit weighs twice a text hit), higher is better, computed with the figures in `stats`
///   instead of the live ones. A search pins the figures on its first page, so the same document gets the
///   same score on every later page even while syncs add documents: keyset paging over (score, rowid) then
///   has no duplicates and no gaps.
///
/// Throws std::runtime_error when FTS5 is missing.
void register_search_functions(sqlite3* db);

}  // namespace mladmin::store::sqlite

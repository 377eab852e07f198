#pragma once

#include <cstdint>
#include <vector>

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
/// - `mlfreqs(fts)`: what mlrank reads of the row, as text "rows tokens length f1 … fk" (the corpus
///   size, the row's length in tokens and each phrase's weighted hits in it), so that a caller can
///   score rows itself with Bm25 and get exactly mlrank's scores.
///
/// Throws std::runtime_error when FTS5 is missing.
void register_search_functions(sqlite3* db);

/// mlrank's formula, shared so that a score computed in C++ equals mlrank's bit for bit.
struct Bm25 {
  double avgdl = 1;
  std::vector<double> idf;  ///< per phrase

  /// From the corpus figures: rows, their total length in tokens, rows containing each phrase.
  static Bm25 from(std::int64_t rows, std::int64_t tokens, const std::vector<std::int64_t>& phrase_rows);
  /// The score of a row of `length` tokens with `freq[i]` weighted hits of phrase i.
  double score(const double* freq, int length) const;
};

}  // namespace mladmin::store::sqlite

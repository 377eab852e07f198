#include "store/sqlite/fts_rank.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mladmin::store::sqlite {

namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;
constexpr double kColumnWeight[] = {2.0, 1.0};  // title, text

fts5_api* fts5_of(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(st);
  }
  sqlite3_finalize(st);
  return api;
}

int count_row(const Fts5ExtensionApi*, Fts5Context*, void* user) {
  ++*static_cast<sqlite3_int64*>(user);
  return SQLITE_OK;
}

void mlstats(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_int64 rows = 0;
  sqlite3_int64 tokens = 0;
  if (api->xRowCount(fts, &rows) != SQLITE_OK || api->xColumnTotalSize(fts, -1, &tokens) != SQLITE_OK) {
    sqlite3_result_error(ctx, "mlstats: cannot read the corpus size", -1);
    return;
  }
  std::string out = std::to_string(rows);
  out += ' ';
  out += std::to_string(tokens);
  const int phrases = api->xPhraseCount(fts);
  for (int i = 0; i < phrases; ++i) {
    sqlite3_int64 hits = 0;
    if (api->xQueryPhrase(fts, i, &hits, count_row) != SQLITE_OK) {
      sqlite3_result_error(ctx, "mlstats: cannot count a phrase", -1);
      return;
    }
    out += ' ';
    out += std::to_string(hits);
  }
  sqlite3_result_text(ctx, out.c_str(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

/// Parses "rows tokens n1 … nk"; false when malformed.
bool parse_stats(std::string_view text, std::vector<sqlite3_int64>& out) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    sqlite3_int64 v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || v < 0) {
      return false;
    }
    out.push_back(v);
    p = next;
  }
  return out.size() >= 2;
}

/// The figures of one query, parsed once (FTS5 keeps them as the function's auxiliary data for
/// the statement's lifetime) with each phrase's IDF worked out.
struct RankData {
  std::string text;
  Bm25 bm25;
  std::vector<double> freq;  ///< per-row scratch
};

RankData* rank_data(const Fts5ExtensionApi* api, Fts5Context* fts, std::string_view text, int phrases) {
  auto* data = static_cast<RankData*>(api->xGetAuxdata(fts, 0));
  if (data != nullptr && data->text == text) {
    return data;
  }
  std::vector<sqlite3_int64> stats;
  if (!parse_stats(text, stats) || stats.size() != static_cast<std::size_t>(phrases) + 2) {
    return nullptr;
  }
  auto fresh = std::make_unique<RankData>();
  fresh->text = std::string(text);
  fresh->bm25 = Bm25::from(stats[0], stats[1], std::vector<std::int64_t>(stats.begin() + 2, stats.end()));
  fresh->freq.assign(static_cast<std::size_t>(phrases), 0.0);
  data = fresh.get();
  if (api->xSetAuxdata(fts, fresh.release(), [](void* p) { delete static_cast<RankData*>(p); }) !=
      SQLITE_OK) {
    return nullptr;  // xSetAuxdata frees the data itself when it fails
  }
  return data;
}

/// Adds each phrase's weighted hits in the current row to `freq` (zeroed first); false on error.
bool row_freqs(const Fts5ExtensionApi* api, Fts5Context* fts, std::vector<double>& freq) {
  std::fill(freq.begin(), freq.end(), 0.0);
  int instances = 0;
  if (api->xInstCount(fts, &instances) != SQLITE_OK) {
    return false;
  }
  const int phrases = static_cast<int>(freq.size());
  for (int i = 0; i < instances; ++i) {
    int phrase = 0;
    int column = 0;
    int offset = 0;
    if (api->xInst(fts, i, &phrase, &column, &offset) != SQLITE_OK) {
      return false;
    }
    if (phrase >= 0 && phrase < phrases && column >= 0 && column < 2) {
      freq[static_cast<std::size_t>(phrase)] += kColumnWeight[column];
    }
  }
  return true;
}

void mlfreqs(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int, sqlite3_value**) {
  sqlite3_int64 rows = 0;
  sqlite3_int64 tokens = 0;
  int length = 0;
  std::vector<double> freq(static_cast<std::size_t>(api->xPhraseCount(fts)), 0.0);
  if (api->xRowCount(fts, &rows) != SQLITE_OK || api->xColumnTotalSize(fts, -1, &tokens) != SQLITE_OK ||
      api->xColumnSize(fts, -1, &length) != SQLITE_OK || !row_freqs(api, fts, freq)) {
    sqlite3_result_error(ctx, "mlfreqs: cannot read the row", -1);
    return;
  }
  std::string out = std::to_string(rows);
  out += ' ';
  out += std::to_string(tokens);
  out += ' ';
  out += std::to_string(length);
  for (double f : freq) {
    out += ' ';
    out += std::to_string(static_cast<std::int64_t>(f));  // whole numbers: the weights are
  }
  sqlite3_result_text(ctx, out.c_str(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

void mlrank(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int argc,
            sqlite3_value** argv) {
  if (argc != 1 || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    sqlite3_result_error(ctx, "mlrank: expects the figures from mlstats", -1);
    return;
  }
  const auto* raw = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int phrases = api->xPhraseCount(fts);
  RankData* data = rank_data(
      api, fts, std::string_view(raw, static_cast<std::size_t>(sqlite3_value_bytes(argv[0]))), phrases);
  if (data == nullptr) {
    sqlite3_result_error(ctx, "mlrank: the figures do not fit this query", -1);
    return;
  }
  if (!row_freqs(api, fts, data->freq)) {
    sqlite3_result_error(ctx, "mlrank: cannot read the matches", -1);
    return;
  }
  int length = 0;
  if (api->xColumnSize(fts, -1, &length) != SQLITE_OK) {
    sqlite3_result_error(ctx, "mlrank: cannot read the row size", -1);
    return;
  }
  const double score = data->bm25.score(data->freq.data(), length);
  sqlite3_result_double(ctx, score);
}

}  // namespace

void register_search_functions(sqlite3* db) {
  fts5_api* api = fts5_of(db);
  if (api == nullptr || api->iVersion < 2) {
    throw std::runtime_error("this SQLite has no FTS5");
  }
  if (api->xCreateFunction(api, "mlstats", nullptr, mlstats, nullptr) != SQLITE_OK ||
      api->xCreateFunction(api, "mlrank", nullptr, mlrank, nullptr) != SQLITE_OK ||
      api->xCreateFunction(api, "mlfreqs", nullptr, mlfreqs, nullptr) != SQLITE_OK) {
    throw std::runtime_error("cannot register the search functions");
  }
}

Bm25 Bm25::from(std::int64_t rows_in, std::int64_t tokens, const std::vector<std::int64_t>& phrase_rows) {
  Bm25 out;
  const double rows = static_cast<double>(std::max<std::int64_t>(rows_in, 1));
  out.avgdl = std::max(1.0, static_cast<double>(tokens) / rows);
  for (const auto n : phrase_rows) {
    const double hits = static_cast<double>(n);
    // Lucene's IDF, log(1 + (N - n + 0.5) / (n + 0.5)), stays positive for a word in more than
    // half of the documents (classic BM25's goes negative, and FTS5's bm25() clamps it to 1e-6,
    // which flattens the ranking of common words).
    out.idf.push_back(std::log(1.0 + (rows - hits + 0.5) / (hits + 0.5)));
  }
  return out;
}

double Bm25::score(const double* freq, int length) const {
  double score = 0;
  for (std::size_t i = 0; i < idf.size(); ++i) {
    const double f = freq[i];
    score += idf[i] * (f * (kK1 + 1)) / (f + kK1 * (1 - kB + kB * length / avgdl));
  }
  return score;
}

}  // namespace mladmin::store::sqlite

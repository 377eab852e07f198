#include "store/sqlite/document_queries.hpp"

#include <sqlite3.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <variant>

#include "domain/error.hpp"
#include "store/sqlite/fts_rank.hpp"

namespace mladmin::store::sqlite::documents {

namespace {

// FTS5 wraps matches in these (Unicode private-use characters, U+E000 and U+E001) so that the
// document's own text can be HTML-escaped before the markers become <mark> elements.
constexpr std::string_view kOpen = "\xEE\x80\x80";
constexpr std::string_view kClose = "\xEE\x80\x81";
constexpr int kSnippetTokens = 24;
constexpr int kPreviewChars = 240;

constexpr const char* kColumns =
    "d.rowid, d.id, d.user_id, d.source_type, d.source_id, d.title, substr(d.text, 1, ?), d.metadata, "
    "d.content_hash, d.synced_at, d.source_created_at, d.version, d.job_id";

using Value = std::variant<std::int64_t, std::string, double>;

/// SQL text with its positional parameters, bound in the order they were added.
struct Sql {
  std::string text;
  std::vector<Value> params;

  Sql& add(std::string_view fragment) {
    text += fragment;
    return *this;
  }
  Sql& add(std::string_view fragment, Value v) {
    text += fragment;
    params.push_back(std::move(v));
    return *this;
  }
  void bind(Statement& st) const {
    int i = 1;
    for (const auto& p : params) {
      std::visit(
          [&](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
              st.bind(i, std::string_view(v));
            } else {
              st.bind(i, v);
            }
          },
          p);
      ++i;
    }
  }
};

Document read_document(const Statement& st) {
  Document d;
  d.seq = st.int64(0);
  d.id = st.text(1);
  d.user_id = st.text(2);
  d.source_type = domain::parse_source_type(st.text(3)).value_or(domain::SourceType::journal_entries);
  d.source_id = st.text(4);
  d.title = st.text(5);
  d.text = st.text(6);
  d.metadata_json = st.text(7);
  d.content_hash = st.text(8);
  d.synced_at = st.int64(9);
  d.source_created_at = st.int64(10);
  d.version = st.int64(11);
  d.job_id = st.opt_text(12);
  return d;
}

/// How a filtered query is driven. Without a text match: the documents table (by its date
/// indexes). With one and a user filter: that user's documents, each probed in the full-text index
/// (a rowid seek), since one user's documents are few next to the matches of a common word. With
/// one and no user filter: the full-text index, joined to the documents only when a filter or the
/// caller needs their columns. CROSS JOIN fixes the order so SQLite's planner keeps it. A user
/// filter drives `documents` and `user_documents` through the user's entries in the owner index
/// (by_owner). `listed`: documents the caller names by seq, each tested against the filter.
enum class Drive { documents, user_documents, fts_joined, fts_only, listed };

Drive drive_of(const DocumentFilter& f, bool need_documents, bool walk_documents = false) {
  if (!f.match) {
    return Drive::documents;
  }
  if (f.user_id || walk_documents) {
    return Drive::user_documents;
  }
  return f.type || f.from || f.to || need_documents ? Drive::fts_joined : Drive::fts_only;
}

/// The seq (rowid) expression of the driving table, so that rowid bounds and order use it.
const char* seq_column(Drive d) {
  return d == Drive::fts_joined || d == Drive::fts_only ? "documents_fts.rowid" : "d.rowid";
}

/// True when a user filter drives the query through the user's entries in the owner index
/// (owner_documents and owner_recent, migration 0015) rather than testing each document's owner.
bool by_owner(const DocumentFilter& f, Drive drive) {
  return f.user_id && (drive == Drive::documents || drive == Drive::user_documents);
}

const char* date_column(const DocumentFilter& f, Drive drive) {
  if (f.date == DocumentDate::source) {
    return "d.source_created_at";
  }
  // Driven by the owner index, the sync date is its own column: a date range or an order on it
  // is pushed into both levels of the index (owner_documents is ordered by user, then date).
  return by_owner(f, drive) ? "o.synced_at" : "d.synced_at";
}

/// A user's documents, rowid and sync date, from both levels of the owner index: those written
/// since the last merge (owner_recent, a bounded table read whole) and the others
/// (owner_documents, by its key). Each document is in exactly one.
void add_owned(Sql& sql, const std::string& user_id) {
  sql.add(" FROM (SELECT doc, synced_at FROM owner_documents WHERE user_id = ?", user_id);
  sql.add(" UNION ALL SELECT doc, synced_at FROM owner_recent WHERE user_id = ?) o", user_id);
  sql.add(" CROSS JOIN documents d ON d.rowid = o.doc");
}

/// "FROM … WHERE …" for the filter, driven as drive_of() says. `level`: with a user filter that
/// drives `documents`, the one level of the owner index to read (aliased `o`), not both.
Sql from_where(const DocumentFilter& f, Drive drive, const char* level = nullptr) {
  Sql sql;
  const bool owned = by_owner(f, drive);
  switch (drive) {
    case Drive::documents:
      if (owned && level != nullptr) {
        sql.add(std::string(" FROM ") + level +
                    " o CROSS JOIN documents d ON d.rowid = o.doc WHERE o.user_id = ?",
                *f.user_id);
      } else if (owned) {
        add_owned(sql, *f.user_id);
        sql.add(" WHERE 1 = 1");
      } else {
        sql.add(" FROM documents d WHERE 1 = 1");
      }
      break;
    case Drive::user_documents:
      if (owned) {
        add_owned(sql, *f.user_id);
      } else {
        sql.add(" FROM documents d");
      }
      sql.add(" CROSS JOIN documents_fts ON documents_fts.rowid = d.rowid WHERE documents_fts MATCH ?",
              *f.match);
      break;
    case Drive::fts_joined:
      sql.add(
          " FROM documents_fts CROSS JOIN documents d ON d.rowid = documents_fts.rowid"
          " WHERE documents_fts MATCH ?",
          *f.match);
      break;
    case Drive::fts_only:
      sql.add(" FROM documents_fts WHERE documents_fts MATCH ?", *f.match);
      break;
    case Drive::listed:
      sql.add(" FROM documents d WHERE 1 = 1");
      break;
  }
  if (f.type) {
    sql.add(" AND d.source_type = ?", std::string(domain::to_string(*f.type)));
  }
  if (f.user_id && !owned) {
    sql.add(" AND d.user_id = ?", *f.user_id);
  }
  if (f.from) {
    sql.add(std::string(" AND ") + date_column(f, drive) + " >= ?", *f.from);
  }
  if (f.to) {
    sql.add(std::string(" AND ") + date_column(f, drive) + " < ?", *f.to);
  }
  if (f.max_seq) {
    sql.add(std::string(" AND ") + seq_column(drive) + " <= ?", *f.max_seq);
  }
  return sql;
}

std::optional<RankStats> measure(Connection& c, const std::string& match) {
  auto st = c.prepare("SELECT mlstats(documents_fts) FROM documents_fts WHERE documents_fts MATCH ? LIMIT 1");
  st.bind(1, std::string_view(match));
  if (!st.step()) {
    return std::nullopt;
  }
  RankStats out;
  const auto text = st.text(0);
  std::vector<std::int64_t> values;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto next = text.find(' ', pos);
    values.push_back(std::stoll(text.substr(pos, next - pos)));
    pos = next == std::string::npos ? text.size() : next + 1;
  }
  out.rows = values.at(0);
  out.tokens = values.at(1);
  out.phrase_rows.assign(values.begin() + 2, values.end());
  return out;
}

/// Each phrase's corpus count takes a walk over its whole list of matches (about 0.1 s for a word
/// in half of 1,000,000 documents); they change slowly, so they are kept per database and match
/// expression for a minute, or until 1 % more documents have been added.
class StatsCache {
 public:
  std::optional<RankStats> get(const std::string& key, std::int64_t max_seq) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) {
      return std::nullopt;
    }
    const auto& e = it->second;
    if (std::chrono::steady_clock::now() - e.at > kTtl || max_seq < e.max_seq ||
        max_seq - e.max_seq > e.stats.rows / 100) {
      entries_.erase(it);
      return std::nullopt;
    }
    return e.stats;
  }
  void put(const std::string& key, std::int64_t max_seq, const RankStats& stats) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries) {
      entries_.clear();
    }
    entries_[key] = Entry{stats, max_seq, std::chrono::steady_clock::now()};
  }

 private:
  static constexpr auto kTtl = std::chrono::seconds(60);
  static constexpr std::size_t kMaxEntries = 4096;
  struct Entry {
    RankStats stats;
    std::int64_t max_seq = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

StatsCache& stats_cache() {
  static StatsCache cache;
  return cache;
}

std::optional<RankStats> measure_cached(Connection& c, const std::string& match, std::int64_t max_seq) {
  const char* file = sqlite3_db_filename(c.handle(), "main");
  std::string key = file != nullptr ? file : "";
  key += '\n';
  key += match;
  if (auto hit = stats_cache().get(key, max_seq)) {
    return hit;
  }
  auto stats = measure(c, match);
  if (stats) {
    stats_cache().put(key, max_seq, *stats);
  }
  return stats;
}

std::string stats_text(const RankStats& s) {
  std::string out = std::to_string(s.rows);
  out += ' ';
  out += std::to_string(s.tokens);
  for (auto n : s.phrase_rows) {
    out += ' ';
    out += std::to_string(n);
  }
  return out;
}

std::optional<Document> by_seq(Connection& c, std::int64_t seq) {
  auto st = c.prepare(std::string("SELECT ") + kColumns + " FROM documents d WHERE d.rowid = ?");
  st.bind(1, static_cast<std::int64_t>(kPreviewChars)).bind(2, seq);
  return st.step() ? std::optional(read_document(st)) : std::nullopt;
}

/// The CPU time this thread has used: what a walk spends, whatever else runs on the machine.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

/// The texts of a page's hits, indexed on their own to make the hits' snippets and highlighted
/// titles: the full-text index keeps no texts (it is contentless, search_indexer.cpp). An
/// external-content FTS5 table over a TEMP table of the texts, defined as documents_fts is (the
/// same columns, tokenizer and options), so the page's query finds the same words in them.
/// Each reader connection has its own, emptied after each page.
constexpr const char* kPageTables =
    "CREATE TABLE IF NOT EXISTS temp.search_page_text (rowid INTEGER PRIMARY KEY, title TEXT, text TEXT); "
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_page USING fts5(title, text, content='search_page_text', "
    "content_rowid='rowid')";

/// Fills the snippets and highlighted titles of a page's hits. With a text match, the hits' titles
/// and texts are indexed on their own (kPageTables, about 15-30 µs a document of 450 bytes) and
/// the match runs there: snippet() and highlight() over the page's documents alone. A hit that
/// does not match there (its document changed since the index took it), or a page without a text
/// match, shows the start of its text.
void decorate_page(Connection& c, const DocumentFilter& f, std::vector<DocumentHit>& hits) {
  std::vector<bool> decorated(hits.size(), false);
  if (f.match && !hits.empty()) {
    std::unordered_map<std::int64_t, std::size_t> at;
    boost::json::array list;
    for (std::size_t i = 0; i < hits.size(); ++i) {
      at.emplace(hits[i].doc.seq, i);
      list.emplace_back(hits[i].doc.seq);
    }
    const auto seqs = boost::json::serialize(list);
    c.exec(kPageTables);
    const auto empty = [&c] {
      c.exec(
          "INSERT INTO temp.search_page (search_page) VALUES ('delete-all'); DELETE FROM "
          "temp.search_page_text");
    };
    empty();
    try {
      auto fill = c.prepare(
          "INSERT INTO temp.search_page_text (rowid, title, text) SELECT rowid, title, text FROM documents "
          "WHERE rowid IN (SELECT value FROM json_each(?))");
      fill.bind(1, std::string_view(seqs));
      fill.exec();
      c.exec("INSERT INTO temp.search_page (search_page) VALUES ('rebuild')");
      auto st = c.prepare(
          "SELECT rowid, snippet(search_page, 1, ?1, ?2, '…', ?3), highlight(search_page, 0, ?1, ?2) "
          "FROM temp.search_page WHERE search_page MATCH ?4");
      st.bind(1, kOpen).bind(2, kClose).bind(3, static_cast<std::int64_t>(kSnippetTokens));
      st.bind(4, std::string_view(*f.match));
      while (st.step()) {
        const auto it = at.find(st.int64(0));
        if (it == at.end()) {
          continue;
        }
        auto& hit = hits[it->second];
        hit.snippet = marked_html(st.text(1));
        hit.title_html = marked_html(st.text(2));
        hit.doc.text.clear();
        decorated[it->second] = true;
      }
    } catch (...) {
      empty();
      throw;
    }
    empty();
  }
  for (std::size_t i = 0; i < hits.size(); ++i) {
    if (decorated[i]) {
      continue;
    }
    auto& hit = hits[i];
    hit.snippet = marked_html(hit.doc.text);
    if (hit.doc.text.size() >= static_cast<std::size_t>(kPreviewChars)) {
      hit.snippet += "…";
    }
    hit.title_html = marked_html(hit.doc.title);
    hit.doc.text.clear();
  }
}

std::atomic<std::int64_t> rank_budget_us{20'000};

/// The first page of a relevance search: the matches, newest first, with what ranking reads of each.
struct Walk {
  std::vector<std::int64_t> seqs;
  std::vector<int> lengths;
  std::vector<double> freqs;  ///< seqs.size() × phrases: each phrase's weighted hits in the row
  std::size_t phrases = 0;
  std::int64_t rows = 0;    ///< the corpus: documents
  std::int64_t tokens = 0;  ///< and their total length
  bool complete = true;     ///< every match was read
  /// When > 0: the corpus counts are estimated over this many documents even though every match
  /// was read (a user's documents, probed because the text is common: exact counts would walk
  /// the text's whole list of matches).
  std::int64_t estimate_over = 0;
};

/// The full-text index of a search's candidates (the documents of one user that the filter
/// keeps), for the user-filtered searches of a common text: defined as documents_fts is
/// (migrations/sqlite/0003_documents_and_jobs.sql: the same columns, tokenizer and options), so a
/// document matches here exactly when it matches there, with the same hits of each phrase and the
/// same length in tokens. Contentless: it keeps positions and lengths, not the texts. Each
/// reader connection has its own (a TEMP table), emptied after each search.
constexpr const char* kCandidatesTable =
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_candidates USING fts5(title, text, content='')";

/// The statement that reads a user-filtered search's matches (seq, mlfreqs) newest first, without
/// its LIMIT. Reading a word's matches costs about 0.05 µs each, so unless the text matches more
/// than 64 times as many documents as the user's (within their seq range), its matches are read
/// and kept when they are the user's. Otherwise the user's documents are indexed on their own
/// (search_candidates, 13-28 µs a document of 450 bytes, most of it tokenizing) and the text
/// is matched there: a probe of the full-text index per document costs 60-90 µs at 1,000,000
/// documents, because FTS5 looks the words up again in each of the index's segments
/// (docs/benchmarks.md). `corpus` then receives the corpus figures (documents and tokens) of
/// documents_fts, which mlfreqs over search_candidates does not give.
Sql user_walk(Connection& c, const DocumentFilter& f, std::int64_t& probed,
              std::optional<std::pair<std::int64_t, std::int64_t>>& corpus) {
  DocumentFilter plain = f;
  plain.match.reset();
  Sql ids;
  ids.add("SELECT json_group_array(rowid), count(*), min(rowid), max(rowid) FROM (SELECT d.rowid AS rowid");
  auto where = from_where(plain, Drive::documents);
  ids.text += where.text;
  ids.params = std::move(where.params);
  ids.add(")");
  auto st = c.prepare(ids.text);
  ids.bind(st);
  st.step();
  const auto owned = st.int64(1);
  Sql sql;
  if (owned > 0) {
    const auto lo = st.int64(2);
    const auto hi = st.int64(3);
    const auto enough = owned * 64;
    auto count = c.prepare(
        "SELECT count(*) FROM (SELECT 1 FROM documents_fts WHERE documents_fts MATCH ? AND rowid >= ? AND "
        "rowid <= ? LIMIT ?)");
    count.bind(1, std::string_view(*f.match)).bind(2, lo).bind(3, hi).bind(4, enough);
    count.step();
    if (count.int64(0) < enough) {
      // "+rowid IN": a filter on each match read, not a probe per listed document.
      sql.add(
          "SELECT documents_fts.rowid, mlfreqs(documents_fts) FROM documents_fts WHERE documents_fts MATCH ?",
          *f.match);
      sql.add(" AND documents_fts.rowid >= ?", lo);
      sql.add(" AND documents_fts.rowid <= ?", hi);
      sql.add(" AND +documents_fts.rowid IN (SELECT value FROM json_each(?))", st.text(0));
      sql.add(" ORDER BY documents_fts.rowid DESC");
      return sql;
    }
    // The text matches at least one document (the count above), so this reads a row.
    auto figures =
        c.prepare("SELECT mlfreqs(documents_fts) FROM documents_fts WHERE documents_fts MATCH ? LIMIT 1");
    figures.bind(1, std::string_view(*f.match));
    if (figures.step()) {
      const auto text = figures.text(0);
      const auto space = text.find(' ');
      corpus.emplace(std::stoll(text.substr(0, space)), std::stoll(text.substr(space + 1)));
    }
  }
  probed = owned;
  if (owned > 0 && corpus) {
    c.exec(kCandidatesTable);
    c.exec("INSERT INTO temp.search_candidates(search_candidates) VALUES('delete-all')");
    auto fill = c.prepare(
        "INSERT INTO temp.search_candidates(rowid, title, text) SELECT rowid, title, text FROM documents"
        " WHERE rowid IN (SELECT value FROM json_each(?))");
    fill.bind(1, std::string_view(st.text(0)));
    fill.step();
    sql.add(
        "SELECT rowid, mlfreqs(search_candidates) FROM temp.search_candidates WHERE search_candidates MATCH ?"
        " ORDER BY rowid DESC",
        *f.match);
    return sql;
  }
  sql.add("SELECT d.rowid, mlfreqs(documents_fts)");
  auto probe = from_where(f, Drive::user_documents);
  sql.text += probe.text;
  sql.params = std::move(probe.params);
  sql.add(" ORDER BY d.rowid DESC");
  return sql;
}

/// Reads the matches newest first (mlfreqs, one walk of the full-text index) until it has
/// `rank_candidates` of them, or has spent rank_budget() of CPU time with at least a page and one
/// more read, or has read them all. The time limit bounds the walk whatever the expression: a
/// phrase of two common words, whose matches are few but which makes FTS5 go through two long
/// position lists, stops on it (docs/performance.md).
Walk walk_newest(Connection& c, const DocumentFilter& f, const DocumentQuery& q) {
  const auto drive = drive_of(f, false);
  const std::string seq = seq_column(drive);
  Sql sql;
  std::int64_t probed = 0;
  std::optional<std::pair<std::int64_t, std::int64_t>> corpus;
  if (drive == Drive::user_documents) {
    sql = user_walk(c, f, probed, corpus);
  } else {
    sql.add("SELECT " + seq + ", mlfreqs(documents_fts)");
    auto where = from_where(f, drive);
    sql.text += where.text;
    sql.params = std::move(where.params);
    sql.add(" ORDER BY " + seq + " DESC");
  }
  sql.add(" LIMIT ?", static_cast<std::int64_t>(q.rank_candidates + 1));
  Walk w;
  w.estimate_over = probed;
  {
    auto st = c.prepare(sql.text);
    sql.bind(st);
    // A user-filtered read is bounded already: probed documents are sorted by seq before the first
    // comes back (the work is done by then), and a read of the text's matches covers at most 64 per
    // document of the user's. A budget would only throw candidates away.
    const auto budget = drive == Drive::user_documents ? std::chrono::microseconds(0) : rank_budget();
    const auto start = thread_cpu_time();
    const std::size_t at_least = q.limit + 1;
    std::vector<std::int64_t> values;
    while (st.step()) {
      if (w.seqs.size() == q.rank_candidates) {
        w.complete = false;  // one match more than the bound
        break;
      }
      const auto text = st.text(1);
      values.clear();
      for (const char *p = text.data(), *end = p + text.size(); p < end;) {
        std::int64_t v = 0;
        const auto [next, ec] = std::from_chars(p, end, v);
        if (ec != std::errc()) {
          throw std::runtime_error("mlfreqs: malformed figures");
        }
        p = next;
        values.push_back(v);
        while (p < end && *p == ' ') {
          ++p;
        }
      }
      if (values.size() < 3) {
        throw std::runtime_error("mlfreqs: malformed figures");
      }
      w.rows = values[0];
      w.tokens = values[1];
      w.phrases = values.size() - 3;
      w.seqs.push_back(st.int64(0));
      w.lengths.push_back(static_cast<int>(values[2]));
      for (std::size_t i = 3; i < values.size(); ++i) {
        w.freqs.push_back(static_cast<double>(values[i]));
      }
      // The clock is read at the first full page and every 64 matches after it (a read costs
      // about a system call).
      if (budget.count() > 0 && w.seqs.size() >= at_least && (w.seqs.size() - at_least) % 64 == 0 &&
          thread_cpu_time() - start >= budget) {
        w.complete = false;  // out of time: the matches read so far are the candidates
        break;
      }
    }
  }
  if (corpus) {
    // mlfreqs over search_candidates gave its own size: the corpus is documents_fts.
    w.rows = corpus->first;
    w.tokens = corpus->second;
    c.exec("INSERT INTO temp.search_candidates(search_candidates) VALUES('delete-all')");
  }
  return w;
}

/// The corpus figures estimated from a walk: each phrase's share of the documents in the
/// candidates' seq range (or of the user's documents probed), applied to the corpus. Exact figures
/// would take a walk over each phrase's whole list of matches (all of it for a phrase of two
/// common words).
RankStats estimated_stats(const Walk& w, std::int64_t max_seq) {
  const auto span =
      w.complete && w.estimate_over > 0
          ? w.estimate_over
          : std::max<std::int64_t>(max_seq - w.seqs.back() + 1, static_cast<std::int64_t>(w.seqs.size()));
  RankStats out;
  out.rows = w.rows;
  out.tokens = w.tokens;
  for (std::size_t p = 0; p < w.phrases; ++p) {
    std::int64_t holding = 0;
    for (std::size_t i = 0; i < w.seqs.size(); ++i) {
      holding += w.freqs[i * w.phrases + p] > 0 ? 1 : 0;
    }
    const double share = static_cast<double>(holding) / static_cast<double>(span);
    out.phrase_rows.push_back(
        std::min(w.rows, static_cast<std::int64_t>(std::llround(share * static_cast<double>(w.rows)))));
  }
  return out;
}

/// The first page by relevance: one walk reads the candidates, and they are scored here with
/// mlrank's own formula (Bm25), so that later pages, which rank in SQL with the pinned figures,
/// give each document the same score.
std::vector<std::pair<std::int64_t, double>> rank_walked(Connection& c, const DocumentQuery& q,
                                                         const DocumentFilter& f, DocumentPage& page) {
  std::vector<std::pair<std::int64_t, double>> ranked;
  const auto w = walk_newest(c, f, q);
  if (w.seqs.empty()) {
    return ranked;  // nothing matches
  }
  if (w.complete && w.estimate_over == 0) {
    page.stats = measure_cached(c, *f.match, *f.max_seq);  // every match read: the exact figures
  } else if (w.complete) {
    page.stats = estimated_stats(w, *f.max_seq);  // every match ranked, over estimated figures
  } else {
    page.stats = estimated_stats(w, *f.max_seq);
    page.rank_floor = w.seqs.back();
    page.ranked_over = static_cast<std::int64_t>(w.seqs.size());
  }
  if (!page.stats || page.stats->phrase_rows.size() != w.phrases) {
    throw std::runtime_error("search: the corpus figures do not fit the query");
  }
  const auto bm25 = Bm25::from(page.stats->rows, page.stats->tokens, page.stats->phrase_rows);
  ranked.reserve(w.seqs.size());
  for (std::size_t i = 0; i < w.seqs.size(); ++i) {
    const double score = bm25.score(w.freqs.data() + i * w.phrases, w.lengths[i]);
    if (q.after && !(score < q.after->score || (score == q.after->score && w.seqs[i] > q.after->seq))) {
      continue;
    }
    ranked.emplace_back(w.seqs[i], score);
  }
  const auto better = [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  };
  const auto keep = std::min(ranked.size(), q.limit + 1);
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), better);
  ranked.resize(keep);
  return ranked;
}

DocumentPage by_relevance(Connection& c, const DocumentQuery& q) {
  DocumentPage page;
  DocumentFilter f = q.filter;
  if (!f.max_seq) {
    f.max_seq = max_seq(c);
  }
  page.max_seq = *f.max_seq;
  std::vector<std::pair<std::int64_t, double>> ranked;
  if (!q.stats && q.rank_candidates > 0) {
    // A very common word matches a large share of the corpus, and ranking costs about 0.7 µs per
    // match: the first page ranks the newest matches only, at most `rank_candidates` of them and
    // as many as it reads within `rank_budget`. Later pages keep the lowest seq among them (and
    // the figures), so they rank the same set.
    ranked = rank_walked(c, q, f, page);
    if (!page.stats) {
      return page;  // nothing matches
    }
  } else {
    page.stats = q.stats ? q.stats : measure_cached(c, *q.filter.match, *f.max_seq);
    if (!page.stats) {
      return page;  // nothing matches
    }
    const std::optional<std::int64_t> floor = q.rank_floor;
    page.rank_floor = floor;
    const auto stats = stats_text(*page.stats);
    Sql sql;
    const auto drive = drive_of(f, false);
    sql.add(std::string("SELECT seq, score FROM (SELECT ") + seq_column(drive) +
                " AS seq, mlrank(documents_fts, ?) AS score",
            stats);
    auto where = from_where(f, drive);
    sql.text += where.text;
    sql.params.insert(sql.params.end(), where.params.begin(), where.params.end());
    if (floor) {
      sql.add(std::string(" AND ") + seq_column(drive) + " >= ?", *floor);
    }
    sql.add(")");
    if (q.after) {
      sql.add(" WHERE score < ?", q.after->score);
      sql.add(" OR (score = ?", q.after->score);
      sql.add(" AND seq > ?)", q.after->seq);
    }
    sql.add(" ORDER BY score DESC, seq LIMIT ?", static_cast<std::int64_t>(q.limit + 1));
    auto st = c.prepare(sql.text);
    sql.bind(st);
    while (st.step()) {
      ranked.emplace_back(st.int64(0), st.real(1));
    }
  }
  page.has_more = ranked.size() > q.limit;
  if (page.has_more) {
    ranked.pop_back();
  }
  for (const auto& [seq, score] : ranked) {
    auto doc = by_seq(c, seq);
    if (!doc) {
      continue;
    }
    page.items.push_back(DocumentHit{std::move(*doc), score, {}, {}});
  }
  decorate_page(c, f, page.items);
  return page;
}

/// True when a text match is common enough that walking the documents in date order, probing
/// each in the full-text index, reaches a page sooner than sorting every match by date: when it
/// has at least max(20,000, 2 % of the documents) matches. Counting stops there.
bool walk_by_date(Connection& c, const DocumentFilter& f) {
  if (!f.match || f.user_id) {
    return false;  // no match to sort, or the user's own documents drive it already
  }
  const std::int64_t enough = std::max<std::int64_t>(20000, max_seq(c) / 50);
  auto st =
      c.prepare("SELECT count(*) FROM (SELECT 1 FROM documents_fts WHERE documents_fts MATCH ? LIMIT ?)");
  st.bind(1, std::string_view(*f.match)).bind(2, enough);
  st.step();
  return st.int64(0) >= enough;
}

/// A page read by date with one row more than its limit: whether there are more, and the hits'
/// snippets and titles.
DocumentPage finished(Connection& c, const DocumentQuery& q, DocumentPage page) {
  page.has_more = page.items.size() > q.limit;
  if (page.has_more) {
    page.items.pop_back();
  }
  decorate_page(c, q.filter, page.items);
  return page;
}

/// The page of a user's documents by sync date, without a text match: each level of the owner
/// index gives the user's entries in date order (owner_documents by its key, owner_recent, which
/// is bounded, sorted) and SQLite merges the two, reading documents until the page is full. A
/// user's newest documents cost the same whether they have 100 or 100,000.
DocumentPage user_by_sync_date(Connection& c, const DocumentQuery& q) {
  DocumentPage page;
  const bool newest = q.sort != DocumentSort::oldest;
  Sql sql;
  for (const char* level : {"owner_documents", "owner_recent"}) {
    sql.add(sql.text.empty() ? "SELECT o.synced_at AS at, o.doc AS seq"
                             : " UNION ALL SELECT o.synced_at, o.doc");
    auto where = from_where(q.filter, Drive::documents, level);
    sql.text += where.text;
    sql.params.insert(sql.params.end(), where.params.begin(), where.params.end());
    if (q.after) {
      const char* cmp = newest ? " < ?" : " > ?";
      sql.add(std::string(" AND (o.synced_at") + cmp, q.after->value);
      sql.add(" OR (o.synced_at = ?", q.after->value);
      sql.add(std::string(" AND o.doc") + cmp + "))", q.after->seq);
    }
  }
  sql.add(std::string(" ORDER BY at") + (newest ? " DESC, seq DESC" : ", seq") + " LIMIT ?",
          static_cast<std::int64_t>(q.limit + 1));
  {
    auto st = c.prepare(sql.text);
    sql.bind(st);
    while (st.step()) {
      if (auto doc = by_seq(c, st.int64(1))) {
        page.items.push_back(DocumentHit{std::move(*doc), 0, {}, {}});
      }
    }
  }
  return finished(c, q, std::move(page));
}

DocumentPage by_date(Connection& c, const DocumentQuery& q) {
  DocumentPage page;
  const bool newest = q.sort != DocumentSort::oldest;
  const auto drive = drive_of(q.filter, true, walk_by_date(c, q.filter));
  if (drive == Drive::documents && by_owner(q.filter, drive) && q.filter.date == DocumentDate::synced) {
    return user_by_sync_date(c, q);
  }
  const std::string date = date_column(q.filter, drive);
  const std::string seq = seq_column(drive);
  // Driven by the documents' date index, the statement reads the page's rows only. Driven by the
  // full-text index (or by a user's documents, each probed), every match is sorted by date before
  // the first comes back: the sort then holds only each match's date and seq, and the page's
  // documents are read afterwards, 51 rowid seeks instead of every match's columns in the sorter
  // (4,021 matches of a rare word: 16 ms -> 10 ms, docs/benchmarks.md). So too when a user's
  // entries in the owner index drive it: they are sorted by date, not walked in its order.
  const bool narrow = drive != Drive::documents || by_owner(q.filter, drive);
  Sql sql;
  if (narrow) {
    sql.add("SELECT " + seq);
  } else {
    sql.add(std::string("SELECT ") + kColumns, static_cast<std::int64_t>(kPreviewChars));
  }
  auto where = from_where(q.filter, drive);
  sql.text += where.text;
  sql.params.insert(sql.params.end(), where.params.begin(), where.params.end());
  if (q.after) {
    const char* cmp = newest ? " < ?" : " > ?";
    sql.add(" AND (" + date + cmp, q.after->value);
    sql.add(" OR (" + date + " = ?", q.after->value);
    sql.add(" AND " + seq + cmp + "))", q.after->seq);
  }
  sql.add(" ORDER BY " + date + (newest ? " DESC, " : ", ") + seq + (newest ? " DESC" : "") + " LIMIT ?",
          static_cast<std::int64_t>(q.limit + 1));
  {
    auto st = c.prepare(sql.text);
    sql.bind(st);
    while (st.step()) {
      if (!narrow) {
        page.items.push_back(DocumentHit{read_document(st), 0, {}, {}});
      } else if (auto doc = by_seq(c, st.int64(0))) {
        page.items.push_back(DocumentHit{std::move(*doc), 0, {}, {}});
      }
    }
  }
  return finished(c, q, std::move(page));
}

}  // namespace

void set_rank_budget(std::chrono::microseconds budget) {
  rank_budget_us = budget.count();
}

std::chrono::microseconds rank_budget() {
  return std::chrono::microseconds(rank_budget_us.load());
}

std::string marked_html(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, kOpen.size(), kOpen) == 0) {
      out += "<mark>";
      i += kOpen.size() - 1;
      continue;
    }
    if (text.compare(i, kClose.size(), kClose) == 0) {
      out += "</mark>";
      i += kClose.size() - 1;
      continue;
    }
    switch (text[i]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(text[i]);
    }
  }
  return out;
}

namespace {

/// Runs `fn` with every statement of `c` stopped once `deadline` has passed (0: no deadline): no
/// query a client asks for holds a connection, or the write lock a job waits for, past it. SQLite
/// calls the progress handler every 1,000 virtual machine steps, and a non-zero answer stops the
/// statement with SQLITE_INTERRUPT, which becomes a domain error `query_timeout` (503) whose
/// message begins with `what` and ends with `advice`.
template <class F>
auto within(Connection& c, std::chrono::microseconds deadline, std::string_view what, std::string_view advice,
            F&& fn) -> decltype(fn()) {
  if (deadline.count() <= 0) {
    return fn();
  }
  struct Deadline {
    Connection& c;
    std::chrono::steady_clock::time_point at;
    Deadline(Connection& conn, std::chrono::microseconds after)
        : c(conn), at(std::chrono::steady_clock::now() + after) {
      sqlite3_progress_handler(
          c.handle(), 1000,
          [](void* p) { return std::chrono::steady_clock::now() >= static_cast<Deadline*>(p)->at ? 1 : 0; },
          this);
    }
    ~Deadline() { sqlite3_progress_handler(c.handle(), 0, nullptr, nullptr); }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
  };
  try {
    Deadline bound(c, deadline);
    return fn();
  } catch (const std::exception& e) {
    if (!is_interrupted(e)) {
      throw;
    }
    const auto ms = std::to_string(std::chrono::ceil<std::chrono::milliseconds>(deadline).count());
    throw domain::Error(
        domain::ErrorKind::unavailable, "query_timeout",
        std::string(what) + " took longer than " + ms + " ms and was stopped; " + std::string(advice))
        .with("deadlineMs", ms);
  }
}

constexpr std::string_view kFilterWhat = "finding the documents the filter matches";
constexpr std::string_view kFilterAdvice =
    "narrow the filter (more words, a type, a user or a date range), or try again";

}  // namespace

DocumentPage search(Connection& c, const DocumentQuery& q) {
  return within(c, q.deadline, "the search", "add words or filters to narrow it, or try again", [&] {
    return q.sort == DocumentSort::relevance && q.filter.match ? by_relevance(c, q) : by_date(c, q);
  });
}

std::int64_t count_matching(Connection& c, const DocumentFilter& f, std::chrono::microseconds deadline) {
  Sql sql;
  sql.add("SELECT count(*)");
  auto where = from_where(f, drive_of(f, false));
  sql.text += where.text;
  sql.params = std::move(where.params);
  return within(c, deadline, kFilterWhat, kFilterAdvice, [&] {
    auto st = c.prepare(sql.text);
    sql.bind(st);
    st.step();
    return st.int64(0);
  });
}

namespace {

/// The documents a query of kColumns answers, in its order.
std::vector<Document> documents_of(Connection& c, const Sql& sql) {
  auto st = c.prepare(sql.text);
  sql.bind(st);
  std::vector<Document> out;
  while (st.step()) {
    out.push_back(read_document(st));
  }
  return out;
}

}  // namespace

std::vector<Document> matching_after(Connection& c, const DocumentFilter& f, std::int64_t after_seq,
                                     std::size_t limit, std::chrono::microseconds deadline) {
  Sql sql;
  const auto drive = drive_of(f, true);
  sql.add(std::string("SELECT ") + kColumns, std::int64_t{0});
  auto where = from_where(f, drive);
  sql.text += where.text;
  sql.params.insert(sql.params.end(), where.params.begin(), where.params.end());
  const std::string seq = seq_column(drive);
  sql.add(" AND " + seq + " > ?", after_seq);
  sql.add(" ORDER BY " + seq + " LIMIT ?", static_cast<std::int64_t>(limit));
  return within(c, deadline, kFilterWhat, kFilterAdvice, [&] { return documents_of(c, sql); });
}

std::vector<Document> matching_among(Connection& c, const DocumentFilter& f,
                                     const std::vector<std::int64_t>& seqs) {
  if (seqs.empty()) {
    return {};
  }
  boost::json::array list;
  for (const auto seq : seqs) {
    list.emplace_back(seq);
  }
  // Driven by the documents of these seqs (rowid seeks), so that the work is bounded by the seqs
  // given. A text match is checked against the documents' text as it is now, not against the
  // full-text index, which takes a commit's documents a moment after it (docs/performance.md, "The
  // full-text index in a file of its own"): the documents are indexed on their own in
  // search_candidates (defined as documents_fts is, so that a document matches there exactly when
  // it matches there) and matched there.
  const std::string rows = boost::json::serialize(list);
  Sql sql;
  sql.add(std::string("SELECT ") + kColumns, std::int64_t{0});
  auto where = from_where(f, Drive::listed);
  sql.text += where.text;
  sql.params.insert(sql.params.end(), where.params.begin(), where.params.end());
  sql.add(" AND d.rowid IN (SELECT value FROM json_each(?))", rows);
  if (f.match) {
    c.exec(kCandidatesTable);
    c.exec("INSERT INTO temp.search_candidates(search_candidates) VALUES('delete-all')");
    auto fill = c.prepare(
        "INSERT INTO temp.search_candidates(rowid, title, text) SELECT rowid, title, text FROM documents"
        " WHERE rowid IN (SELECT value FROM json_each(?))");
    fill.bind(1, std::string_view(rows));
    fill.exec();
    sql.add(" AND d.rowid IN (SELECT rowid FROM temp.search_candidates WHERE search_candidates MATCH ?)",
            *f.match);
  }
  sql.add(" ORDER BY d.rowid");
  auto out = documents_of(c, sql);
  if (f.match) {
    c.exec("INSERT INTO temp.search_candidates(search_candidates) VALUES('delete-all')");
  }
  return out;
}

std::optional<Document> find(Connection& c, std::string_view id) {
  auto st = c.prepare(std::string("SELECT ") + kColumns + " FROM documents d WHERE d.id = ?");
  st.bind(1, std::int64_t{std::numeric_limits<int>::max()}).bind(2, id);  // the whole text
  if (!st.step()) {
    return std::nullopt;
  }
  return read_document(st);
}

std::vector<Document> find_many(Connection& c, const std::vector<std::string>& ids) {
  boost::json::array list;
  for (const auto& id : ids) {
    list.emplace_back(id);
  }
  auto st = c.prepare(std::string("SELECT ") + kColumns +
                      " FROM documents d WHERE d.id IN (SELECT value FROM json_each(?))");
  st.bind(1, std::int64_t{0}).bind(2, std::string_view(boost::json::serialize(list)));
  std::vector<Document> out;
  while (st.step()) {
    out.push_back(read_document(st));
  }
  return out;
}

std::int64_t max_seq(Connection& c) {
  auto st = c.prepare("SELECT coalesce(max(rowid), 0) FROM documents");
  st.step();
  return st.int64(0);
}

}  // namespace mladmin::store::sqlite::documents

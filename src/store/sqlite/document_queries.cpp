#include "store/sqlite/document_queries.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <limits>
#include <mutex>
#include <numeric>
#include <unordered_map>
#include <variant>

#include "domain/error.hpp"

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
/// caller needs their columns. CROSS JOIN fixes the order so SQLite's planner keeps it.
enum class Drive { documents, user_documents, fts_joined, fts_only };

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

const char* date_column(const DocumentFilter& f) {
  return f.date == DocumentDate::source ? "d.source_created_at" : "d.synced_at";
}

/// "FROM … WHERE …" for the filter, driven as drive_of() says.
Sql from_where(const DocumentFilter& f, Drive drive) {
  Sql sql;
  switch (drive) {
    case Drive::documents:
      sql.add(" FROM documents d WHERE 1 = 1");
      break;
    case Drive::user_documents:
      sql.add(
          " FROM documents d CROSS JOIN documents_fts ON documents_fts.rowid = d.rowid"
          " WHERE documents_fts MATCH ?",
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
  }
  if (f.type) {
    sql.add(" AND d.source_type = ?", std::string(domain::to_string(*f.type)));
  }
  if (f.user_id) {
    sql.add(" AND d.user_id = ?", *f.user_id);
  }
  if (f.from) {
    sql.add(std::string(" AND ") + date_column(f) + " >= ?", *f.from);
  }
  if (f.to) {
    sql.add(std::string(" AND ") + date_column(f) + " < ?", *f.to);
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

/// An upper bound of the matches: every match holds at least one of the phrases.
std::int64_t matches_at_most(const RankStats& s) {
  return std::accumulate(s.phrase_rows.begin(), s.phrase_rows.end(), std::int64_t{0});
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

/// Fills the snippet and highlighted title of a hit: from the full-text index when the query has
/// a text match, else the start of the text.
void decorate(Connection& c, const DocumentFilter& f, DocumentHit& hit) {
  if (f.match) {
    auto st = c.prepare(
        "SELECT snippet(documents_fts, 1, ?1, ?2, '…', ?3), highlight(documents_fts, 0, ?1, ?2) "
        "FROM documents_fts WHERE documents_fts MATCH ?4 AND rowid = ?5");
    st.bind(1, kOpen).bind(2, kClose).bind(3, static_cast<std::int64_t>(kSnippetTokens));
    st.bind(4, std::string_view(*f.match)).bind(5, hit.doc.seq);
    if (st.step()) {
      hit.snippet = marked_html(st.text(0));
      hit.title_html = marked_html(st.text(1));
      hit.doc.text.clear();
      return;
    }
  }
  hit.snippet = marked_html(hit.doc.text);
  if (hit.doc.text.size() >= static_cast<std::size_t>(kPreviewChars)) {
    hit.snippet += "…";
  }
  hit.title_html = marked_html(hit.doc.title);
  hit.doc.text.clear();
}

/// The seq of the (n+1)-th newest match of the filter, if there are more than n: the candidates
/// ranked are the matches above it.
std::optional<std::int64_t> seq_past_newest(Connection& c, const DocumentFilter& f, std::size_t n) {
  const auto drive = drive_of(f, false);
  Sql sql;
  sql.add(std::string("SELECT ") + seq_column(drive));
  auto where = from_where(f, drive);
  sql.text += where.text;
  sql.params = std::move(where.params);
  sql.add(std::string(" ORDER BY ") + seq_column(drive) + " DESC LIMIT 1 OFFSET ?",
          static_cast<std::int64_t>(n));
  auto st = c.prepare(sql.text);
  sql.bind(st);
  return st.step() ? std::optional(st.int64(0)) : std::nullopt;
}

DocumentPage by_relevance(Connection& c, const DocumentQuery& q) {
  DocumentPage page;
  DocumentFilter f = q.filter;
  if (!f.max_seq) {
    f.max_seq = max_seq(c);
  }
  page.max_seq = *f.max_seq;
  page.stats = q.stats ? q.stats : measure_cached(c, *q.filter.match, *f.max_seq);
  if (!page.stats) {
    return page;  // nothing matches
  }
  // A very common word matches a large share of the corpus, and ranking costs about 0.7 µs per
  // match: past `rank_candidates` matches, only the newest that many are ranked. The first page
  // finds the lowest seq among them; later pages keep it, so they rank the same set.
  std::optional<std::int64_t> floor = q.rank_floor;
  if (!q.stats && q.rank_candidates > 0 &&
      matches_at_most(*page.stats) > static_cast<std::int64_t>(q.rank_candidates)) {
    if (const auto past = seq_past_newest(c, f, q.rank_candidates)) {
      floor = *past + 1;
      page.ranked_over = static_cast<std::int64_t>(q.rank_candidates);
    }
  }
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
  std::vector<std::pair<std::int64_t, double>> ranked;
  {
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
    DocumentHit hit{std::move(*doc), score, {}, {}};
    decorate(c, f, hit);
    page.items.push_back(std::move(hit));
  }
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

DocumentPage by_date(Connection& c, const DocumentQuery& q) {
  DocumentPage page;
  const bool newest = q.sort != DocumentSort::oldest;
  const std::string date = date_column(q.filter);
  const auto drive = drive_of(q.filter, true, walk_by_date(c, q.filter));
  const std::string seq = seq_column(drive);
  Sql sql;
  sql.add(std::string("SELECT ") + kColumns, static_cast<std::int64_t>(kPreviewChars));
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
      page.items.push_back(DocumentHit{read_document(st), 0, {}, {}});
    }
  }
  page.has_more = page.items.size() > q.limit;
  if (page.has_more) {
    page.items.pop_back();
  }
  for (auto& hit : page.items) {
    decorate(c, q.filter, hit);
  }
  return page;
}

}  // namespace

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
  return within(c, deadline, kFilterWhat, kFilterAdvice, [&] {
    auto st = c.prepare(sql.text);
    sql.bind(st);
    std::vector<Document> out;
    while (st.step()) {
      out.push_back(read_document(st));
    }
    return out;
  });
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
  // Without a text match: driven by the documents of these seqs (rowid seeks). With one: one walk
  // of the full-text index between the lowest and the highest of them (its rowid bounds), rather
  // than a full-text query per document; the seqs are a search's consecutive matches, so the walk
  // meets few others. Either way the work is bounded by the seqs given.
  const auto [low, high] = std::minmax_element(seqs.begin(), seqs.end());
  const auto drive = f.match ? Drive::fts_joined : Drive::documents;
  Sql sql;
  sql.add(std::string("SELECT ") + kColumns, std::int64_t{0});
  auto where = from_where(f, drive);
  sql.text += where.text;
  sql.params.insert(sql.params.end(), where.params.begin(), where.params.end());
  if (f.match) {
    sql.add(" AND documents_fts.rowid >= ?", *low);
    sql.add(" AND documents_fts.rowid <= ?", *high);
  }
  sql.add(" AND d.rowid IN (SELECT value FROM json_each(?))", boost::json::serialize(list));
  sql.add(std::string(" ORDER BY ") + seq_column(drive));
  auto st = c.prepare(sql.text);
  sql.bind(st);
  std::vector<Document> out;
  while (st.step()) {
    out.push_back(read_document(st));
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

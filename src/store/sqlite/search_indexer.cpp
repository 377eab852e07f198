#include "store/sqlite/search_indexer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/sqlite/connection.hpp"
#include "util/thread_priority.hpp"

namespace mladmin::store::sqlite {

namespace {

/// Contentless (`content=''`): the index keeps the words' positions and the documents' lengths
/// (what matching and ranking read), not a copy of the texts; snippets and highlights are made
/// from the documents (document_queries.cpp, decorate_page). The same definition as the readers'
/// temp.search_candidates, so that a document matches in one exactly when it matches in the other.
constexpr const char* kIndexSchema =
    "CREATE TABLE IF NOT EXISTS index_state (id INTEGER PRIMARY KEY CHECK (id = 1), through INTEGER NOT "
    "NULL) "
    "STRICT; "
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(title, text, content='')";

constexpr std::int64_t kNew = -1;  ///< index_state.through of an index not built yet

/// FTS5's automerge: segments of one level merged once this many are there (FTS5's default 4).
/// At 8 a full sync of 1,000,000 documents ran 8.6 % faster (three alternated pairs, 12 % less
/// CPU per item: fewer merges rewrite the index), and searches stayed well within their bound
/// (docs/benchmarks.md, "FTS5's automerge"); 16 gained nothing more.
constexpr int kAutomerge = 8;

/// FTS5's hashsize: the bytes of words an indexing transaction gathers in memory before it writes
/// them out as a segment (FTS5's default 1 MiB). A pass of a full sync indexes a commit of up to
/// 16,000 documents: with 1 MiB it wrote about ten small segments each, which the merges then
/// rewrote; with 16 MiB one, and the indexer spent ~1 µs less per document (docs/benchmarks.md,
/// "Shaping a record, the writer's table of ids, FTS5's hashsize"). The memory is held during a
/// pass only; 64 MiB gained nothing more.
constexpr int kHashSize = 16 << 20;

/// A pass takes changes until they name this many documents (at least one change): it bounds
/// the memory a pass holds (the removed documents' texts) and the index file's transaction, when
/// the indexer has much to catch up (after a restart, say).
constexpr std::int64_t kPassDocuments = 100'000;

/// The number of the last change the database recorded (0: none yet).
std::int64_t last_recorded_change(Connection& c) {
  auto st = c.prepare("SELECT seq FROM src.sqlite_sequence WHERE name = 'search_index_changes'");
  return st.step() ? st.int64(0) : 0;
}

/// Brings the index from the change `from` to `to` (both recorded, in the snapshot the
/// connection reads): removes every document whose first change in the range took its title or
/// text out of the index (with the title and text it had, which a contentless index needs), then
/// indexes what each document named in the range holds now (a deleted one is not there). A
/// document's first change decides: one that a change of the range inserted was not in the index
/// before it, whatever happened to its rowid after. Returns the documents indexed.
std::int64_t apply_changes(Connection& c, std::int64_t from, std::int64_t to) {
  auto st = c.prepare(
      "SELECT c.seq, 0, j.value, NULL, NULL FROM src.search_index_changes c, json_each(c.inserted) j "
      "WHERE c.seq > ?1 AND c.seq <= ?2 "
      "UNION ALL "
      "SELECT c.seq, 1, j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM src.search_index_changes c, "
      "json_each(c.removed) j WHERE c.seq > ?1 AND c.seq <= ?2 "
      "ORDER BY 1");
  st.bind(1, from).bind(2, to);
  auto remove =
      c.prepare("INSERT INTO documents_fts (documents_fts, rowid, title, text) VALUES ('delete', ?, ?, ?)");
  std::unordered_set<std::int64_t> named;
  std::string rowids = "[";
  while (st.step()) {
    const std::int64_t rowid = st.int64(2);
    if (!named.insert(rowid).second) {
      continue;  // its first change in the range decided
    }
    if (rowids.size() > 1) {
      rowids += ',';
    }
    rowids += std::to_string(rowid);
    if (st.int64(1) == 1) {
      const std::string title = st.text(3);
      const std::string text = st.text(4);
      remove.bind(1, rowid).bind(2, std::string_view(title)).bind(3, std::string_view(text));
      remove.exec();
      remove.reset();
    }
  }
  rowids += ']';
  if (named.empty()) {
    return 0;
  }
  auto add = c.prepare(
      "INSERT INTO documents_fts (rowid, title, text) SELECT rowid, title, text FROM src.documents WHERE "
      "rowid IN (SELECT value FROM json_each(?1))");
  add.bind(1, std::string_view(rowids));
  return add.exec();
}

}  // namespace

std::string search_index_path(const std::string& database_path) {
  return database_path + "-search";
}

std::string sql_string(const std::string& s) {
  char* quoted = sqlite3_mprintf("%Q", s.c_str());  // SQLite's own quoting: ' doubled
  if (quoted == nullptr) {
    throw std::bad_alloc();
  }
  std::string out(quoted);
  sqlite3_free(quoted);
  return out;
}

void create_search_index(const std::string& index_path) {
  Connection c(index_path);
  bool old_table = false;
  {
    // 0013's index kept the texts (contentful): it is dropped and built again contentless.
    auto st = c.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'documents_fts'");
    old_table = st.step() && st.text(0).find("content=''") == std::string::npos;
  }
  if (old_table) {
    c.exec("BEGIN IMMEDIATE; DROP TABLE documents_fts; DROP TABLE IF EXISTS index_state; COMMIT");
    spdlog::info("msg=\"the search index keeps no copy of the texts now: it is built again\" file=\"{}\"",
                 index_path);
  }
  c.exec(kIndexSchema);
  // Kept in the index file (documents_fts_config): written when it differs, as in an older file.
  for (const auto& [key, value] :
       {std::pair<const char*, int>{"automerge", kAutomerge}, {"hashsize", kHashSize}}) {
    bool set = false;
    {
      auto st = c.prepare("SELECT v FROM documents_fts_config WHERE k = ?1");
      st.bind(1, std::string_view(key));
      set = st.step() && st.int64(0) == value;
    }
    if (!set) {
      c.exec("INSERT INTO documents_fts (documents_fts, rank) VALUES ('" + std::string(key) + "', " +
             std::to_string(value) + ")");
    }
  }
}

SearchIndexer::SearchIndexer(std::string database_path, std::chrono::milliseconds interval, int thread_nice)
    : database_path_(std::move(database_path)), interval_(interval), thread_([this, thread_nice] {
        util::name_and_lower_this_thread("search-index", thread_nice);
        run();
      }) {}

SearchIndexer::~SearchIndexer() {
  {
    std::lock_guard lock(m_);
    stop_ = true;
    if (conn_ != nullptr) {
      // A pass under way (building a large index again takes seconds) stops at once and rolls
      // back; the changes stay recorded for the next process.
      sqlite3_interrupt(conn_->handle());
    }
  }
  cv_.notify_all();
  thread_.join();
}

void SearchIndexer::nudge() {
  {
    std::lock_guard lock(m_);
    nudged_ = true;
  }
  cv_.notify_all();
}

bool SearchIndexer::wait_for(std::int64_t seq, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(m_);
  return indexed_.wait_until(lock, deadline, [&] { return through_.load() >= seq || stop_; }) &&
         through_.load() >= seq;
}

void SearchIndexer::run() {
  std::unique_ptr<Connection> conn;
  for (;;) {
    {
      std::unique_lock lock(m_);
      if (!stop_ && !nudged_) {
        cv_.wait_for(lock, interval_, [&] { return stop_ || nudged_; });
      }
      if (stop_) {
        break;
      }
      nudged_ = false;
    }
    try {
      if (!conn) {
        // The index file is made 0600 like the database (Connection), before anything reads it.
        conn = std::make_unique<Connection>(search_index_path(database_path_));
        conn->exec(kIndexSchema);
        conn->exec("ATTACH DATABASE " + sql_string(database_path_) + " AS src");
        std::lock_guard lock(m_);
        conn_ = conn.get();
      }
      while (pass()) {
        std::lock_guard lock(m_);
        if (stop_) {
          break;
        }
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(m_);
      if (!stop_) {
        // Tried again at the next interval; the changes stay recorded until a pass indexes them.
        spdlog::warn("msg=\"the search index could not be brought up to date\" error=\"{}\"", e.what());
      }
      conn_ = nullptr;
      conn.reset();
    }
  }
  std::lock_guard lock(m_);
  conn_ = nullptr;
}

bool SearchIndexer::pass() {
  Connection& c = *conn_;  // set and cleared by this thread only
  // Before any write lock: is there anything to do? (Another process's indexer may share the file.)
  if (!changes_recorded_) {
    auto has_table = c.prepare(
        "SELECT 1 FROM src.sqlite_master WHERE type = 'table' AND name = 'search_index_changes' AND sql "
        "LIKE '%removed%'");
    if (!has_table.step()) {
      return false;  // the database is not migrated yet (0014)
    }
    changes_recorded_ = true;  // a migration is never undone
  }
  std::int64_t through = kNew;
  {
    auto st = c.prepare("SELECT through FROM index_state WHERE id = 1");
    if (st.step()) {
      through = st.int64(0);
    }
  }
  const std::int64_t last = last_recorded_change(c);
  if (through != kNew && through == last) {
    if (through_.load() != through) {
      through_.store(through);
      std::lock_guard lock(m_);
      indexed_.notify_all();
    }
    return false;
  }
  // The index file's write lock first (a write statement waits for it within the busy timeout),
  // then one read snapshot of the database for the changes and the documents.
  c.exec("BEGIN");
  std::int64_t indexed = 0;
  std::int64_t now_through = 0;
  try {
    c.exec("INSERT INTO index_state (id, through) VALUES (1, -1) ON CONFLICT (id) DO NOTHING");
    {
      auto st = c.prepare("SELECT through FROM index_state WHERE id = 1");
      st.step();
      through = st.int64(0);
    }
    const std::int64_t last_change = last_recorded_change(c);
    // Built again: a new index, or one that has taken changes this database never recorded (a
    // database file restored from an older copy beside a newer index file).
    bool rebuild = through == kNew || through > last_change;
    now_through = through;
    if (!rebuild) {
      // The changes this pass takes: from the next one on, without a gap, until they name
      // kPassDocuments documents.
      auto st = c.prepare(
          "SELECT seq, json_array_length(inserted) + json_array_length(removed) FROM "
          "src.search_index_changes WHERE seq > ? ORDER BY seq");
      st.bind(1, through);
      std::int64_t named = 0;
      while (named < kPassDocuments && st.step()) {
        const std::int64_t seq = st.int64(0);
        if (seq != now_through + 1) {
          rebuild = true;  // a gap: changes were dropped that this index never took (an older file)
          break;
        }
        now_through = seq;
        named += st.int64(1);
      }
      if (!rebuild && now_through == through && through < last_change) {
        rebuild = true;  // the last changes were dropped before this index took them
      }
    }
    if (rebuild) {
      now_through = last_change;
      c.exec("INSERT INTO documents_fts (documents_fts) VALUES ('delete-all')");
      auto all = c.prepare(
          "INSERT INTO documents_fts (rowid, title, text) SELECT rowid, title, text FROM "
          "src.documents");
      indexed = all.exec();
      spdlog::info("msg=\"search index built from the documents\" documents={} through={}", indexed,
                   now_through);
    } else {
      indexed = apply_changes(c, through, now_through);
    }
    auto save = c.prepare("UPDATE index_state SET through = ? WHERE id = 1");
    save.bind(1, now_through);
    save.exec();
    c.exec("COMMIT");
  } catch (...) {
    c.exec("ROLLBACK");
    throw;
  }
  passes_.fetch_add(1);
  documents_.fetch_add(static_cast<std::uint64_t>(indexed));
  through_.store(now_through);
  {
    std::lock_guard lock(m_);
    indexed_.notify_all();
  }
  return true;
}

}  // namespace mladmin::store::sqlite

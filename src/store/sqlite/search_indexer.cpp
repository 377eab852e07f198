#include "store/sqlite/search_indexer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/connection.hpp"

namespace mladmin::store::sqlite {

namespace {

constexpr const char* kIndexSchema =
    "CREATE TABLE IF NOT EXISTS index_state (id INTEGER PRIMARY KEY CHECK (id = 1), through INTEGER NOT "
    "NULL) "
    "STRICT; "
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(title, text)";

/// Appends the numbers of a JSON array of integers (as the writer records them) to `out`, as
/// the text of one JSON array.
void append_ids(std::string& out, const std::string& json_array) {
  // "[1,2,3]": the writer wrote it; only its inside is taken.
  if (json_array.size() <= 2) {
    return;
  }
  if (out.size() > 1) {
    out += ',';
  }
  out.append(json_array, 1, json_array.size() - 2);
}

constexpr std::int64_t kNew = -1;  ///< index_state.through of an index not built yet

/// The number of the last change the database recorded (0: none yet).
std::int64_t last_recorded_change(Connection& c) {
  auto st = c.prepare("SELECT seq FROM src.sqlite_sequence WHERE name = 'search_index_changes'");
  return st.step() ? st.int64(0) : 0;
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
  c.exec(kIndexSchema);
}

SearchIndexer::SearchIndexer(std::string database_path, std::chrono::milliseconds interval)
    : database_path_(std::move(database_path)), interval_(interval), thread_([this] { run(); }) {}

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
    auto has_table =
        c.prepare("SELECT 1 FROM src.sqlite_master WHERE type = 'table' AND name = 'search_index_changes'");
    if (!has_table.step()) {
      return false;  // the database is not migrated yet (0013)
    }
    changes_recorded_ = true;  // a migration is never undone
  }
  std::int64_t through = kNew;
  std::int64_t last = 0;
  {
    auto st = c.prepare("SELECT through FROM index_state WHERE id = 1");
    if (st.step()) {
      through = st.int64(0);
    }
  }
  last = last_recorded_change(c);
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
    std::string inserted = "[";
    std::string changed = "[";
    // Built again: a new index, or one that has taken changes this database never recorded (a
    // database file restored from an older copy beside a newer index file).
    bool rebuild = through == kNew || through > last_change;
    now_through = through;
    if (!rebuild) {
      auto st =
          c.prepare("SELECT seq, inserted, changed FROM src.search_index_changes WHERE seq > ? ORDER BY seq");
      st.bind(1, through);
      while (st.step()) {
        const std::int64_t seq = st.int64(0);
        if (seq != now_through + 1) {
          rebuild = true;  // a gap: changes were dropped that this index never took (an older file)
          break;
        }
        now_through = seq;
        append_ids(inserted, st.text(1));
        append_ids(changed, st.text(2));
      }
      if (!rebuild && now_through < last_change) {
        rebuild = true;  // the last changes were dropped before this index took them
      }
    }
    if (rebuild) {
      now_through = last_change;
      c.exec("DELETE FROM documents_fts");
      auto all = c.prepare(
          "INSERT INTO documents_fts (rowid, title, text) SELECT rowid, title, text FROM "
          "src.documents");
      indexed = all.exec();
      spdlog::info("msg=\"search index built from the documents\" documents={} through={}", indexed,
                   now_through);
    } else {
      inserted += ']';
      changed += ']';
      if (changed.size() > 2) {
        auto remove = c.prepare("DELETE FROM documents_fts WHERE rowid IN (SELECT value FROM json_each(?1))");
        remove.bind(1, std::string_view(changed));
        remove.exec();
        inserted.pop_back();
        append_ids(inserted, changed);
        inserted += ']';
      }
      // OR REPLACE: a rowid indexed from a newer snapshot than its change (it cannot happen
      // with every change of the snapshot taken at once, but must never stop the indexer).
      auto add = c.prepare(
          "INSERT OR REPLACE INTO documents_fts (rowid, title, text) SELECT rowid, title, text FROM "
          "src.documents WHERE rowid IN (SELECT value FROM json_each(?1))");
      add.bind(1, std::string_view(inserted));
      indexed = add.exec();
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

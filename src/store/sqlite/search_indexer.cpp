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

/// FTS5's automerge: 0, FTS5 merges no segments while it indexes; the indexer merges them when
/// it has been idle for kMergeQuiet (SearchIndexer::merge). During a full sync of 1,000,000
/// documents, merging as it indexed (automerge 8) cost the indexer about 2 µs of its 6.5-7 per
/// document, the whole of its growth from 100,000 documents to 1,000,000 (docs/benchmarks.md,
/// "FTS5 merges when the indexer is idle").
constexpr int kAutomerge = 0;

/// FTS5's crisismerge: a level that reaches this many segments is merged at once, inside the
/// indexing pass, whatever the indexer's backlog: the bound on what a search reads from an index
/// that has not been idle for a long time (a continuous stream of writes). FTS5's default is 16.
constexpr int kCrisisMerge = 64;

/// FTS5's usermerge: an idle merge takes a level once it holds this many segments (FTS5's default
/// 4), so that an idle index keeps at most 7 a level: each document is written again about once
/// for each eightfold growth of the index.
constexpr int kUserMerge = 8;

/// An idle merge writes this many pages (FTS5's pgsz, 4,050 bytes) a transaction: a change that
/// comes meanwhile waits for one step at most, and is indexed before the merge goes on.
constexpr int kMergePages = 1000;

/// A job's commits are indexed a pass at most this often (SearchIndexer::nudge_soon): during a full
/// sync a pass takes the commits of half a second (about 45,000 documents) instead of each commit's
/// 16,000, and writes one segment for them, so that a sync of 1,000,000 leaves 22-30 segments for
/// searches to read until the idle merge (about 64 before), and no crisis merge (kCrisisMerge)
/// falls inside it. Someone waiting for a change (SearchIndexer::wait_for: a request's write, a
/// job's last commit) starts a pass at once.
constexpr std::chrono::milliseconds kPace{500};

/// The indexer merges once nothing new has come for this long (the writer of a sync commits
/// several times a second, so that a sync's segments are merged once after it).
constexpr std::chrono::milliseconds kMergeQuiet{1000};

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
  for (const auto& [key, value] : {std::pair<const char*, int>{"automerge", kAutomerge},
                                   {"crisismerge", kCrisisMerge},
                                   {"usermerge", kUserMerge},
                                   {"hashsize", kHashSize}}) {
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

void SearchIndexer::nudge_soon() {
  {
    std::lock_guard lock(m_);
    soon_ = true;
  }
  cv_.notify_all();
}

void SearchIndexer::nudge() {
  {
    std::lock_guard lock(m_);
    nudged_ = true;
  }
  cv_.notify_all();
}

bool SearchIndexer::wait_merged(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(m_);
  return indexed_.wait_until(lock, deadline, [&] { return !merge_pending_.load() || stop_; }) &&
         !merge_pending_.load();
}

void SearchIndexer::hold_merges(bool hold) {
  {
    std::lock_guard lock(m_);
    hold_merges_ = hold;
  }
  cv_.notify_all();
}

bool SearchIndexer::wait_for(std::int64_t seq, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(m_);
  if (through_.load() < seq && !nudged_) {
    nudged_ = true;  // someone waits: the next pass starts now, paced or not
    cv_.notify_all();
  }
  return indexed_.wait_until(lock, deadline, [&] { return through_.load() >= seq || stop_; }) &&
         through_.load() >= seq;
}

void SearchIndexer::run() {
  std::unique_ptr<Connection> conn;
  auto last_indexed = std::chrono::steady_clock::now();
  for (;;) {
    {
      // A nudge starts a pass at once; a job's commit (nudge_soon) and the interval's look for
      // changes no sooner than kPace after the last pass that indexed something began.
      std::unique_lock lock(m_);
      const auto timed = std::chrono::steady_clock::now() + interval_;
      for (;;) {
        if (stop_ || nudged_) {
          break;
        }
        const auto now = std::chrono::steady_clock::now();
        if ((soon_ || now >= timed) && now >= paced_until_) {
          break;
        }
        cv_.wait_until(lock, soon_ ? paced_until_ : std::max(timed, paced_until_));
      }
      if (stop_) {
        break;
      }
      nudged_ = false;
      soon_ = false;
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
      // One pass, then back to the wait: a job's next commits wait for the pace (a pass behind
      // by more than a pass's worth goes on at once).
      const auto started = std::chrono::steady_clock::now();
      if (pass()) {
        last_indexed = std::chrono::steady_clock::now();
        paced_until_ = started + kPace;
        if (behind_) {
          std::lock_guard lock(m_);
          soon_ = true;
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
      continue;
    }
    bool held = false;
    {
      std::lock_guard lock(m_);
      held = hold_merges_;
    }
    if (!held && merge_pending_.load() && std::chrono::steady_clock::now() - last_indexed >= kMergeQuiet) {
      bool more = false;
      try {
        more = merge();
      } catch (const std::exception& e) {
        std::lock_guard lock(m_);
        if (!stop_) {
          // Nothing is lost: the segments stay as they are, searchable, until the next pass that
          // indexes something wants a merge again (a full disk would fail every retry).
          spdlog::warn("msg=\"the search index's segments could not be merged\" error=\"{}\"", e.what());
        }
      }
      if (!more) {
        std::lock_guard lock(m_);
        merge_pending_.store(false);
        indexed_.notify_all();
      }
    }
  }
  std::lock_guard lock(m_);
  conn_ = nullptr;
}

bool SearchIndexer::merge() {
  Connection& c = *conn_;
  auto step = c.prepare("INSERT INTO documents_fts (documents_fts, rank) VALUES ('merge', ?1)");
  step.bind(1, static_cast<std::int64_t>(kMergePages));
  for (;;) {
    {
      std::lock_guard lock(m_);
      if (stop_ || nudged_ || soon_ || hold_merges_) {
        return true;  // changes first; the merge goes on once quiet again, where it stopped
      }
    }
    // FTS5 counts two changes or more when a step merged something, fewer when there was nothing
    // to merge (a level of kUserMerge segments, or a merge under way).
    const auto before = sqlite3_total_changes64(c.handle());
    step.exec();
    step.reset();
    if (sqlite3_total_changes64(c.handle()) - before < 2) {
      return false;
    }
    merge_steps_.fetch_add(1);
  }
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
  std::int64_t last_change = 0;  // the last change recorded, in this pass's snapshot
  try {
    c.exec("INSERT INTO index_state (id, through) VALUES (1, -1) ON CONFLICT (id) DO NOTHING");
    {
      auto st = c.prepare("SELECT through FROM index_state WHERE id = 1");
      st.step();
      through = st.int64(0);
    }
    last_change = last_recorded_change(c);
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
  merge_pending_.store(true);  // before through_: whoever saw this pass's changes indexed waits for it
  behind_ = now_through < last_change;
  through_.store(now_through);
  {
    std::lock_guard lock(m_);
    indexed_.notify_all();
  }
  return true;
}

}  // namespace mladmin::store::sqlite

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace mladmin::store::sqlite {

class Connection;

/// The file of the full-text index beside the database at `database_path` (docs/performance.md,
/// "The full-text index in a file of its own").
std::string search_index_path(const std::string& database_path);
/// Makes the index file at `index_path` if it is missing (mode 0600, WAL), with its tables.
void create_search_index(const std::string& index_path);
/// `s` as an SQL string literal (for ATTACH, which takes no bound file name in every context).
std::string sql_string(const std::string& s);

/// Keeps the full-text index (`documents_fts` in the file search_index_path()) in step with the
/// documents, on a thread and a connection of its own, so that indexing runs beside the writer
/// of the documents instead of inside its transactions (SQLite allows one writer per file).
///
/// The writer records, in the same transaction as the documents, which rowids it inserted and,
/// for each document whose title or text left the index (changed or deleted), its rowid with the
/// title and text it had (the table `search_index_changes` of the database, migration 0014).
/// Each pass of the indexer takes every change recorded after the last one it indexed, in one
/// read snapshot of the database, and in one transaction of the index file removes the old
/// entries (a contentless index, FTS5 `content=''`, keeps no copy of the texts, so a removal
/// needs the text the document was indexed with), indexes the documents those rowids hold in
/// that snapshot, and stores the last change's number (docs/performance.md, "The full-text
/// index in a file of its own"). A crash between the two commits loses nothing: the changes stay
/// recorded and the next pass, in this process or the next, indexes them again. A missing or
/// empty index file is built again from the documents.
///
/// FTS5 merges none of the index's segments (b-trees) while the indexer indexes: once nothing new
/// has come for a second, the indexer merges them, a short transaction at a time, and stops for
/// any change that comes meanwhile (docs/performance.md, "FTS5 merges when the indexer is idle").
class SearchIndexer final {
 public:
  /// `thread_nice`: its thread's nice value (util::name_and_lower_this_thread;
  /// StoreOptions::background_nice).
  SearchIndexer(std::string database_path, std::chrono::milliseconds interval, int thread_nice = 0);
  ~SearchIndexer();
  SearchIndexer(const SearchIndexer&) = delete;
  SearchIndexer& operator=(const SearchIndexer&) = delete;

  /// Starts a pass now (after a commit that recorded changes).
  void nudge();
  /// Starts a pass soon: at once when the last pass that indexed something began a pace ago
  /// (kPace in search_indexer.cpp), else then (after a job's commit, which nobody waits for).
  void nudge_soon();
  /// The number of the last change indexed (0: none yet; -1: the index is not built yet).
  std::int64_t indexed_through() const { return through_.load(); }
  /// Waits until the change `seq` is indexed, at most until `deadline`; true when it is.
  bool wait_for(std::int64_t seq, std::chrono::steady_clock::time_point deadline);
  /// Passes that indexed something, and the documents they indexed (for tests and metrics).
  std::uint64_t passes() const { return passes_.load(); }
  std::uint64_t documents_indexed() const { return documents_.load(); }
  /// Waits until the index's segments are merged as far as an idle index merges them (no pass
  /// has indexed anything since the last merge ended), at most until `deadline`; true when they are.
  bool wait_merged(std::chrono::steady_clock::time_point deadline);
  /// Holds the idle merge off (true) or lets it run again (false): for benchmarks of an unmerged
  /// index (bench/search_bench.cpp) and tests.
  void hold_merges(bool hold);
  /// Steps of the idle merge that merged something (for tests and metrics).
  std::uint64_t merge_steps() const { return merge_steps_.load(); }

 private:
  void run();
  /// One pass; returns false when there was nothing to do.
  bool pass();
  /// Merges the index's segments, a step of kMergePages pages a transaction, until FTS5 finds
  /// nothing to merge (false) or a change or the stop comes (true: more to merge).
  bool merge();

  std::string database_path_;
  std::chrono::milliseconds interval_;
  Connection* conn_ = nullptr;             ///< the thread's connection, while it has one
  bool changes_recorded_ = false;          ///< the database has search_index_changes (0013)
  bool behind_ = false;                    ///< the last pass stopped at kPassDocuments before the last change
  std::atomic<std::int64_t> through_{-1};  ///< -1: not built yet
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<std::uint64_t> documents_{0};
  std::atomic<std::uint64_t> merge_steps_{0};
  /// A pass indexed something since the last merge ended (true at the start: an index opened may
  /// hold segments an earlier process left unmerged).
  std::atomic<bool> merge_pending_{true};
  std::mutex m_;
  std::condition_variable cv_;       ///< wakes the thread (nudge, stop)
  std::condition_variable indexed_;  ///< wakes wait_for
  bool nudged_ = false;
  bool soon_ = false;  ///< nudge_soon: a pass once paced_until_ has come
  /// When the last pass that indexed something began, plus kPace (the thread's own).
  std::chrono::steady_clock::time_point paced_until_{};
  bool stop_ = false;
  bool hold_merges_ = false;
  std::thread thread_;  ///< last: starts once the rest is set up
};

}  // namespace mladmin::store::sqlite

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/checkpointer.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/search_indexer.hpp"
#include "store/store.hpp"
#include "store/store_options.hpp"

namespace mladmin::store::sqlite {

/// A mutex handed over in arrival order. The writer connection needs it: a sync worker commits
/// batch after batch and, with a plain std::mutex, takes the lock again before a waiting request
/// thread wakes up, so that a start, cancel or record write waits until the whole sync is done.
class FairMutex final {
 public:
  void lock() {
    std::unique_lock l(m_);
    const auto ticket = next_++;
    cv_.wait(l, [&] { return serving_ == ticket; });
  }
  void unlock() {
    {
      std::lock_guard l(m_);
      ++serving_;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::uint64_t next_ = 0;
  std::uint64_t serving_ = 0;
};

/// The SQLite back end: one writer connection (writes are serialized, and open with
/// BEGIN IMMEDIATE) and a pool of reader connections, all in WAL mode. The writer does not
/// checkpoint the WAL in its commits: a Checkpointer thread does.
class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::size_t readers, CheckpointOptions checkpoints = {},
              const StoreOptions& options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  int migrate() override;
  int schema_version() override;
  bool ping() override;
  /// The row of `rights_version`, which triggers on `users` bump (migration 0012), read on a
  /// connection of its own so that it never waits for a reader of the pool.
  std::uint64_t rights_version() override;
  bool release_reserve() override;
  void wait_for_search_index() override;
  void read(const std::function<void(Reader&)>& fn) override;
  void write(const std::function<void(Writer&)>& fn) override;

  /// The background WAL checkpointer (for tests).
  const Checkpointer& checkpointer() const { return *checkpointer_; }
  /// The thread that keeps the full-text index in step with the documents (for tests and metrics).
  SearchIndexer& search_indexer() { return *indexer_; }

  /// The rows of owner_recent after the last transaction that wrote documents or merged (-1 before
  /// any), and the merges of owner_recent into owner_documents so far, by writes or when idle
  /// (StoreOptions::owner_recent_rows; for tests and benchmarks).
  std::int64_t owner_recent_rows();
  std::uint64_t owner_merges() const { return owner_merges_.load(); }
  /// Waits until owner_recent holds fewer than StoreOptions::owner_recent_rows rows (the idle
  /// merges done), or `deadline`; returns whether it does.
  bool wait_owner_merged(std::chrono::steady_clock::time_point deadline);

  /// How the writer's WAL was kept small (docs/performance.md, "WAL checkpoints"): the
  /// checkpoints the writer ran itself before a transaction, and the commits that found the WAL
  /// started over (written from its first frame again: reset in place, or truncated).
  struct WalStats {
    std::uint64_t writer_checkpoints = 0;
    std::uint64_t restarts = 0;
    std::int64_t frames = 0;                              ///< frames in the WAL after the last commit
    std::int64_t frames_written = 0;                      ///< frames the writer's commits added, in all
    std::int64_t frame_bytes = 0;                         ///< a frame's size: a page and its header
    std::chrono::microseconds writer_checkpoint_time{0};  ///< all of them, wall clock
    std::chrono::microseconds longest_writer_checkpoint{0};
  };
  WalStats wal_stats();
  std::optional<WalActivity> wal_activity() override;
  std::optional<SearchIndexActivity> search_index_activity() override;

 private:
  /// Opens a write transaction on the writer: BEGIN, then the database's write lock at once (within
  /// the busy timeout), but not the search index file's, which only the indexer writes.
  void begin_write();
  /// Waits (at most 5 s) for the indexer to take the change `seq`; logs when it did not.
  void wait_for_index(std::int64_t seq);
  std::unique_ptr<Connection> acquire_reader();
  void release_reader(std::unique_ptr<Connection> conn);
  /// Before a write transaction (under write_mutex_): the writer's own checkpoint when the WAL
  /// has passed `restart_bytes` (CheckpointOptions).
  void restart_wal_if_large();
  /// sqlite3_wal_hook of the writer: after each commit, with the WAL's frame count.
  static int on_commit(void* self, sqlite3* db, const char* schema, int frames);
  /// The owner merger's thread: merges once the documents' writes have paused (StoreOptions).
  void run_owner_merges();
  /// One merge transaction of the idle owner merger; returns the rows left in owner_recent.
  std::int64_t merge_owner_step();
  /// After a commit, under write_mutex_: owner_recent holds `rows`; `wrote`: documents were written.
  void note_owner_recent(std::int64_t rows, bool wrote);

  std::string path_;
  std::int64_t owner_recent_rows_;      ///< StoreOptions::owner_recent_rows
  std::int64_t owner_recent_max_rows_;  ///< StoreOptions::owner_recent_max_rows
  std::chrono::milliseconds owner_merge_quiet_;
  // The owner merger (run_owner_merges): what it waits for, under merge_m_.
  std::mutex merge_m_;
  std::condition_variable merge_cv_;
  bool merge_stop_ = false;
  std::int64_t owner_recent_now_ = -1;  ///< the rows of owner_recent at the last commit that counted
  std::chrono::steady_clock::time_point last_owner_write_{};  ///< the last commit that wrote documents
  std::chrono::steady_clock::time_point merge_not_before_{};  ///< after a failed merge: a pause
  std::atomic<std::uint64_t> owner_merges_{0};
  std::thread owner_merger_;
  FairMutex write_mutex_;
  std::unique_ptr<Connection> writer_;
  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::mutex version_mutex_;
  std::unique_ptr<Connection> version_conn_;  ///< only ever reads rights_version
  // The writer's WAL (guarded by write_mutex_: the hook runs in the writer's commits).
  std::int64_t restart_frames_ = 0;  ///< restart_bytes in frames; 0: off
  std::int64_t nudge_frames_ = 0;
  std::chrono::milliseconds restart_wait_{0};
  std::int64_t nudged_at_ = 0;      ///< the WAL's frames at the last nudge of the checkpointer
  std::int64_t attempted_at_ = -1;  ///< the WAL's frames at the writer's last checkpoint
  WalStats wal_stats_;
  std::int64_t frame_bytes_ = 4096 + 24;
  // A copy of wal_stats_ for wal_activity(), which must not wait for the writer's transaction.
  std::mutex published_mutex_;
  WalStats published_;
  void publish_wal_stats();
  std::int64_t trimmed_through_ = 0;  ///< search_index_changes deleted up to here (under write_mutex_)
  std::atomic<std::int64_t> last_change_{0};  ///< the last change for the index committed
  std::unique_ptr<SearchIndexer> indexer_;
  std::unique_ptr<Checkpointer> checkpointer_;  ///< last: stops before the connections close
};

}  // namespace mladmin::store::sqlite

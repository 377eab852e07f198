#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "domain/clock.hpp"
#include "store/store.hpp"

namespace mladmin::sync {

struct RetentionOptions {
  int days = 90;  ///< finished jobs that ended longer ago than this go; 0 keeps every job
  std::chrono::milliseconds interval{std::chrono::hours(1)};  ///< between two background sweeps
  std::size_t jobs_per_chunk = 1000;     ///< jobs deleted per write transaction, and at most…
  std::size_t errors_per_chunk = 10000;  ///< …this many item errors, so that no chunk holds the
                                         ///< write lock long
};

/// Retention of job history (docs/jobs.md): deletes the finished jobs
/// (completed, failed, cancelled) whose end time is older than the retention, with their item
/// errors, chunk by chunk, each chunk in its own short write transaction. Active jobs are never
/// touched. Thread-safe.
class RetentionSweeper final {
 public:
  RetentionSweeper(store::Store& store, const domain::Clock& clock, RetentionOptions options);
  /// Stops the background thread.
  ~RetentionSweeper();
  RetentionSweeper(const RetentionSweeper&) = delete;
  RetentionSweeper& operator=(const RetentionSweeper&) = delete;

  /// One sweep on the calling thread (blocks on the database); returns how many jobs it deleted
  /// and logs it. Ends after the current chunk when stop() is called meanwhile. Does nothing
  /// when the retention is 0 days. Throws what the store throws.
  std::int64_t sweep();

  /// Starts the background thread: a sweep every `interval` (the first one `interval` from now),
  /// until stop(). Does nothing when the retention is 0 days.
  void start();
  /// Wakes the background thread and joins it; a sweep under way ends after its current chunk.
  void stop();

 private:
  void loop();
  bool stopping();

  store::Store& store_;
  const domain::Clock& clock_;
  RetentionOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mladmin::sync

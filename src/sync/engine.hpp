#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "domain/job.hpp"
#include "store/store.hpp"
#include "sync/bulk.hpp"
#include "sync/shape.hpp"

namespace mladmin::sync {

struct EngineOptions {
  std::size_t workers = 4;
  std::size_t batch_items = 1000;                ///< checkpoint at least every this many items…
  std::chrono::milliseconds batch_time{50};      ///< …or this often (SPEC §2: 250 ms at most); short
                                                 ///< batches keep live progress within ~50 ms
  std::chrono::milliseconds control_wait{2000};  ///< how long pause/cancel wait for the worker's answer
};

/// Told of every committed change of a job: its creation, each checkpoint and each status
/// change, in commit order for any one job. Runs on the thread that committed; it must be quick
/// and must not throw.
using JobListener = std::function<void(const domain::Job& job, bool status_changed)>;

struct StartRequest {
  domain::JobType type = domain::JobType::journal_entries;
  domain::JobScope scope = domain::JobScope::user;
  std::optional<std::string> scope_user_id;
  domain::SyncMode mode = domain::SyncMode::incremental;
  std::string started_by;
};

/// A bulk action to run as a tracked job.
struct BulkStartRequest {
  BulkAction action = BulkAction::remove;
  BulkTarget target;  ///< a filter already checked by compile_filter, or ids (deduplicated)
  std::string started_by;
  /// Called in the transaction that creates the job, e.g. to write its audit entry.
  std::function<void(store::Writer&, const domain::Job&)> on_created;
};

/// The sync engine (SPEC §2): jobs live in the database, a pool of workers runs them, each batch
/// of document writes commits together with the job's counters and checkpoint, and a job whose
/// process stopped resumes from its checkpoint at the next start. Thread-safe; every method
/// blocks on the database, so call it off the I/O threads.
class Engine final {
 public:
  Engine(store::Store& store, const domain::Clock& clock, domain::IdGenerator& ids, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Sets the listener of job changes (the live event stream); call before start().
  void set_listener(JobListener listener) { listener_ = std::move(listener); }

  /// Requeues jobs left running, paused or interrupted by an earlier process, then starts the
  /// workers.
  void start();
  /// Checkpoints running and paused jobs, marks them interrupted, and joins the workers.
  void stop();

  /// Queues a sync; throws domain::Error 409 "sync_already_active" (details: activeJobId) when a
  /// job of the same scope and type is active.
  domain::Job start_sync(const StartRequest& request);

  /// Queues a bulk job (bulk_delete or bulk_resync) and returns it queued. Its targets are fixed
  /// now: the documents matching the filter up to the highest document seq of this moment
  /// (target_seq; totalItems is their count), or the ids that name existing documents (stored
  /// with the job; totalItems is their count). A bulk job holds a slot of its own: it neither
  /// waits for nor blocks syncs and other bulk jobs. Throws domain::Error 400 for a bad filter.
  domain::Job start_bulk(const BulkStartRequest& request);

  /// Each throws domain::Error: 404 for an unknown job, 409 for an illegal transition. They
  /// return the job as it is once the change took effect (or after `control_wait`).
  domain::Job cancel(const std::string& job_id);
  domain::Job pause(const std::string& job_id);
  domain::Job resume(const std::string& job_id);
  /// Queues the job's next attempt and returns it queued. A failed or cancelled job goes on from
  /// its checkpoint; a completed one processes again only the items that failed (its current
  /// item errors), which leave its failed and processed counts until they are processed.
  /// Throws 409 "nothing_to_retry" for a completed job without failed items, 409
  /// "sync_already_active" (details: activeJobId) when another job holds its scope and type.
  domain::Job retry(const std::string& job_id);

 private:
  /// What an API call asks of a job a worker is running.
  struct Control {
    bool cancel = false;
    bool pause = false;
    std::uint64_t version = 0;  ///< bumped by the worker each time it saves the job's state
  };

  void worker();
  void run(const std::string& job_id);
  domain::Job wait_for(const std::string& job_id, const std::function<bool(const domain::Job&)>& done);
  void enqueue(const std::string& job_id);
  domain::Job load(const std::string& job_id);
  void notify(const domain::Job& job, domain::JobStatus before) const;

  store::Store& store_;
  const domain::Clock& clock_;
  domain::IdGenerator& ids_;
  EngineOptions options_;
  JobListener listener_;

  std::mutex mutex_;
  std::condition_variable cv_;  ///< queue, controls and stop
  std::deque<std::string> queue_;
  std::map<std::string, Control> running_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mladmin::sync

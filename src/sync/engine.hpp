#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "domain/job.hpp"
#include "sink/sink.hpp"
#include "store/store.hpp"
#include "sync/bulk.hpp"
#include "sync/shape.hpp"

namespace mladmin::sync {

struct EngineOptions {
  std::size_t workers = 4;
  std::size_t batch_items = 1000;            ///< checkpoint at least every this many items (with
                                             ///< a sink: every sink batch)…
  std::chrono::milliseconds batch_time{50};  ///< …or this often; short batches keep live progress
                                             ///< within ~50 ms (a group: ~200 ms of work at most)
  /// Without a sink, a committer that has fallen behind its preparer commits up to this many
  /// prepared slices in one transaction: one full-text index flush, one document count update and
  /// one WAL write of the pages they all touch (docs/sync-engine.md, "commit"). 1: each alone.
  std::size_t commit_group = 16;
  /// Without a sink, the commits that several running jobs are waiting to make go into one
  /// transaction, up to this many slices in all (docs/sync-engine.md, "commit"). 0: each job
  /// commits its own transactions.
  std::size_t commit_share = 16;
  /// Preparers (of all jobs) reading and shaping a slice at once, at most; 0: one less than the
  /// machine's cores (at least 1), so that the one writer, which bounds the rate of all jobs
  /// together, keeps a core while several jobs' preparers run (docs/sync-engine.md, "Several jobs
  /// at once"). SIZE_MAX: no bound.
  std::size_t preparers = 0;
  /// With a sink, a job's batches sent and not yet committed, at most, per request it may have in
  /// flight ([ml_service] max_in_flight): answered batches wait for the committer without holding
  /// a request's place, and a crash re-sends at most sink_window × max_in_flight batches that the
  /// service had acknowledged (docs/sync-engine.md, "deliver"). The window also bounds how many
  /// acknowledged slices one commit takes: 8 rather than 4 halves the transactions of a sync to a
  /// service that answers at once (docs/benchmarks.md, "A wider sink window").
  std::size_t sink_window = 8;
  std::chrono::milliseconds control_wait{2000};  ///< how long pause/cancel wait for the worker's answer
  /// The nice value of the workers and their preparers (1-19; 0: the process's own): a sync's bulk
  /// work yields a core to requests and event delivery when they want one ([sync] nice;
  /// docs/performance.md, "The sync yields the cores"). The store's checkpointer and search
  /// indexer take theirs from StoreOptions::background_nice.
  int thread_nice = 0;
  /// A filtered bulk job's searches (its count at creation, each batch's search) stop after this
  /// long: the creation answers 503 query_timeout, a running job fails ([search] bulk_deadline_ms).
  std::chrono::microseconds bulk_search_deadline{10'000'000};
};

/// What the engine's commits of sync slices did since it started (docs/sync-engine.md, "commit").
struct CommitStats {
  std::uint64_t transactions = 0;  ///< write transactions that committed slices
  std::uint64_t shared = 0;        ///< of these, those that held the commits of several jobs
  std::uint64_t parts = 0;         ///< jobs' commits (a shared transaction holds several)
  std::uint64_t slices = 0;        ///< slices committed
  std::uint64_t fallbacks = 0;     ///< shared transactions that failed and were committed job by job
  /// CPU time of the threads that ran these transactions, spent in them (waits for the writer
  /// excluded): the one writer's share of a sync, which bounds the rate of all jobs together.
  std::chrono::nanoseconds cpu{};
  /// Wall time of these transactions, from the commit's start (the wait for the writer included)
  /// to its end, and of it the time their threads were ready to run but waited for a core
  /// (/proc/thread-self/schedstat): what other threads of the machine took from the writer.
  std::chrono::nanoseconds wall{};
  std::chrono::nanoseconds run_wait{};
  std::size_t waiting = 0;  ///< jobs' commits waiting now for the one under way
  /// The most preparers that read and shaped a slice at once (EngineOptions::preparers bounds it).
  std::size_t most_preparing = 0;
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

/// The sync engine (docs/sync-engine.md): jobs live in the database, a pool of workers runs them,
/// each batch of document writes commits together with the job's counters and checkpoint, and a
/// job whose process stopped resumes from its checkpoint at the next start.
///
/// A sync runs as a pipeline: a preparer thread of the job reads the next slice of changes in a
/// read transaction and shapes it; with a sink, the slice goes to the sink (up to its
/// max_in_flight batches per job); the worker commits the slices in order, each once the sink
/// acknowledged it, in one write transaction with the counters and checkpoint, then notifies.
/// Without a sink, the commits of the jobs running at once share their transactions: the worker
/// of one job writes the waiting commits of all (commit_shared).
/// A paused job holds no worker. Thread-safe; every method blocks on the database, so call it off
/// the I/O threads.
class Engine final {
 public:
  /// `sink`, when given, receives every sync's documents before the store commits them; it
  /// must outlive the Engine.
  Engine(store::Store& store, const domain::Clock& clock, domain::IdGenerator& ids, EngineOptions options,
         sink::Sink* sink = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Sets the listener of job changes (the live event stream); call before start().
  void set_listener(JobListener listener) { listener_ = std::move(listener); }

  /// Requeues jobs left running or interrupted by an earlier process (a paused job stays paused),
  /// then starts the workers.
  void start();
  /// Stops the running jobs at their last checkpoint, marks them interrupted, and joins the
  /// workers. Paused jobs stay paused.
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
  /// return the job as it is once the change took effect (or after `control_wait`). Pause saves
  /// the job paused and frees its worker; resume marks it running and queues it again (it goes on
  /// from its checkpoint when a worker is free).
  domain::Job cancel(const std::string& job_id);
  domain::Job pause(const std::string& job_id);
  domain::Job resume(const std::string& job_id);
  /// Queues the job's next attempt and returns it queued. A failed or cancelled job goes on from
  /// its checkpoint; a completed one processes again only the items that failed (its current
  /// item errors), which leave its failed and processed counts until they are processed.
  /// Throws 409 "nothing_to_retry" for a completed job without failed items, 409
  /// "sync_already_active" (details: activeJobId) when another job holds its scope and type.
  domain::Job retry(const std::string& job_id);

  /// What the commits of sync slices did so far, and how many wait now.
  CommitStats commit_stats() const;

 private:
  /// What API calls and stop() ask of a job a worker holds. The worker waits on `cv` (for its
  /// pipeline too), so a request wakes it at once; `stop` cancels the job's sink deliveries.
  struct Control {
    std::mutex m;
    std::condition_variable cv;
    bool cancel = false;  // guarded by m
    bool pause = false;
    bool stop = false;
    std::stop_source abandon;  ///< requested with any of the three
    std::atomic<bool> any{false};
    void request(bool Control::*what);
    bool requested() const { return any.load(std::memory_order_acquire); }
  };
  /// A job a worker holds.
  struct Held {
    std::shared_ptr<Control> control = std::make_shared<Control>();
    std::uint64_t version = 0;  ///< bumped by the worker each time it saves the job's state
    bool requeue = false;       ///< resumed while its worker was letting it go: queue it again
  };
  enum class Ending { none, paused, cancelled, interrupted };
  class Pipeline;
  struct CommitRequest;

  /// Asks `what` of a job a worker holds and wakes its worker, also when it waits for a commit.
  void request(Control& control, bool Control::*what);
  /// Commits `request` in one write transaction with the commits the other jobs are waiting to
  /// make (docs/sync-engine.md, "commit"): false when its job's control asked for something before
  /// the commit took it (nothing written), true once committed; throws what its part threw.
  bool commit_shared(CommitRequest& request);
  /// The leader's work: the requests it took, in one transaction, or each alone when it fails.
  void commit_together(std::vector<CommitRequest*>& taken, CommitRequest& mine);
  /// Commits `request` alone in one write transaction (a job that shares no commits, or a part
  /// of a shared transaction that failed); throws what its part threw.
  void commit_alone(CommitRequest& request);
  /// A thread's CPU time, run-queue wait and wall clock at one moment.
  struct ThreadTimes;
  /// Counts a transaction that committed `parts` jobs' commits of `slices` slices in all, and
  /// the CPU time, run-queue wait and wall time of its thread since `start`.
  void count_commit(std::size_t parts, std::size_t slices, const ThreadTimes& start);

  void worker();
  /// Under the engine's lock, as a worker lets a job go: cancels it in the database when it is
  /// not finished; true when it did.
  bool cancel_released(const std::string& job_id);
  /// Records that a running job failed with `reason`; a full disk or a lock held elsewhere is
  /// waited out (tried again until it works or the engine stops).
  void mark_failed(const std::string& id, const std::string& reason);
  void run(const std::string& job_id, const std::shared_ptr<Control>& control);
  /// The job's batches in the write transaction (bulk jobs): returns how the run ended.
  Ending run_in_transaction(domain::Job& job, JobStep& step, Control& control, std::int64_t running_before,
                            std::chrono::steady_clock::time_point segment);
  /// After a job's last commit, which completed it: waits until the search index holds its
  /// documents (Store::wait_for_search_index), so that a job's `completed` event and lookups come
  /// only once a search finds what it wrote. When that wait took time, the job ended then: its
  /// updatedAt, endTime and running time (`running_ms()`) are stamped again and saved, so that
  /// the event's times say when it completed (docs/jobs.md, "How fast events arrive").
  void await_searchable(domain::Job& job, const std::function<std::int64_t()>& running_ms);
  /// Moves the job by `event`, saves it and notifies (the status changed).
  void finish(domain::Job& job, domain::JobEvent event, std::int64_t running_ms);
  /// What a request made of the run: nothing yet, or how the run must end.
  Ending ending(Control& control) const;
  void saved(const std::string& job_id);
  domain::Job wait_for(const std::string& job_id, const std::function<bool(const domain::Job&)>& done);
  void enqueue(const std::string& job_id);
  domain::Job load(const std::string& job_id);
  void notify(const domain::Job& job, bool status_changed) const;

  store::Store& store_;
  const domain::Clock& clock_;
  domain::IdGenerator& ids_;
  EngineOptions options_;
  sink::Sink* sink_;
  JobListener listener_;

  std::mutex mutex_;
  std::condition_variable cv_;  ///< queue, controls and stop
  std::deque<std::string> queue_;
  std::map<std::string, Held> running_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;

  // The shared commit (docs/sync-engine.md, "commit"). Never locked around mutex_ or a store call
  // other than the leader's taking of requests inside its transaction.
  mutable std::mutex commit_m_;
  std::condition_variable commit_cv_;
  std::deque<CommitRequest*> commit_queue_;  ///< waiting, in arrival order
  bool committing_ = false;                  ///< a leader is committing
  /// Running jobs whose commits may be shared: changed under commit_m_, read without it by the
  /// jobs' group bounds (Pipeline::group_limit).
  std::atomic<std::size_t> sharing_jobs_{0};
  /// The last shared transaction's time per slice: what bounds the next one's size.
  std::chrono::steady_clock::duration commit_per_slice_{};
  CommitStats commit_stats_;

  // The preparers' slots (EngineOptions::preparers), handed out in the order they were asked for.
  /// Waits for a slot; false when `stop` came first (no slot taken).
  bool acquire_prepare_slot(const std::stop_token& stop);
  void release_prepare_slot();
  std::size_t prepare_slots_ = 1;  ///< the bound, fixed at construction
  mutable std::mutex prepare_m_;
  std::condition_variable_any prepare_cv_;
  std::size_t preparing_ = 0;                ///< slots held
  std::size_t most_preparing_ = 0;           ///< the most slots held at once
  std::uint64_t prepare_next_ticket_ = 0;    ///< the next waiter's number
  std::deque<std::uint64_t> prepare_queue_;  ///< waiters' numbers, in arrival order
};

}  // namespace mladmin::sync

#include "sync/engine.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <set>

#include "domain/error.hpp"
#include "domain/source.hpp"
#include "store/errors.hpp"
#include "sync/bulk.hpp"
#include "sync/shape.hpp"

namespace mladmin::sync {

using domain::Error;
using domain::ErrorKind;
using domain::Job;
using domain::JobEvent;
using domain::JobStatus;

namespace {

domain::SourceType source_of(domain::JobType type) {
  return type == domain::JobType::goals ? domain::SourceType::goals : domain::SourceType::journal_entries;
}

std::optional<std::string> owner_filter(const Job& job) {
  return job.scope == domain::JobScope::user ? job.scope_user_id : std::nullopt;
}

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since)
      .count();
}

/// The records of the item errors a retry processes again, in their order. A record no longer
/// in the source is handled as a tombstone: its document, if any, goes.
template <class Record, class Find>
std::vector<Record> records_to_retry(const std::vector<store::StoredItemError>& errors, Find find,
                                     domain::TimestampMs now) {
  std::vector<Record> out;
  out.reserve(errors.size());
  for (const auto& e : errors) {
    if (auto record = find(e.error.item_id)) {
      out.push_back(std::move(*record));
    } else {
      Record gone;
      gone.id = e.error.item_id;
      gone.deleted_at = now;
      out.push_back(std::move(gone));
    }
  }
  return out;
}

void check(const domain::TransitionResult& r) {
  if (!r) {
    throw *r.error;
  }
}

/// A sync's batches: the source's changes in the job's range from its checkpoint on, then, in a
/// retry of a completed job, the items that failed in earlier attempts.
class SyncStep final : public JobStep {
 public:
  SyncStep(const Job& job, const domain::Clock& clock, domain::IdGenerator& ids)
      : clock_(clock),
        ids_(ids),
        type_(source_of(job.type)),
        owner_(owner_filter(job)),
        key_(store::scope_key(job)) {}

  void first_start(store::Writer& w, Job& job) override {
    job.from_seq = job.mode == domain::SyncMode::full ? 0 : w.get_watermark(key_);
    job.target_seq = w.max_change_seq(type_);
    job.checkpoint_seq = job.from_seq;
    job.counters.total = w.count_changes(type_, owner_, job.from_seq, job.target_seq);
  }

  bool batch(store::Writer& w, Job& job, const BatchLimits& limits,
             std::vector<domain::ItemError>& new_errors) override {
    std::size_t n = 0;
    bool interrupted = false;
    // Validates, shapes and writes (or removes) the document of each of `items`, counts it, and
    // calls `taken(item)` after it; stops early when a control request arrives. Returns how many
    // items it took. Document writes are collected and applied once per slice, so that the
    // full-text index is fed by one statement per slice rather than one per document.
    auto take = [&](const auto& items, const auto& taken) -> std::size_t {
      std::vector<std::string> ids;
      ids.reserve(items.size());
      for (const auto& item : items) {
        ids.push_back(item.id);
      }
      std::map<std::string, std::string> hashes;
      for (auto& [sid, h] : w.document_hashes(type_, ids)) {
        hashes.emplace(std::move(sid), std::move(h));
      }
      std::vector<store::DocumentWrite> upserts;
      std::vector<std::string> deletes;
      std::size_t count = 0;
      for (const auto& item : items) {
        if (item.deleted_at) {
          // A tombstone: its document goes; a record never synced has nothing to remove.
          if (hashes.contains(item.id)) {
            deletes.push_back(item.id);
            ++job.counters.synced;
          } else {
            ++job.counters.skipped;
          }
        } else if (auto problem = domain::sync_problem(item)) {
          record_failure(job, domain::ItemError{item.id, *problem, clock_.now_ms()}, new_errors);
        } else {
          const auto doc = shape(item);
          const auto hash = doc.hash();
          auto it = hashes.find(item.id);
          if (it != hashes.end() && it->second == hash) {
            ++job.counters.skipped;
          } else {
            upserts.push_back(store::DocumentWrite{ids_.next(), item.user_id, type_, item.id, doc.title,
                                                   doc.text, doc.metadata, hash, clock_.now_ms(), job.id,
                                                   item.created_at});
            ++job.counters.synced;
          }
        }
        taken(item);
        ++count;
        ++n;
        if (limits.interrupted()) {
          interrupted = true;
          break;
        }
      }
      w.delete_documents(type_, deletes);
      w.upsert_documents(type_, upserts);
      return count;
    };
    while (!interrupted && !limits.reached(n)) {
      const std::size_t want = std::min<std::size_t>(256, limits.max_items - n);
      if (!scanned_) {
        // First the source's changes in the job's range, from its checkpoint on.
        auto scan = [&](const auto& items) {
          if (items.empty()) {
            scanned_ = true;
            return;
          }
          take(items, [&](const auto& item) { job.checkpoint_seq = item.change_seq; });
        };
        if (type_ == domain::SourceType::journal_entries) {
          scan(w.journal_changes(owner_, job.checkpoint_seq, job.target_seq, want));
        } else {
          scan(w.goal_changes(owner_, job.checkpoint_seq, job.target_seq, want));
        }
        continue;
      }
      // Then, in a retry of a completed job, the items that failed in earlier attempts. Each
      // error row goes in the transaction that processes its item again, so that a retry
      // stopped at any moment goes on where it stopped.
      const auto to_retry = job.retry_before_attempt > 0 ? w.job_errors_to_retry(job.id, want)
                                                         : std::vector<store::StoredItemError>();
      if (to_retry.empty()) {
        return true;
      }
      const auto now = clock_.now_ms();
      const auto no_checkpoint = [](const auto&) {};
      const std::size_t count =
          type_ == domain::SourceType::journal_entries
              ? take(records_to_retry<domain::JournalEntry>(
                         to_retry, [&](std::string_view item) { return w.find_journal_entry(item); }, now),
                     no_checkpoint)
              : take(records_to_retry<domain::Goal>(
                         to_retry, [&](std::string_view item) { return w.find_goal(item); }, now),
                     no_checkpoint);
      std::vector<std::int64_t> retried;
      for (std::size_t i = 0; i < count; ++i) {
        retried.push_back(to_retry[i].seq);
      }
      w.delete_job_errors(job.id, retried);
    }
    return false;
  }

  void completed(store::Writer& w, Job& job) override {
    if (job.retry_before_attempt == 0) {
      // A retry of failed items reads no new changes: the watermark was set when the job first
      // completed.
      w.set_watermark(key_, job.target_seq);
    }
  }

 private:
  const domain::Clock& clock_;
  domain::IdGenerator& ids_;
  domain::SourceType type_;
  std::optional<std::string> owner_;
  std::string key_;
  bool scanned_ = false;  ///< the source's changes in the job's range are all processed
};

std::unique_ptr<JobStep> make_step(const Job& job, const domain::Clock& clock, domain::IdGenerator& ids) {
  if (domain::is_bulk(job.type)) {
    return make_bulk_step(job, clock, ids);
  }
  return std::make_unique<SyncStep>(job, clock, ids);
}

}  // namespace

Engine::Engine(store::Store& store, const domain::Clock& clock, domain::IdGenerator& ids,
               EngineOptions options)
    : store_(store), clock_(clock), ids_(ids), options_(options) {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
}

Engine::~Engine() {
  stop();
}

void Engine::start() {
  const auto now = clock_.now_ms();
  // Jobs a dead or stopped process left behind resume from their checkpoints (SPEC §2).
  const auto recovered = store_.write_value([&](store::Writer& w) {
    auto jobs = w.jobs_in({JobStatus::running, JobStatus::paused, JobStatus::interrupted});
    for (auto& job : jobs) {
      if (job.status != JobStatus::interrupted) {
        job.status = JobStatus::interrupted;
      }
      job.status = *domain::transition(job.status, JobEvent::requeue).next;
      job.updated_at = now;
      w.save_job(job);
    }
    return jobs;
  });
  for (const auto& job : recovered) {
    notify(job, JobStatus::interrupted);
  }
  if (!recovered.empty()) {
    spdlog::info("msg=\"requeued interrupted jobs\" count={}", recovered.size());
  }
  const auto queued = store_.read_value([](store::Reader& r) { return r.jobs_in({JobStatus::queued}); });
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    for (const auto& job : queued) {
      queue_.push_back(job.id);
    }
    for (std::size_t i = 0; i < std::max<std::size_t>(options_.workers, 1); ++i) {
      threads_.emplace_back([this] { worker(); });
    }
  }
  cv_.notify_all();
}

void Engine::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) {
    t.join();
  }
}

void Engine::enqueue(const std::string& job_id) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(job_id);
  }
  cv_.notify_all();
}

Job Engine::load(const std::string& job_id) {
  auto job = store_.read_value([&](store::Reader& r) { return r.find_job(job_id); });
  if (!job) {
    throw domain::not_found("job");
  }
  return *job;
}

void Engine::notify(const Job& job, JobStatus before) const {
  if (listener_) {
    listener_(job, before != job.status);
  }
}

Job Engine::start_sync(const StartRequest& req) {
  Job job;
  job.id = ids_.next();
  job.user_id = req.started_by;
  job.type = req.type;
  job.scope = req.scope;
  job.scope_user_id = req.scope == domain::JobScope::user ? req.scope_user_id : std::nullopt;
  job.mode = req.mode;
  job.created_at = job.updated_at = clock_.now_ms();
  store_.write([&](store::Writer& w) {
    if (!w.insert_job(job)) {
      auto active = w.find_active_job(store::scope_key(job));
      throw std::move(Error(ErrorKind::conflict, "sync_already_active",
                            "a sync of this scope and type is already active; wait for it, or cancel it")
                          .with("activeJobId", active ? active->id : std::string()));
    }
  });
  notify(job, JobStatus::interrupted);  // a new job: always a status change
  enqueue(job.id);
  return job;
}

Job Engine::start_bulk(const BulkStartRequest& req) {
  Job job;
  job.id = ids_.next();
  job.user_id = req.started_by;
  job.type = job_type_of(req.action);
  job.scope = domain::JobScope::all;
  job.mode = domain::SyncMode::full;
  job.created_at = job.updated_at = clock_.now_ms();
  if (req.target.filter) {
    // Counted before the write lock: inside BEGIN IMMEDIATE the search would block every writer.
    store_.read([&](store::Reader& r) {
      auto filter = domain::compile_filter(*req.target.filter, "filter.");
      job.target_seq = r.max_document_seq();
      filter.max_seq = job.target_seq;
      job.counters.total = r.count_matching_documents(filter);
    });
  }
  store_.write([&](store::Writer& w) {
    std::vector<std::string> targets;
    if (!req.target.filter) {
      std::set<std::string> found;
      for (const auto& d : w.find_documents(req.target.ids)) {
        found.insert(d.id);
      }
      for (const auto& id : req.target.ids) {
        if (found.contains(id)) {
          targets.push_back(id);
        }
      }
      job.target_seq = job.counters.total = static_cast<std::int64_t>(targets.size());
    }
    job.params = bulk_params(req.action, req.target, targets.size());
    if (!w.insert_job(job)) {
      throw std::runtime_error("a new bulk job found its own slot taken");  // the slot holds its id
    }
    w.insert_bulk_targets(job.id, targets);
    if (req.on_created) {
      req.on_created(w, job);
    }
  });
  notify(job, JobStatus::interrupted);  // a new job: always a status change
  enqueue(job.id);
  return job;
}

void Engine::worker() {
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        return;
      }
      id = queue_.front();
      queue_.pop_front();
      running_[id] = Control{};
    }
    try {
      run(id);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"job failed\" job={} error=\"{}\"", id, e.what());
      try {
        auto failed = store_.write_value([&](store::Writer& w) {
          auto job = w.find_job(id);
          if (job && job->status == JobStatus::running) {
            job->status = JobStatus::failed;
            // A full disk is something a person can fix: its message names the disk (store/errors.hpp).
            const auto* full = dynamic_cast<const store::StorageFull*>(&e);
            job->failure_reason =
                full != nullptr ? full->what() : "the job stopped on an internal error; it has been logged";
            job->end_time = job->updated_at = clock_.now_ms();
            w.save_job(*job);
            return job;
          }
          return std::optional<Job>();
        });
        if (failed) {
          notify(*failed, JobStatus::running);
        }
      } catch (const std::exception& e2) {
        spdlog::error("msg=\"cannot mark job failed\" job={} error=\"{}\"", id, e2.what());
      }
    }
    {
      std::lock_guard lock(mutex_);
      running_.erase(id);
    }
    cv_.notify_all();
  }
}

void Engine::run(const std::string& id) {
  std::unique_ptr<JobStep> step;
  auto claimed = store_.write_value([&](store::Writer& w) -> std::optional<Job> {
    auto job = w.find_job(id);
    if (!job || job->status != JobStatus::queued) {
      return std::nullopt;  // cancelled meanwhile
    }
    job->status = *domain::transition(job->status, JobEvent::start).next;
    const auto now = clock_.now_ms();
    try {
      step = make_step(*job, clock_, ids_);
    } catch (const std::exception& e) {
      // Only a job row changed outside this program gets here: it fails rather than stays queued.
      spdlog::error("msg=\"job cannot run\" job={} error=\"{}\"", id, e.what());
      job->status = *domain::transition(job->status, JobEvent::fail).next;
      job->failure_reason = "the job's parameters cannot be read; it has been logged";
      job->end_time = job->updated_at = now;
      w.save_job(*job);
      return job;
    }
    if (job->target_seq == 0 && job->counters.processed() == 0 && job->retry_before_attempt == 0) {
      step->first_start(w, *job);  // first start: fix the range of what this job takes
    }
    if (!job->start_time) {
      job->start_time = now;
    }
    job->updated_at = now;
    w.save_job(*job);
    return job;
  });
  if (!claimed) {
    return;
  }
  notify(*claimed, JobStatus::queued);
  if (!step) {
    return;  // failed at the claim
  }
  Job job = std::move(*claimed);
  auto segment = std::chrono::steady_clock::now();
  std::int64_t running_before = job.running_ms;

  auto saved = [&] {
    {
      std::lock_guard lock(mutex_);
      ++running_[id].version;
    }
    cv_.notify_all();  // wakes API calls waiting in wait_for
  };
  auto requested = [&](bool& cancel, bool& pause, bool& stop) {
    std::lock_guard lock(mutex_);
    const auto& c = running_[id];
    cancel = c.cancel;
    pause = c.pause;
    stop = stopping_;
    return cancel || pause || stop;
  };
  auto finish = [&](JobStatus status, bool ended) {
    const auto before = job.status;
    if (job.status == JobStatus::running) {
      job.running_ms = running_before + elapsed_ms(segment);
    }
    job.status = status;
    job.updated_at = clock_.now_ms();
    if (ended) {
      job.end_time = job.updated_at;
    }
    store_.write([&](store::Writer& w) { w.save_job(job); });
    notify(job, before);
    saved();
  };
  BatchLimits limits;
  limits.max_items = options_.batch_items;
  limits.interrupted = [&] {
    bool c = false;
    bool p = false;
    bool s = false;
    return requested(c, p, s);
  };

  for (;;) {
    bool cancel = false;
    bool pause = false;
    bool stop = false;
    if (requested(cancel, pause, stop)) {
      if (stop) {
        finish(JobStatus::interrupted, false);
        return;
      }
      if (cancel) {
        job.cancel_requested = true;
        finish(JobStatus::cancelled, true);
        return;
      }
      finish(JobStatus::paused, false);
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || running_[id].cancel || !running_[id].pause; });
      }
      if (requested(cancel, pause, stop) && (stop || cancel)) {
        continue;  // handled at the top, from the paused state
      }
      job.status = JobStatus::running;
      segment = std::chrono::steady_clock::now();
      running_before = job.running_ms;
      job.updated_at = clock_.now_ms();
      store_.write([&](store::Writer& w) { w.save_job(job); });
      notify(job, JobStatus::paused);
      saved();
      continue;
    }

    bool done = false;
    store_.write([&](store::Writer& w) {
      std::vector<domain::ItemError> new_errors;
      limits.deadline = std::chrono::steady_clock::now() + options_.batch_time;
      done = step->batch(w, job, limits, new_errors);
      job.running_ms = running_before + elapsed_ms(segment);
      job.updated_at = clock_.now_ms();
      if (done) {
        job.status = *domain::transition(job.status, JobEvent::complete).next;
        job.end_time = job.updated_at;
        step->completed(w, job);
      }
      w.append_job_errors(job.id, job.attempt, new_errors);
      w.save_job(job);
    });
    notify(job, done ? JobStatus::running : job.status);
    saved();
    if (done) {
      spdlog::info("msg=\"job completed\" job={} type={} synced={} skipped={} failed={} ms={}", job.id,
                   domain::to_string(job.type), job.counters.synced, job.counters.skipped,
                   job.counters.failed, job.running_ms);
      return;
    }
  }
}

Job Engine::wait_for(const std::string& job_id, const std::function<bool(const Job&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + options_.control_wait;
  for (;;) {
    // Read the worker's save counter before the job, so that a save between the two is seen.
    std::uint64_t version = 0;
    bool held = false;
    {
      std::lock_guard lock(mutex_);
      auto it = running_.find(job_id);
      held = it != running_.end();
      version = held ? it->second.version : 0;
    }
    auto job = load(job_id);
    if (done(job) || !held) {
      return job;
    }
    std::unique_lock lock(mutex_);
    const bool changed = cv_.wait_until(lock, deadline, [&] {
      auto it = running_.find(job_id);
      return it == running_.end() || it->second.version != version;
    });
    if (!changed) {
      lock.unlock();
      return load(job_id);
    }
  }
}

Job Engine::cancel(const std::string& job_id) {
  auto job = load(job_id);
  check(domain::transition(job.status, JobEvent::cancel));
  bool held_by_worker = false;
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(job_id);
    if (it != running_.end() && (job.status == JobStatus::running || job.status == JobStatus::paused)) {
      it->second.cancel = true;  // the worker finishes the job at its next item
      held_by_worker = true;
    }
  }
  if (held_by_worker) {
    cv_.notify_all();
  } else {
    // Not held by a worker (queued or interrupted): cancel it in the database.
    auto [cancelled, before] = store_.write_value([&](store::Writer& w) {
      auto current = w.find_job(job_id);
      if (!current) {
        throw domain::not_found("job");
      }
      check(domain::transition(current->status, JobEvent::cancel));
      const auto was = current->status;
      current->status = JobStatus::cancelled;
      current->cancel_requested = true;
      current->end_time = current->updated_at = clock_.now_ms();
      w.save_job(*current);
      return std::make_pair(*current, was);
    });
    notify(cancelled, before);
  }
  return wait_for(job_id, [](const Job& j) { return domain::is_finished(j.status); });
}

Job Engine::pause(const std::string& job_id) {
  auto job = load(job_id);
  check(domain::transition(job.status, JobEvent::pause));
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(job_id);
    if (it == running_.end()) {
      throw Error(ErrorKind::conflict, "not_running_here", "the job is not running on this server");
    }
    it->second.pause = true;
  }
  cv_.notify_all();
  return wait_for(job_id, [](const Job& j) { return j.status != JobStatus::running; });
}

Job Engine::resume(const std::string& job_id) {
  auto job = load(job_id);
  check(domain::transition(job.status, JobEvent::resume));
  {
    std::lock_guard lock(mutex_);
    auto it = running_.find(job_id);
    if (it == running_.end()) {
      throw Error(ErrorKind::conflict, "not_running_here", "the job is not held by this server");
    }
    it->second.pause = false;
  }
  cv_.notify_all();
  return wait_for(job_id, [](const Job& j) { return j.status != JobStatus::paused; });
}

Job Engine::retry(const std::string& job_id) {
  JobStatus before = JobStatus::queued;
  auto job = store_.write_value([&](store::Writer& w) {
    auto current = w.find_job(job_id);
    if (!current) {
      throw domain::not_found("job");
    }
    check(domain::transition(*current, JobEvent::retry));
    if (auto active = w.find_active_job(store::scope_key(*current))) {
      throw std::move(Error(ErrorKind::conflict, "sync_already_active",
                            "another sync of this scope and type is active; wait for it, or cancel it")
                          .with("activeJobId", active->id));
    }
    before = current->status;
    // A completed job runs again over its failed items only: its current errors become the
    // items to process (job_errors_to_retry) once retry_before_attempt names the new attempt.
    const std::int64_t errors = before == JobStatus::completed ? w.count_job_errors(job_id) : 0;
    domain::prepare_retry(*current, errors, clock_.now_ms());
    w.save_job(*current);
    return *current;
  });
  notify(job, before);
  enqueue(job.id);
  return job;
}

}  // namespace mladmin::sync

#include "sync/engine.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <utility>

#include "domain/error.hpp"
#include "domain/source.hpp"
#include "store/document_writes.hpp"
#include "store/errors.hpp"
#include "sync/bulk.hpp"
#include "sync/shape.hpp"
#include "util/thread_priority.hpp"

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

/// `event` applied to the job's status; throws the transition's 409 when it is illegal.
JobStatus next_status(JobStatus from, JobEvent event) {
  auto r = domain::transition(from, event);
  check(r);
  return *r.next;
}

/// What a person reads as the failure of a job stopped by an exception: the message of an error
/// meant to be shown (a domain::Error, e.g. a store that is full), else a generic sentence.
std::string failure_reason_of(const std::exception& e) {
  // A full disk is something a person can fix: its message names the disk (store/errors.hpp).
  if (dynamic_cast<const store::StorageFull*>(&e) != nullptr) {
    return e.what();
  }
  if (dynamic_cast<const Error*>(&e) != nullptr) {
    return std::string("the job stopped: ") + e.what();
  }
  return "the job stopped on an internal error; it has been logged";
}

/// The longest a commit should take, judged by the last commit's time per slice, so that a pause
/// or cancel, which waits for the commit under way, still takes effect well within 1 s.
constexpr std::chrono::steady_clock::duration kCommitBudget = std::chrono::milliseconds(200);

}  // namespace

/// The calling thread's clocks now, for Engine::commit_stats().
struct Engine::ThreadTimes {
  std::chrono::nanoseconds cpu{};
  std::chrono::nanoseconds run_wait{};  ///< ready to run, waiting for a core (0 when unknown)
  std::chrono::steady_clock::time_point wall;

  static ThreadTimes now() {
    ThreadTimes out;
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    out.cpu = std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
    // /proc/thread-self/schedstat: time on a core, time waiting on a run queue, timeslices (ns).
    if (std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r"); f != nullptr) {
      unsigned long long on_cpu = 0;
      unsigned long long waited = 0;
      if (std::fscanf(f, "%llu %llu", &on_cpu, &waited) == 2) {
        out.run_wait = std::chrono::nanoseconds(waited);
      }
      std::fclose(f);
    }
    out.wall = std::chrono::steady_clock::now();
    return out;
  }
};

namespace {

// ---- The sync pipeline's parts (docs/sync-engine.md) ----

/// One source item of a slice that goes to the store or the sink.
struct Item {
  enum class Kind {
    write,   ///< changed content: written to the store (and sent)
    same,    ///< unchanged content, sent again (a full sync with a sink): counted skipped
    remove,  ///< a tombstone whose document goes (and is deleted at the sink)
    gone,    ///< a tombstone without a document: deleted at the sink only, counted skipped
  };
  Kind kind = Kind::write;
  store::DocumentWrite doc;            ///< write, same: the document; remove, gone: source_id
  domain::TimestampMs updated_at = 0;  ///< the record's updatedAt, for the sink
  std::int64_t change_seq = 0;         ///< the version read; 0 for a failed item taken again
};

/// A prepared slice of a sync: what one commit writes.
struct Slice {
  std::vector<Item> items;
  std::vector<domain::ItemError> failed;
  std::int64_t skipped = 0;           ///< unchanged and not sent, or a tombstone never synced
  std::int64_t checkpoint = 0;        ///< the job's checkpoint_seq once this slice is committed
  std::vector<std::int64_t> retried;  ///< numbers of the item errors this slice processes again
  std::int64_t snapshot = 0;          ///< the source's highest change_seq when the slice was read
  bool last = false;                  ///< nothing comes after it: its commit completes the job
  // Delivery to the sink (guarded by the job's Control::m).
  std::size_t sent = 0;  ///< sink batches of this slice handed to the sink
  std::size_t unanswered = 0;
  std::vector<sink::Outcome> outcomes;
};

/// Fixes a sync's range on its first start: from the scope's watermark (0 for a full sync) to
/// the source's highest change, and its total.
void fix_range(store::Writer& w, Job& job) {
  const auto type = source_of(job.type);
  job.from_seq = job.mode == domain::SyncMode::full ? 0 : w.get_watermark(store::scope_key(job));
  job.target_seq = w.max_change_seq(type);
  job.checkpoint_seq = job.from_seq;
  job.counters.total = w.count_changes(type, owner_filter(job), job.from_seq, job.target_seq);
}

/// Reads and shapes a sync's slices: the source's changes in the job's range from its checkpoint
/// on, then, in a retry of a completed job, the items that failed in earlier attempts. Used by
/// one thread (the job's preparer).
class SyncSource {
 public:
  SyncSource(const Job& job, const domain::Clock& clock, domain::IdGenerator& ids, bool sink, bool full)
      : clock_(clock),
        ids_(ids),
        job_id_(job.id),
        type_(source_of(job.type)),
        owner_(owner_filter(job)),
        target_(job.target_seq),
        position_(job.checkpoint_seq),
        retry_(job.retry_before_attempt > 0),
        sink_(sink),
        send_unchanged_(sink && full) {}

  /// True once only the failed items of earlier attempts are left: each of their slices must be
  /// read after the previous one committed (a commit removes the error rows it processed).
  bool retrying() const { return scanned_; }

  Slice prepare(store::Reader& r, std::size_t max_items, std::chrono::steady_clock::time_point deadline) {
    Slice s;
    // Room for the whole slice at once: grown by doubling, a slice's items (each a document of
    // ~350 bytes of strings) were moved up to ten times, and each large block that growth asked for
    // made glibc consolidate its fast bins (docs/performance.md, "Shaping a record").
    s.items.reserve(std::min<std::size_t>(max_items, 4096));
    s.snapshot = r.max_change_seq(type_);
    std::size_t n = 0;
    while (n < max_items) {
      const std::size_t want = std::min<std::size_t>(256, max_items - n);
      if (!scanned_) {
        std::size_t taken = 0;
        if (type_ == domain::SourceType::journal_entries) {
          taken = scan(s, r, r.journal_changes(owner_, position_, target_, want));
        } else {
          taken = scan(s, r, r.goal_changes(owner_, position_, target_, want));
        }
        if (taken == 0) {
          scanned_ = true;
          continue;
        }
        n += taken;
      } else {
        const auto to_retry =
            retry_ ? r.job_errors_to_retry(job_id_, want) : std::vector<store::StoredItemError>();
        if (to_retry.empty()) {
          s.last = true;
          break;
        }
        const auto now = clock_.now_ms();
        if (type_ == domain::SourceType::journal_entries) {
          auto records = records_to_retry<domain::JournalEntry>(
              to_retry, [&](std::string_view id) { return r.find_journal_entry(id); }, now);
          take(s, r, records);
        } else {
          auto records = records_to_retry<domain::Goal>(
              to_retry, [&](std::string_view id) { return r.find_goal(id); }, now);
          take(s, r, records);
        }
        for (const auto& e : to_retry) {
          s.retried.push_back(e.seq);
        }
        break;  // the next error rows are read once this slice has removed these
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        break;
      }
    }
    s.checkpoint = position_;
    return s;
  }

 private:
  template <class Record>
  std::size_t scan(Slice& s, store::Reader& r, std::vector<Record> records) {
    if (!records.empty()) {
      take(s, r, records);
      position_ = records.back().change_seq;
    }
    return records.size();
  }

  /// Validates, shapes and hashes each record, and sorts it by what becomes of it. The documents
  /// take the records' strings: each record is left with its numbers and dates only.
  template <class Record>
  void take(Slice& s, store::Reader& r, std::vector<Record>& records) {
    std::vector<std::string> ids;
    ids.reserve(records.size());
    for (const auto& record : records) {
      ids.push_back(record.id);
    }
    std::unordered_map<std::string, std::string> hashes;
    for (auto& [sid, h] : r.document_hashes(type_, ids)) {
      hashes.emplace(std::move(sid), std::move(h));
    }
    const auto now = clock_.now_ms();
    for (auto& record : records) {
      if (record.deleted_at) {
        // A tombstone: its document goes; a record never synced has nothing to remove (the sink
        // is told anyway: a delete of a missing document is a success there).
        const bool known = hashes.contains(record.id);
        if (known || sink_) {
          Item item;
          item.kind = known ? Item::Kind::remove : Item::Kind::gone;
          item.doc.source_id = record.id;
          item.change_seq = record.change_seq;
          s.items.push_back(std::move(item));
        } else {
          ++s.skipped;
        }
        continue;
      }
      if (auto problem = domain::sync_problem(record)) {
        s.failed.push_back(domain::ItemError{record.id, *problem, now});
        continue;
      }
      auto shaped = shape(std::move(record));
      auto hash = shaped.hash();
      auto it = hashes.find(record.id);
      const bool same = it != hashes.end() && it->second == hash;
      if (same && !send_unchanged_) {
        ++s.skipped;
        continue;
      }
      const bool existed = it != hashes.end();
      Item item;
      item.kind = same ? Item::Kind::same : Item::Kind::write;
      item.doc = store::DocumentWrite{ids_.next(),
                                      std::move(record.user_id),
                                      type_,
                                      std::move(record.id),
                                      std::move(shaped.title),
                                      std::move(shaped.text),
                                      std::move(shaped.metadata),
                                      std::move(hash),
                                      now,
                                      job_id_,
                                      record.created_at,
                                      existed};
      item.updated_at = record.updated_at;
      item.change_seq = record.change_seq;
      s.items.push_back(std::move(item));
    }
  }

  const domain::Clock& clock_;
  domain::IdGenerator& ids_;
  std::string job_id_;
  domain::SourceType type_;
  std::optional<std::string> owner_;
  std::int64_t target_;
  std::int64_t position_;  ///< the last change_seq prepared
  bool retry_;
  bool sink_;
  bool send_unchanged_;
  bool scanned_ = false;  ///< the source's changes in the job's range are all prepared
};

/// The change_seq the record of `id` has now (0 when there is none).
std::int64_t current_change_seq(store::Reader& r, domain::SourceType type, const std::string& id) {
  if (type == domain::SourceType::journal_entries) {
    auto e = r.find_journal_entry(id);
    return e ? e->change_seq : 0;
  }
  auto g = r.find_goal(id);
  return g ? g->change_seq : 0;
}

/// Saves these records again unchanged, which gives them the table's next change_seq values: they
/// are changes again, after every running job's range, so the next sync of each scope that holds
/// them (incremental or full) offers them again (docs/sync-engine.md, "A rejected item").
void requeue_records(store::Writer& w, domain::SourceType type, const std::vector<std::string>& ids) {
  if (ids.empty()) {
    return;
  }
  if (type == domain::SourceType::journal_entries) {
    std::vector<domain::JournalEntry> records;
    for (const auto& id : ids) {
      if (auto e = w.find_journal_entry(id)) {
        records.push_back(std::move(*e));
      }
    }
    w.save_journal_entries(records);
  } else {
    std::vector<domain::Goal> records;
    for (const auto& id : ids) {
      if (auto g = w.find_goal(id)) {
        records.push_back(std::move(*g));
      }
    }
    w.save_goals(records);
  }
}

/// Applies a slice to the job in `w`'s transaction: its counters, item errors and checkpoint, and
/// gathers its documents into `writes` (less those the sink rejected, which fail with the
/// service's reason and go back into the change feed); the caller applies `writes` in the same
/// transaction, once for all the slices it commits together. The documents stay in the slice
/// (`writes` points at them): a slice committed again alone when a shared transaction fails
/// (docs/sync-engine.md, "commit") still has them.
void commit_slice(store::Writer& w, Job& job, Slice& s,
                  const std::unordered_map<std::string, std::string>& rejected, const domain::Clock& clock,
                  store::DocumentWrites& writes) {
  const auto type = source_of(job.type);
  // A record changed since the slice was read (by an edit, seen by another job's scan) has left
  // this job's range: the next sync takes its new version, so this one neither writes nor counts it.
  const bool recheck = !s.items.empty() && w.max_change_seq(type) > s.snapshot;
  std::vector<domain::ItemError> new_errors;
  std::vector<std::string> requeue;  // rejected by the service: the next sync offers them again
  const auto now = clock.now_ms();
  for (auto& item : s.items) {
    if (recheck && item.change_seq > 0 &&
        current_change_seq(w, type, item.doc.source_id) != item.change_seq) {
      continue;
    }
    if (auto it = rejected.find(item.doc.source_id); it != rejected.end()) {
      record_failure(job, domain::ItemError{item.doc.source_id, it->second, now}, new_errors);
      requeue.push_back(item.doc.source_id);
      if (item.kind == Item::Kind::same) {
        // A full sync re-sent a version the store holds, and the service refused it: the store
        // lets it go too, so that the next sync (which sends only what differs from the store)
        // offers it again, and the store holds nothing the service did not acknowledge.
        writes.remove(type, item.doc.source_id);
      }
      continue;
    }
    switch (item.kind) {
      case Item::Kind::write:
        writes.upsert_in_place(item.doc);
        ++job.counters.synced;
        break;
      case Item::Kind::remove:
        writes.remove(type, item.doc.source_id);
        ++job.counters.synced;
        break;
      case Item::Kind::same:
      case Item::Kind::gone:
        ++job.counters.skipped;
        break;
    }
  }
  job.counters.skipped += s.skipped;
  for (const auto& e : s.failed) {
    record_failure(job, e, new_errors);  // a copy: the part may run again alone
  }
  requeue_records(w, type, requeue);
  job.checkpoint_seq = std::max(job.checkpoint_seq, s.checkpoint);
  w.delete_job_errors(job.id, s.retried);
  w.append_job_errors(job.id, job.attempt, new_errors);
}

/// The sink batches of a slice: its upserts and deletes, cut to `max_items` documents each.
std::vector<sink::Batch> sink_batches(const Slice& s, const Job& job, std::size_t max_items,
                                      domain::IdGenerator& ids) {
  std::vector<sink::Batch> out;
  const auto type = source_of(job.type);
  for (const auto& item : s.items) {
    if (out.empty() ||
        out.back().upserts.size() + out.back().deletes.size() >= std::max<std::size_t>(1, max_items)) {
      out.emplace_back();
      out.back().batch_id = ids.next();
      out.back().job_id = job.id;
    }
    auto& b = out.back();
    if (item.kind == Item::Kind::write || item.kind == Item::Kind::same) {
      b.upserts.push_back(sink::Upsert{type, item.doc.source_id, item.doc.user_id, item.doc.title,
                                       item.doc.text, item.doc.metadata_json, item.doc.content_hash,
                                       item.updated_at});
    } else {
      b.deletes.push_back(sink::Delete{type, item.doc.source_id});
    }
  }
  return out;
}

std::unique_ptr<JobStep> make_bulk(const Job& job, const domain::Clock& clock, domain::IdGenerator& ids,
                                   std::chrono::microseconds search_deadline) {
  return make_bulk_step(job, clock, ids, search_deadline);
}

}  // namespace

// ---- Control ----

void Engine::Control::request(bool Control::*what) {
  {
    std::lock_guard lock(m);
    this->*what = true;
    any.store(true, std::memory_order_release);
  }
  abandon.request_stop();
  cv.notify_all();
}

void Engine::request(Control& control, bool Control::*what) {
  control.request(what);
  // A worker waiting for a commit waits on commit_cv_: told under commit_m_, so that it cannot
  // miss the request between its look and its wait.
  { std::lock_guard lock(commit_m_); }
  commit_cv_.notify_all();
}

Engine::Ending Engine::ending(Control& control) const {
  std::lock_guard lock(control.m);
  if (control.stop) {
    return Ending::interrupted;
  }
  if (control.cancel) {
    return Ending::cancelled;
  }
  if (control.pause) {
    return Ending::paused;
  }
  return Ending::none;
}

// ---- The shared commit ----

/// A job's commit of its prepared slices, handed to whichever job's worker leads the next
/// transaction (docs/sync-engine.md, "commit").
struct Engine::CommitRequest {
  /// Writes the job's part in `w`'s transaction (its counters, checkpoint and item errors) and
  /// gathers its documents into `writes`, which points at them in the job's slices (they stay
  /// there, so that the part can run again alone). Runs on the leader's thread while the job's
  /// worker waits.
  std::function<void(store::Writer&, store::DocumentWrites&)> part;
  /// Saves the job's row in the same transaction once the documents of every part are written.
  std::function<void(store::Writer&)> finish;
  std::size_t slices = 0;
  Control* control = nullptr;  ///< the job's: a request withdraws a commit not yet taken
  // Guarded by commit_m_.
  bool taken = false;  ///< by a leader: it is committed (or fails) whatever comes
  bool done = false;
  std::exception_ptr error;                         ///< what the part threw when it was committed alone
  std::chrono::steady_clock::duration per_slice{};  ///< the transaction's time per slice
};

bool Engine::commit_shared(CommitRequest& mine) {
  std::unique_lock lock(commit_m_);
  commit_queue_.push_back(&mine);
  for (;;) {
    if (mine.done) {
      if (mine.error) {
        std::rethrow_exception(mine.error);
      }
      return true;
    }
    if (!mine.taken && mine.control->requested()) {
      commit_queue_.erase(std::find(commit_queue_.begin(), commit_queue_.end(), &mine));
      return false;
    }
    if (!mine.taken && !committing_) {
      break;  // no commit under way: this worker leads the next one
    }
    commit_cv_.wait(lock);
  }
  committing_ = true;
  mine.taken = true;
  commit_queue_.erase(std::find(commit_queue_.begin(), commit_queue_.end(), &mine));
  lock.unlock();
  std::vector<CommitRequest*> taken{&mine};
  try {
    commit_together(taken, mine);
  } catch (...) {
    // commit_together keeps each part's error in its request; only a failure of its own (no
    // memory) gets here: each request taken fails with it rather than waiting forever.
    for (auto* r : taken) {
      r->error = std::current_exception();
    }
  }
  lock.lock();
  for (auto* r : taken) {
    r->done = true;
  }
  committing_ = false;
  lock.unlock();
  commit_cv_.notify_all();  // the followers, and the next leader
  if (mine.error) {
    std::rethrow_exception(mine.error);
  }
  return true;
}

void Engine::commit_together(std::vector<CommitRequest*>& taken, CommitRequest& mine) {
  const auto start = std::chrono::steady_clock::now();
  std::size_t slices = mine.slices;
  bool shared = false;  // more than one job may share the transaction
  const auto take_waiting = [&] {
    // Taken once the writer is this transaction's, so that the commits that came while it waited
    // for the writer (behind another job's claim, an API write) go in too, and again after the
    // parts taken are written (the jobs just woken by the last commit come meanwhile); in arrival
    // order, up to commit_share slices and the time budget by the last transaction's time per slice.
    std::lock_guard lock(commit_m_);
    shared = shared || sharing_jobs_ > 1;
    for (auto it = commit_queue_.begin(); it != commit_queue_.end();) {
      auto* r = *it;
      if (r->control->requested()) {
        ++it;  // its worker withdraws it
        continue;
      }
      if (slices + r->slices > options_.commit_share ||
          commit_per_slice_ * static_cast<std::int64_t>(slices + r->slices) > kCommitBudget) {
        break;
      }
      r->taken = true;
      slices += r->slices;
      taken.push_back(r);
      it = commit_queue_.erase(it);
    }
  };
  bool shared_failed = false;
  const auto times_start = ThreadTimes::now();  // a wait for the writer costs no CPU
  try {
    store_.write([&](store::Writer& w) {
      take_waiting();
      store::DocumentWrites writes;
      for (std::size_t written = 0; written < taken.size();) {
        for (; written < taken.size(); ++written) {
          taken[written]->part(w, writes);
        }
        if (shared) {  // else no other job shares its commits: nobody can come
          take_waiting();
        }
      }
      writes.apply(w);  // once for every job: one full-text index update, one stats update
      w.flush_pages();  // the documents' pages before the jobs' updatedAt (the commit's time)
      for (auto* r : taken) {
        r->finish(w);
      }
    });
  } catch (const std::exception& e) {
    if (taken.size() == 1) {
      mine.error = std::current_exception();
    } else {
      shared_failed = true;
      spdlog::warn("msg=\"a commit shared by {} jobs failed; each commits alone\" error=\"{}\"", taken.size(),
                   e.what());
    }
  }
  if (shared_failed) {
    // One job's failure must not fail the others: each part is committed alone, in order, and
    // only the part that fails again fails (its job fails at its last checkpoint).
    for (auto* r : taken) {
      try {
        commit_alone(*r);
      } catch (...) {
        r->error = std::current_exception();
      }
    }
  } else if (!mine.error) {
    count_commit(taken.size(), slices, times_start);
  }
  const auto per_slice = (std::chrono::steady_clock::now() - start) / static_cast<std::int64_t>(slices);
  std::lock_guard lock(commit_m_);
  commit_per_slice_ = per_slice;
  commit_stats_.fallbacks += shared_failed ? 1 : 0;
  for (auto* r : taken) {
    r->per_slice = per_slice;
  }
}

void Engine::commit_alone(CommitRequest& request) {
  const auto times_start = ThreadTimes::now();
  store_.write([&](store::Writer& w) {
    store::DocumentWrites writes;
    request.part(w, writes);
    writes.apply(w);  // once for the request's slices: one full-text index update, one stats update
    w.flush_pages();  // the documents' pages before the job's updatedAt (the commit's time)
    request.finish(w);
  });
  count_commit(1, request.slices, times_start);
}

void Engine::count_commit(std::size_t parts, std::size_t slices, const ThreadTimes& start) {
  const auto end = ThreadTimes::now();
  std::lock_guard lock(commit_m_);
  commit_stats_.cpu += end.cpu - start.cpu;
  commit_stats_.wall += end.wall - start.wall;
  commit_stats_.run_wait += end.run_wait - start.run_wait;
  ++commit_stats_.transactions;
  commit_stats_.shared += parts > 1 ? 1 : 0;
  commit_stats_.parts += parts;
  commit_stats_.slices += slices;
}

CommitStats Engine::commit_stats() const {
  std::lock_guard lock(commit_m_);
  auto out = commit_stats_;
  out.waiting = commit_queue_.size();
  {
    std::lock_guard prepare_lock(prepare_m_);
    out.most_preparing = most_preparing_;
  }
  return out;
}

// ---- The sync pipeline ----

/// Runs a sync job a worker holds: a preparer thread reads and shapes slices ahead (and hands
/// them to the sink); the worker's thread commits them in order.
class Engine::Pipeline {
 public:
  Pipeline(Engine& engine, Job& job, std::shared_ptr<Control> control, std::int64_t running_before,
           std::chrono::steady_clock::time_point segment)
      : e_(engine),
        job_(job),
        start_(job),
        control_(std::move(control)),
        running_before_(running_before),
        segment_(segment),
        shared_(std::make_shared<Shared>()) {}

  /// Returns how the run ended: none when the job completed or failed (saved and notified).
  Ending run() {
    // With a sink, a slice is one sink batch, and at most max_in_flight batches are sent and not
    // yet committed (the preparer shapes one more meanwhile): a crash re-sends at most
    // max_in_flight × batch_items items (docs/sync-engine.md, "deliver").
    // Without a sink, the committer takes up to commit_group prepared slices in one transaction
    // when it has fallen behind the preparer (docs/sync-engine.md, "commit").
    struct Sharing {
      Engine* e;  // null: this job does not share its commits
      explicit Sharing(Engine* engine) : e(engine) {
        if (e != nullptr) {
          std::lock_guard lock(e->commit_m_);
          ++e->sharing_jobs_;
        }
      }
      ~Sharing() {
        if (e != nullptr) {
          std::lock_guard lock(e->commit_m_);
          --e->sharing_jobs_;
        }
      }
      Sharing(const Sharing&) = delete;
      Sharing& operator=(const Sharing&) = delete;
    } sharing(shares() ? &e_ : nullptr);
    std::jthread preparer([this] {
      util::name_and_lower_this_thread("sync-prepare", e_.options_.thread_nice);
      prepare_all();
    });
    struct Join {
      Pipeline* p;
      std::jthread& t;
      ~Join() {
        p->control_->abandon.request_stop();
        p->control_->cv.notify_all();
        t.join();
      }
    } join{this, preparer};
    for (;;) {
      std::vector<std::shared_ptr<Slice>> group;
      {
        std::unique_lock lock(control_->m);
        control_->cv.wait(lock, [&] {
          return control_->requested() || shared_->error ||
                 (!shared_->queue.empty() && shared_->queue.front()->unanswered == 0) ||
                 (shared_->queue.empty() && shared_->done);
        });
        if (control_->requested()) {
          break;
        }
        if (shared_->error) {
          std::rethrow_exception(shared_->error);
        }
        if (shared_->queue.empty()) {
          throw std::runtime_error("the preparer of job " + job_.id + " ended without a last slice");
        }
        // A group grows while the last commit's time per slice says it stays within
        // kCommitBudget, so that a pause or cancel still waits at most that long for it. With a
        // sink it takes only slices the service has acknowledged whole after the first (whose
        // outcome decides below whether the job goes on).
        do {
          group.push_back(std::move(shared_->queue.front()));
          shared_->queue.pop_front();
        } while (group.size() < group_limit() && !group.back()->last && !shared_->queue.empty() &&
                 (e_.sink_ == nullptr || acknowledged(*shared_->queue.front())) &&
                 per_slice_ * static_cast<std::int64_t>(group.size() + 1) <= kCommitBudget);
      }
      const auto commit_start = std::chrono::steady_clock::now();
      const Slice& slice = *group.back();
      std::unordered_map<std::string, std::string> rejected;
      std::optional<std::string> failure;
      for (const auto& s : group) {  // the slices after the first were all acknowledged
        for (const auto& o : s->outcomes) {
          for (const auto& r : o.rejected) {  // only an acknowledgement holds rejections
            rejected.emplace(r.source_id, r.reason.empty() ? "rejected by the ML service" : r.reason);
          }
        }
      }
      for (const auto& o : group.front()->outcomes) {
        switch (o.kind) {
          case sink::OutcomeKind::acknowledged:
            break;
          case sink::OutcomeKind::unavailable:
          case sink::OutcomeKind::refused:
            failure = o.reason.empty() ? "the ML service did not take a batch" : o.reason;
            break;
          case sink::OutcomeKind::abandoned:
            if (!failure) {
              failure = o.reason.empty() ? "the delivery to the ML service was abandoned" : o.reason;
            }
            break;
        }
      }
      if (failure) {
        if (control_->requested()) {
          break;  // abandoned because a request came: the request decides the ending
        }
        // The job fails at its last checkpoint: a retry sends this slice again.
        job_.failure_reason = *failure;
        spdlog::warn("msg=\"job failed at the sink\" job={} reason=\"{}\"", job_.id, *failure);
        e_.finish(job_, JobEvent::fail, running_before_ + elapsed_ms(segment_));
        return Ending::none;
      }
      // The job's part of a commit: run once, or again alone when a shared transaction failed.
      Job next;
      const auto part = [&](store::Writer& w, store::DocumentWrites& writes) {
        next = job_;
        for (const auto& s : group) {
          commit_slice(w, next, *s, rejected, e_.clock_, writes);
        }
      };
      // Its end, after the transaction's documents are written: the job row, whose updatedAt is
      // then the commit's time (what a progress event's latency is measured from).
      const auto finish = [&](store::Writer& w) {
        next.running_ms = running_before_ + elapsed_ms(segment_);
        next.updated_at = e_.clock_.now_ms();
        // The search index takes the documents a moment after the commit; no commit waits for it
        // (it may be shared by several jobs): the job's worker does after its last one, below.
        w.defer_search_index();
        if (slice.last) {
          // Records that left the job's range (changed again since it started) are the next
          // sync's: this job is done with them.
          next.counters.skipped += std::max<std::int64_t>(0, next.counters.total - next.counters.processed());
          next.status = next_status(next.status, JobEvent::complete);
          next.end_time = next.updated_at;
          if (next.retry_before_attempt == 0) {
            // A retry of failed items reads no new changes: the watermark was set when the job
            // first completed.
            w.set_watermark(store::scope_key(next), next.target_seq);
          }
        }
        w.save_job(next);
      };
      CommitRequest request{part, finish, group.size(), control_.get()};
      if (shares()) {
        if (!e_.commit_shared(request)) {
          break;  // a request came before the commit took these slices: it decides the ending
        }
        per_slice_ = request.per_slice;
      } else {
        // With a sink (or commit_share 0), each job commits alone: with a sink, a slice commits
        // once the sink acknowledged it, with the acknowledged slices waiting behind it.
        e_.commit_alone(request);
        per_slice_ =
            (std::chrono::steady_clock::now() - commit_start) / static_cast<std::int64_t>(group.size());
      }
      if (slice.last) {
        e_.await_searchable(next, [this] { return running_before_ + elapsed_ms(segment_); });
      }
      const bool status_changed = next.status != job_.status;
      job_ = std::move(next);
      {
        std::lock_guard lock(control_->m);
        shared_->pending -= group.size();
        for (const auto& s : group) {
          shared_->unsettled -= s->sent;
        }
      }
      control_->cv.notify_all();
      e_.notify(job_, status_changed);
      e_.saved(job_.id);
      if (slice.last) {
        spdlog::info("msg=\"job completed\" job={} type={} synced={} skipped={} failed={} ms={}", job_.id,
                     domain::to_string(job_.type), job_.counters.synced, job_.counters.skipped,
                     job_.counters.failed, job_.running_ms);
        return Ending::none;
      }
    }
    return e_.ending(*control_);
  }

 private:
  /// What the preparer, the sink's callbacks and the committer share, guarded by control_->m.
  /// The callbacks may run after the run ended: they hold it (and the control) by shared_ptr.
  struct Shared {
    std::deque<std::shared_ptr<Slice>> queue;  ///< prepared, not yet taken to commit, in order
    std::size_t pending = 0;                   ///< prepared, not yet committed
    std::size_t unsettled = 0;                 ///< sink batches sent whose slice is not committed
    std::size_t unanswered = 0;                ///< of these, those the sink has not answered yet
    bool done = false;                         ///< the preparer ended
    std::exception_ptr error;
  };

  /// Prepared slices committed in one transaction at most: commit_group, or, while several jobs
  /// share the commits, each one's share of a shared transaction (commit_share slices), so that
  /// one job's group does not fill a transaction alone and its preparer does not run far ahead
  /// of the others' (measured: docs/benchmarks.md, "A contentless index and larger commit
  /// groups").
  std::size_t group_limit() const {
    const std::size_t limit = std::max<std::size_t>(1, e_.options_.commit_group);
    const std::size_t jobs = shares() ? e_.sharing_jobs_.load() : 0;
    return jobs > 1 ? std::clamp<std::size_t>(e_.options_.commit_share / jobs, 1, limit) : limit;
  }

  /// Slices the preparer may have prepared and not yet committed (the group under commit counts):
  /// with a sink, its window and one more. Without, a job alone prepares the next group while one
  /// commits, two groups and one more, so that a committer that has fallen behind finds a whole
  /// group each time: with one, it found 17 less the group it was committing, and its groups
  /// alternated between large and small (about 7 slices on average at 1,000,000 documents, where
  /// every commit then rewrote a leaf of documents_by_user per owner: docs/benchmarks.md, "Why the
  /// rate falls from 100,000 to 1,000,000, and two groups ahead"). While several jobs share the
  /// commits, each preparer runs one group ahead, so that no job fills the shared transactions
  /// alone.
  std::size_t ahead() const {
    if (e_.sink_ != nullptr) {
      return window() + 1;
    }
    const bool alone = !shares() || e_.sharing_jobs_.load() <= 1;
    return (alone ? 2 : 1) * group_limit() + 1;
  }

  /// Under control_->m: every batch of the slice answered, and every answer an acknowledgement.
  static bool acknowledged(const Slice& slice) {
    return slice.unanswered == 0 &&
           std::all_of(slice.outcomes.begin(), slice.outcomes.end(),
                       [](const sink::Outcome& o) { return o.kind == sink::OutcomeKind::acknowledged; });
  }

  /// Whether this job's commits share transactions with the other jobs' (no sink).
  bool shares() const { return e_.sink_ == nullptr && e_.options_.commit_share > 0; }

  /// Sink requests of the job in flight (sent, not answered) at once, at most.
  std::size_t requests() const { return std::max<std::size_t>(1, e_.sink_->max_in_flight()); }
  /// Sink batches of the job sent and not yet committed, at most: answered batches wait for the
  /// committer without holding a request's place (docs/sync-engine.md, "deliver").
  std::size_t window() const { return std::max<std::size_t>(1, e_.options_.sink_window) * requests(); }

  void prepare_all() {
    const auto stop = control_->abandon.get_token();
    // With a sink, a slice holds at most one sink batch of records, so that the commit follows
    // each acknowledgement (a slice commits once all its batches are answered).
    const std::size_t slice_items =
        e_.sink_ != nullptr ? std::max<std::size_t>(1, e_.sink_->batch_items()) : e_.options_.batch_items;
    try {
      SyncSource source(start_, e_.clock_, e_.ids_, e_.sink_ != nullptr,
                        start_.mode == domain::SyncMode::full);
      while (!stop.stop_requested()) {
        {
          std::unique_lock lock(control_->m);
          control_->cv.wait(lock, [&] {
            return stop.stop_requested() ||
                   (shared_->pending < ahead() && (!source.retrying() || shared_->pending == 0));
          });
          if (stop.stop_requested()) {
            break;
          }
        }
        // One of the engine's preparer slots while the slice is read and shaped: the preparers of
        // several jobs leave the writer a core (docs/sync-engine.md, "Several jobs at once").
        if (!e_.acquire_prepare_slot(stop)) {
          break;
        }
        struct Slot {
          Engine& e;
          ~Slot() { e.release_prepare_slot(); }
        };
        std::shared_ptr<Slice> slice;
        {
          Slot held{e_};
          slice = std::make_shared<Slice>(e_.store_.read_value([&](store::Reader& r) {
            return source.prepare(r, slice_items, std::chrono::steady_clock::now() + e_.options_.batch_time);
          }));
        }
        const bool last = slice->last;
        std::vector<sink::Batch> batches;
        if (e_.sink_ != nullptr) {
          batches = sink_batches(*slice, start_, e_.sink_->batch_items(), e_.ids_);
        }
        {
          std::lock_guard lock(control_->m);
          slice->unanswered = batches.size();
          shared_->queue.push_back(slice);
          ++shared_->pending;
        }
        control_->cv.notify_all();
        for (auto& batch : batches) {
          {
            std::unique_lock lock(control_->m);
            // Answered is not enough: a batch leaves the window when its slice is committed. (A
            // slice is one batch; were it more, its own batches never wait for one another.)
            control_->cv.wait(lock, [&] {
              return stop.stop_requested() ||
                     (shared_->unanswered < requests() && shared_->unsettled < window()) ||
                     shared_->unsettled == slice->sent;
            });
            ++shared_->unsettled;
            ++shared_->unanswered;
            ++slice->sent;
          }
          // After a stop request the sink answers `abandoned` at once; the batch is prepared
          // again from the checkpoint by a later run.
          e_.sink_->send(std::move(batch), stop,
                         [control = control_, shared = shared_, slice](sink::Outcome outcome) {
                           {
                             std::lock_guard lock(control->m);
                             slice->outcomes.push_back(std::move(outcome));
                             --slice->unanswered;
                             --shared->unanswered;
                           }
                           control->cv.notify_all();
                         });
        }
        if (last) {
          break;
        }
      }
    } catch (...) {
      std::lock_guard lock(control_->m);
      shared_->error = std::current_exception();
    }
    {
      std::lock_guard lock(control_->m);
      shared_->done = true;
    }
    control_->cv.notify_all();
  }

  Engine& e_;
  Job& job_;         ///< the committed state (the worker's thread)
  const Job start_;  ///< the job as the run started (the preparer's thread)
  std::shared_ptr<Control> control_;
  std::int64_t running_before_;
  std::chrono::steady_clock::time_point segment_;
  std::shared_ptr<Shared> shared_;
  std::chrono::steady_clock::duration per_slice_{};  ///< the last commit's time per slice (committer)
};

// ---- Engine ----

Engine::Engine(store::Store& store, const domain::Clock& clock, domain::IdGenerator& ids,
               EngineOptions options, sink::Sink* sink)
    : store_(store), clock_(clock), ids_(ids), options_(options), sink_(sink) {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
  prepare_slots_ = options_.preparers > 0 ? options_.preparers
                                          : std::max<std::size_t>(1, std::thread::hardware_concurrency()) - 1;
  prepare_slots_ = std::max<std::size_t>(1, prepare_slots_);
}

bool Engine::acquire_prepare_slot(const std::stop_token& stop) {
  std::unique_lock lock(prepare_m_);
  const auto ticket = prepare_next_ticket_++;
  prepare_queue_.push_back(ticket);
  const bool got = prepare_cv_.wait(
      lock, stop, [&] { return preparing_ < prepare_slots_ && prepare_queue_.front() == ticket; });
  prepare_queue_.erase(std::find(prepare_queue_.begin(), prepare_queue_.end(), ticket));
  if (got) {
    ++preparing_;
    most_preparing_ = std::max(most_preparing_, preparing_);
  }
  lock.unlock();
  prepare_cv_.notify_all();  // the next in line, when a slot is still free or this one gave up
  return got;
}

void Engine::release_prepare_slot() {
  {
    std::lock_guard lock(prepare_m_);
    --preparing_;
  }
  prepare_cv_.notify_all();
}

Engine::~Engine() {
  stop();
}

void Engine::start() {
  const auto now = clock_.now_ms();
  // Jobs a dead or stopped process left running resume from their checkpoints; a paused job
  // stays paused until someone resumes it.
  const auto recovered = store_.write_value([&](store::Writer& w) {
    auto jobs = w.jobs_in({JobStatus::running, JobStatus::interrupted});
    for (auto& job : jobs) {
      if (job.status == JobStatus::running) {
        job.status = next_status(job.status, JobEvent::interrupt);
      }
      job.status = next_status(job.status, JobEvent::requeue);
      job.updated_at = now;
      w.save_job(job);
    }
    return jobs;
  });
  for (const auto& job : recovered) {
    notify(job, true);
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
      threads_.emplace_back([this] {
        util::name_and_lower_this_thread("sync-worker", options_.thread_nice);
        worker();
      });
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
    for (auto& [id, held] : running_) {
      request(*held.control, &Control::stop);
    }
  }
  cv_.notify_all();
  for (auto& t : threads) {
    t.join();
  }
  std::deque<std::string> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  // Resumed jobs still waiting for a worker are running with none: interrupted, like the others.
  const std::set<std::string> ids(left.begin(), left.end());
  if (ids.empty()) {
    return;
  }
  const auto interrupted = store_.write_value([&](store::Writer& w) {
    std::vector<Job> out;
    for (const auto& id : ids) {
      auto job = w.find_job(id);
      if (job && job->status == JobStatus::running) {
        job->status = next_status(job->status, JobEvent::interrupt);
        job->updated_at = clock_.now_ms();
        w.save_job(*job);
        out.push_back(*job);
      }
    }
    return out;
  });
  for (const auto& job : interrupted) {
    notify(job, true);
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

void Engine::notify(const Job& job, bool status_changed) const {
  if (listener_) {
    listener_(job, status_changed);
  }
}

void Engine::saved(const std::string& job_id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(job_id); it != running_.end()) {
      ++it->second.version;
    }
  }
  cv_.notify_all();  // wakes API calls waiting in wait_for
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
  notify(job, true);  // a new job
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
    // A count past its deadline answers 503 query_timeout, and no job is created.
    store_.read([&](store::Reader& r) {
      auto filter = domain::compile_filter(*req.target.filter, "filter.");
      job.target_seq = r.max_document_seq();
      filter.max_seq = job.target_seq;
      job.counters.total = r.count_matching_documents(filter, options_.bulk_search_deadline);
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
    job.bulk = bulk_params(req.target, targets.size());
    if (!w.insert_job(job)) {
      throw std::runtime_error("a new bulk job found its own slot taken");  // the slot holds its id
    }
    w.insert_bulk_targets(job.id, targets);
    if (req.on_created) {
      req.on_created(w, job);
    }
  });
  notify(job, true);  // a new job
  enqueue(job.id);
  return job;
}

void Engine::worker() {
  for (;;) {
    std::string id;
    std::shared_ptr<Control> control;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        return;
      }
      id = queue_.front();
      queue_.pop_front();
      if (auto it = running_.find(id); it != running_.end()) {
        // Another worker is letting this job go (paused, finished): it queues it again after.
        it->second.requeue = true;
        continue;
      }
      control = running_[id].control;
    }
    try {
      run(id, control);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"job failed\" job={} error=\"{}\"", id, e.what());
      mark_failed(id, failure_reason_of(e));
    }
    {
      std::lock_guard lock(mutex_);
      auto it = running_.find(id);
      if (it != running_.end()) {
        // A cancel that arrived while this worker was letting the job go (paused, or paused and
        // resumed at once) found the job held and asked this worker; it is carried out here, so
        // that it is neither lost nor left to a worker that takes the job again.
        bool cancel_wanted = false;
        {
          std::lock_guard control_lock(control->m);
          cancel_wanted = control->cancel;
        }
        bool cancelled = false;
        if (cancel_wanted && !stopping_) {
          try {
            cancelled = cancel_released(id);
          } catch (const std::exception& e) {
            spdlog::error("msg=\"cannot cancel a released job\" job={} error=\"{}\"", id, e.what());
          }
        }
        if (it->second.requeue && !stopping_ && !cancelled) {
          queue_.push_back(id);
        }
        running_.erase(it);
      }
    }
    cv_.notify_all();
  }
}

bool Engine::cancel_released(const std::string& job_id) {
  auto cancelled = store_.write_value([&](store::Writer& w) -> std::optional<Job> {
    auto current = w.find_job(job_id);
    // Only the run the cancel was asked of: running (resumed while let go) or paused. A job that
    // finished meanwhile, or that was retried since (queued, a new attempt), is left alone.
    if (!current || (current->status != JobStatus::running && current->status != JobStatus::paused)) {
      return std::nullopt;
    }
    current->status = next_status(current->status, JobEvent::cancel);
    current->cancel_requested = true;
    current->end_time = current->updated_at = clock_.now_ms();
    w.save_job(*current);
    return current;
  });
  if (cancelled) {
    notify(*cancelled, true);
  }
  return cancelled.has_value();
}

void Engine::finish(Job& job, JobEvent event, std::int64_t running_ms) {
  if (job.status == JobStatus::running) {
    job.running_ms = running_ms;
  }
  job.status = next_status(job.status, event);
  store_.write([&](store::Writer& w) {
    // Stamped once the write lock is held (a commit of another job may hold it): updatedAt is
    // when the change commits, what its event's latency is measured from.
    job.updated_at = clock_.now_ms();
    if (domain::is_finished(job.status)) {
      job.end_time = job.updated_at;
    }
    w.save_job(job);
  });
  notify(job, true);
  saved(job.id);
}

void Engine::run(const std::string& id, const std::shared_ptr<Control>& control) {
  std::unique_ptr<JobStep> step;
  bool status_changed = false;  // claimed (queued → running), or failed at the claim
  auto claimed = store_.write_value([&](store::Writer& w) -> std::optional<Job> {
    auto job = w.find_job(id);
    // A queued job starts; a running one no worker holds was resumed and goes on. Anything else
    // changed since it was queued (cancelled, paused again).
    if (!job || (job->status != JobStatus::queued && job->status != JobStatus::running)) {
      return std::nullopt;
    }
    const auto now = clock_.now_ms();
    if (job->status == JobStatus::queued) {
      job->status = next_status(job->status, JobEvent::start);
      status_changed = true;
    }
    if (domain::is_bulk(job->type)) {
      try {
        step = make_bulk(*job, clock_, ids_, options_.bulk_search_deadline);
      } catch (const std::exception& e) {
        // Only a job row changed outside this program gets here: it fails rather than stays queued.
        spdlog::error("msg=\"job cannot run\" job={} error=\"{}\"", id, e.what());
        job->status = next_status(job->status, JobEvent::fail);
        job->failure_reason = "the job's parameters cannot be read; it has been logged";
        job->end_time = job->updated_at = now;
        w.save_job(*job);
        status_changed = true;
        return job;
      }
    } else if (job->target_seq == 0 && job->counters.processed() == 0 && job->retry_before_attempt == 0) {
      fix_range(w, *job);  // first start: fix the range of what this job takes
    }
    // After the range's count (tens of milliseconds over a large source), just before the
    // claim commits: the running event's updatedAt is when the job started running.
    const auto claimed_at = clock_.now_ms();
    if (!job->start_time) {
      job->start_time = claimed_at;
    }
    job->updated_at = claimed_at;
    w.save_job(*job);
    return job;
  });
  if (!claimed) {
    return;
  }
  // Told also when only `updatedAt` moved (a resumed job taken by a worker), so that the job view
  // and the event stream do not keep the resume's time until the first commit.
  notify(*claimed, status_changed);
  if (claimed->status != JobStatus::running) {
    return;  // failed at the claim
  }
  Job job = std::move(*claimed);
  const auto segment = std::chrono::steady_clock::now();
  const std::int64_t running_before = job.running_ms;
  const Ending how = step ? run_in_transaction(job, *step, *control, running_before, segment)
                          : Pipeline(*this, job, control, running_before, segment).run();
  const std::int64_t running_ms = running_before + elapsed_ms(segment);
  switch (how) {
    case Ending::none:
      return;
    case Ending::interrupted:
      finish(job, JobEvent::interrupt, running_ms);
      return;
    case Ending::cancelled:
      job.cancel_requested = true;
      finish(job, JobEvent::cancel, running_ms);
      return;
    case Ending::paused:
      finish(job, JobEvent::pause, running_ms);
      return;
  }
}

Engine::Ending Engine::run_in_transaction(Job& job, JobStep& step, Control& control,
                                          std::int64_t running_before,
                                          std::chrono::steady_clock::time_point segment) {
  BatchLimits limits;
  limits.max_items = options_.batch_items;
  limits.interrupted = [&control] { return control.requested(); };
  for (;;) {
    if (auto e = ending(control); e != Ending::none) {
      return e;
    }
    bool done = false;
    Job next = job;
    store_.read([&](store::Reader& r) { step.prepare(r, job, limits); });
    store_.write([&](store::Writer& w) {
      std::vector<domain::ItemError> new_errors;
      limits.deadline = std::chrono::steady_clock::now() + options_.batch_time;
      done = step.batch(w, next, limits, new_errors);
      w.defer_search_index();
      next.running_ms = running_before + elapsed_ms(segment);
      next.updated_at = clock_.now_ms();
      if (done) {
        next.status = next_status(next.status, JobEvent::complete);
        next.end_time = next.updated_at;
        step.completed(w, next);
      }
      w.append_job_errors(next.id, next.attempt, new_errors);
      w.save_job(next);
    });
    if (done) {
      await_searchable(next, [&] { return running_before + elapsed_ms(segment); });  // as a sync does
    }
    const bool status_changed = next.status != job.status;
    job = std::move(next);
    notify(job, status_changed);
    saved(job.id);
    if (done) {
      spdlog::info("msg=\"job completed\" job={} type={} synced={} skipped={} failed={} ms={}", job.id,
                   domain::to_string(job.type), job.counters.synced, job.counters.skipped,
                   job.counters.failed, job.running_ms);
      return Ending::none;
    }
  }
}

void Engine::await_searchable(Job& job, const std::function<std::int64_t()>& running_ms) {
  const auto start = std::chrono::steady_clock::now();
  store_.wait_for_search_index();
  if (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1)) {
    return;  // the index had them already: the last commit's time is the end
  }
  Job stamped = job;
  try {
    store_.write([&](store::Writer& w) {
      stamped.updated_at = clock_.now_ms();
      stamped.end_time = stamped.updated_at;
      stamped.running_ms = running_ms();
      w.save_job(stamped);
    });
    job = std::move(stamped);
  } catch (const std::exception& e) {
    // The job is completed all the same (its last commit says so), with that commit's time.
    spdlog::warn(
        "msg=\"the end of a completed job could not be stamped after its search index\" job={} error=\"{}\"",
        job.id, e.what());
  }
}

void Engine::mark_failed(const std::string& id, const std::string& reason) {
  // A job that stopped because the disk is full (or the file is locked by another program) may
  // find its own failure unwritable too. On a full disk the store's reserved room is given back
  // once for it (Store::release_reserve). It is not left `running` with no worker: the write is
  // tried again, waiting longer each time (at most 5 s), until it succeeds or the engine stops
  // (then the job is still `running` in the database and recovery resumes it at the next start).
  auto wait = std::chrono::milliseconds(100);
  bool logged = false;
  const auto say_waiting = [&](const std::exception& e) {
    if (!std::exchange(logged, true)) {
      spdlog::error("msg=\"cannot mark job failed yet; trying again\" job={} error=\"{}\"", id, e.what());
    }
  };
  for (bool released = false;;) {
    try {
      auto failed = store_.write_value([&](store::Writer& w) {
        auto job = w.find_job(id);
        if (job && job->status == JobStatus::running) {
          job->status = next_status(job->status, JobEvent::fail);
          job->failure_reason = reason;
          job->end_time = job->updated_at = clock_.now_ms();
          w.save_job(*job);
          return job;
        }
        return std::optional<Job>();
      });
      if (failed) {
        notify(*failed, true);
      }
      if (logged) {
        spdlog::info("msg=\"job marked failed\" job={}", id);
      }
      return;
    } catch (const store::StorageFull& e) {
      if (!released) {
        // The room kept aside for this: a checkpoint may not take it (store.hpp).
        released = true;
        if (store_.release_reserve()) {
          spdlog::warn("msg=\"disk full; the reserved room is used to record the job's failure\" job={}", id);
          continue;
        }
      }
      say_waiting(e);
    } catch (const store::StorageLocked& e) {
      say_waiting(e);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"cannot mark job failed\" job={} error=\"{}\"", id, e.what());
      return;
    }
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, wait, [this] { return stopping_; })) {
      return;
    }
    wait = std::min(wait * 2, std::chrono::milliseconds(5000));
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
  check(domain::transition(load(job_id).status, JobEvent::cancel));
  std::optional<Job> cancelled;
  {
    // Under the engine's lock, so that no worker takes the job between the look and the write.
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(job_id); it != running_.end()) {
      request(*it->second.control, &Control::cancel);  // the worker ends it at once
    } else {
      // Not held by a worker (queued, paused, interrupted, or resumed and waiting for a worker).
      cancelled = store_.write_value([&](store::Writer& w) {
        auto current = w.find_job(job_id);
        if (!current) {
          throw domain::not_found("job");
        }
        current->status = next_status(current->status, JobEvent::cancel);
        current->cancel_requested = true;
        current->end_time = current->updated_at = clock_.now_ms();
        w.save_job(*current);
        return *current;
      });
      notify(*cancelled, true);  // under the lock: before any later change of the job is told
    }
  }
  if (cancelled) {
    return *cancelled;
  }
  return wait_for(job_id, [](const Job& j) { return domain::is_finished(j.status); });
}

Job Engine::pause(const std::string& job_id) {
  check(domain::transition(load(job_id).status, JobEvent::pause));
  std::optional<Job> paused;
  {
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(job_id); it != running_.end()) {
      request(*it->second.control, &Control::pause);  // the worker saves it paused and lets it go
    } else {
      // Resumed and waiting for a worker: paused where it is.
      paused = store_.write_value([&](store::Writer& w) {
        auto current = w.find_job(job_id);
        if (!current) {
          throw domain::not_found("job");
        }
        current->status = next_status(current->status, JobEvent::pause);
        current->updated_at = clock_.now_ms();
        w.save_job(*current);
        return *current;
      });
      notify(*paused, true);  // under the lock: before any later change of the job is told
    }
  }
  if (paused) {
    return *paused;
  }
  return wait_for(job_id, [](const Job& j) { return j.status != JobStatus::running; });
}

Job Engine::resume(const std::string& job_id) {
  std::optional<Job> resumed;
  {
    std::lock_guard lock(mutex_);
    resumed = store_.write_value([&](store::Writer& w) {
      auto current = w.find_job(job_id);
      if (!current) {
        throw domain::not_found("job");
      }
      current->status = next_status(current->status, JobEvent::resume);
      current->updated_at = clock_.now_ms();
      w.save_job(*current);
      return *current;
    });
    notify(*resumed, true);  // before a worker takes it and tells its checkpoints
    // Running again; a worker takes it from its checkpoint (after the one letting it go, if any).
    if (auto it = running_.find(job_id); it != running_.end()) {
      it->second.requeue = true;
    } else {
      queue_.push_back(job_id);
    }
  }
  cv_.notify_all();
  return *resumed;
}

Job Engine::retry(const std::string& job_id) {
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
    // A completed job runs again over its failed items only: its current errors become the
    // items to process (job_errors_to_retry) once retry_before_attempt names the new attempt.
    const std::int64_t errors = current->status == JobStatus::completed ? w.count_job_errors(job_id) : 0;
    domain::prepare_retry(*current, errors, clock_.now_ms());
    w.save_job(*current);
    return *current;
  });
  notify(job, true);
  enqueue(job.id);
  return job;
}

}  // namespace mladmin::sync

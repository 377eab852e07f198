#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "domain/clock.hpp"
#include "domain/job.hpp"
#include "store/store.hpp"

namespace mladmin::api {

/// The jobs that lookups and lists are answered from without reading the database
/// (docs/performance.md, "The job view"): every active job, and the newest `keep` jobs of the
/// history. The engine's listener (app/app.cpp) hands it each committed change before the event
/// hub hears of it; at start it is loaded from the database, before the server listens. Each
/// job's JSON (api::job_json) is serialized once per change and reused by every read; only the
/// `duration` of a job that started and has not ended is written per read (it grows with the
/// clock). Jobs are written only by this process (the engine and the retention sweep), so what
/// it holds is the database's state.
///
/// What it holds is complete above a bound: every job whose (createdAt, id) is above the bound is
/// in it (there is no bound while nothing was ever left out). A lookup of a job it does not hold
/// is "unknown" (the caller reads the database) unless it holds every job; a list is answered
/// only when the page and the one after it are decided by what it holds. A finished job that the
/// retention sweep may delete by now (ended more than `retention_days` ago) is never answered
/// from here. Thread-safe.
class JobView final {
 public:
  /// One job as read: its visibility fields and its JSON.
  struct Entry {
    std::string id;
    std::string user_id;
    std::optional<std::string> scope_user_id;
    domain::JobScope scope = domain::JobScope::user;
    domain::JobType type = domain::JobType::journal_entries;
    domain::JobStatus status = domain::JobStatus::queued;
    domain::TimestampMs created_at = 0;
    std::optional<domain::TimestampMs> start_time;
    std::optional<domain::TimestampMs> end_time;
    /// The JSON, whole; or, for a job that started and has not ended, the part before the value
    /// of `duration` (json) and the part after it (json_tail).
    std::string json;
    std::string json_tail;
    bool splice_duration = false;

    /// Appends the job's JSON as of `now`.
    void append_json(std::string& out, domain::TimestampMs now) const;
  };

  /// `keep`: how many jobs of the history it holds besides the active ones ([sync] view_jobs);
  /// `retention_days` as the retention sweep ([sync] retention_days, 0: forever).
  JobView(std::size_t keep, int retention_days) : keep_(keep), retention_days_(retention_days) {}

  /// Fills it from the database: the newest `keep` jobs and every active one.
  void load(store::Store& store, domain::TimestampMs now);

  /// A committed change of a job (or a new job), told at `now`.
  void update(const domain::Job& job, domain::TimestampMs now);

  enum class Presence { held, absent, unknown };
  struct Lookup {
    Presence presence = Presence::unknown;
    std::shared_ptr<const Entry> entry;  ///< set when held
  };
  /// The job `id` as the database holds it, as of `now`.
  Lookup find(std::string_view id, domain::TimestampMs now) const;

  struct Page {
    std::vector<std::shared_ptr<const Entry>> items;
    bool has_more = false;
  };
  /// The page store::Reader::list_jobs(query) would read, or nothing when what it holds cannot
  /// decide it.
  std::optional<Page> list(const store::JobQuery& query, domain::TimestampMs now) const;

  /// How many jobs it holds (for tests and logs).
  std::size_t size() const;

 private:
  using Key = std::pair<domain::TimestampMs, std::string>;  // (createdAt, id): the list's order

  static std::shared_ptr<const Entry> make_entry(const domain::Job& job);
  bool expired(const Entry& e, domain::TimestampMs now) const;
  bool above_bound(const Key& key) const { return !bound_ || key > *bound_; }
  void put(std::shared_ptr<const Entry> entry);  // under the unique lock
  void trim(domain::TimestampMs now);            // under the unique lock

  const std::size_t keep_;
  const int retention_days_;
  mutable std::shared_mutex mutex_;
  std::map<Key, std::shared_ptr<const Entry>> ordered_;
  std::unordered_map<std::string, std::map<Key, std::shared_ptr<const Entry>>::iterator> by_id_;
  /// Every job above it is held; nullopt: every job is held.
  std::optional<Key> bound_;
  /// How many finished jobs above the bound are held (at most keep_ after a trim, which also lets
  /// go of the oldest ones while retention may have deleted them).
  std::size_t finished_above_ = 0;
};

}  // namespace mladmin::api

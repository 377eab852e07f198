#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <vector>

#include "domain/job.hpp"
#include "store/store.hpp"

namespace mladmin::sync {

/// How much one batch of a job may take before it commits.
struct BatchLimits {
  std::size_t max_items = 1000;
  std::chrono::steady_clock::time_point deadline;
  /// True once a control request (cancel, pause, stop) waits: the batch ends at its next item.
  std::function<bool()> interrupted;

  /// True when a batch that took `taken` items must end here.
  bool reached(std::size_t taken) const {
    return taken >= max_items || std::chrono::steady_clock::now() >= deadline;
  }
};

/// The part of running a job that depends on its type (a sync, a bulk action). The Engine claims
/// the job, runs the control loop (pause, cancel, stop) and commits each batch together with the
/// job's counters and checkpoint; a step does the work of one batch inside that transaction.
/// Called on one worker thread at a time.
class JobStep {
 public:
  virtual ~JobStep() = default;
  /// In the transaction that claims the job on its first start (nothing processed yet, no range
  /// fixed): fixes what the job takes (its range and total).
  virtual void first_start(store::Writer& w, domain::Job& job) = 0;
  /// Before each batch's write transaction, in a read transaction of its own: a search whose cost
  /// grows with the data (a bulk job's filter) runs here, so that it never holds the write lock
  /// (docs/security.md). Throws to fail the job. Default: nothing.
  virtual void prepare(store::Reader& r, const domain::Job& job, const BatchLimits& limits) {
    (void)r;
    (void)job;
    (void)limits;
  }
  /// Processes the job's next items within `limits` in `w`'s transaction: writes the documents,
  /// advances the job's counters and checkpoint, and counts each failed item with record_failure.
  /// Returns true when the job has nothing left to do.
  virtual bool batch(store::Writer& w, domain::Job& job, const BatchLimits& limits,
                     std::vector<domain::ItemError>& new_errors) = 0;
  /// In the transaction that marks the job completed.
  virtual void completed(store::Writer& w, domain::Job& job) = 0;
};

/// Counts a failed item into the job (failed items, error count, the first inline errors) and adds
/// it to the errors the batch stores.
inline void record_failure(domain::Job& job, domain::ItemError error,
                           std::vector<domain::ItemError>& new_errors) {
  ++job.counters.failed;
  ++job.error_count;
  if (job.errors.size() < domain::kInlineErrors) {
    job.errors.push_back(error);
  }
  new_errors.push_back(std::move(error));
}

}  // namespace mladmin::sync

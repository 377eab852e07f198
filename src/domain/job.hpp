#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/clock.hpp"
#include "domain/document_filter.hpp"
#include "domain/error.hpp"

namespace mladmin::domain {

enum class JobType { journal_entries, goals, bulk_delete, bulk_resync };
enum class JobStatus { queued, running, paused, completed, failed, cancelled, interrupted };
enum class JobScope { user, all };
enum class SyncMode { incremental, full };

std::string_view to_string(JobType v);
std::string_view to_string(JobStatus v);
std::string_view to_string(JobScope v);
std::string_view to_string(SyncMode v);
std::optional<JobType> parse_job_type(std::string_view text);
std::optional<JobStatus> parse_job_status(std::string_view text);
std::optional<SyncMode> parse_sync_mode(std::string_view text);

/// True for bulk_delete and bulk_resync: a job that acts on synced documents, not a sync.
bool is_bulk(JobType type);

/// True for completed, failed and cancelled: nothing more will happen to the job.
bool is_finished(JobStatus status);
/// True for queued, running, paused and interrupted: the job holds its (scope, type) slot.
bool is_active(JobStatus status);

/// What can happen to a job (docs/jobs.md).
enum class JobEvent {
  start,      ///< queued → running (a worker claimed it)
  pause,      ///< running → paused (a person asked)
  resume,     ///< paused → running
  cancel,     ///< queued | running | paused | interrupted → cancelled
  complete,   ///< running → completed
  fail,       ///< running → failed (the job itself could not go on)
  interrupt,  ///< running | paused → interrupted (its process stopped or died)
  requeue,    ///< interrupted → queued (resumed from its checkpoint at the next start)
  retry,      ///< failed | cancelled → queued (attempt + 1, from its checkpoint);
              ///< completed → queued (attempt + 1, only the items that failed), when it has any
};

std::string_view to_string(JobEvent event);

/// The state after `event`, or a 409 domain::Error (code "illegal_transition") whose message a
/// person understands, e.g. "cannot resume a job that is completed".
/// Never throws; the error is returned.
struct TransitionResult {
  std::optional<JobStatus> next;
  std::optional<Error> error;
  explicit operator bool() const { return next.has_value(); }
};
TransitionResult transition(JobStatus from, JobEvent event);

/// One item that failed, as shown to people (docs/jobs.md).
struct ItemError {
  std::string item_id;
  std::string reason;
  TimestampMs at = 0;
};

/// Counters of a job. Invariant at every moment a client can observe:
/// processed = synced + skipped + failed.
struct JobCounters {
  std::int64_t total = 0;
  std::int64_t synced = 0;
  std::int64_t skipped = 0;
  std::int64_t failed = 0;
  std::int64_t processed() const { return synced + skipped + failed; }
};

/// floor(100 * processed / total), clamped to 0-100; a job not finished shows at most 99 (100 means
/// every item is done); 100 for a completed job with total 0, and 0 for any other with total 0.
int progress_percent(const JobCounters& counters, JobStatus status);

/// Items per second over the running time so far (0 when no time has passed), and the seconds
/// still needed at that rate (nullopt when the rate is 0 or the job is not running).
double items_per_second(std::int64_t processed, std::int64_t running_ms);
std::optional<std::int64_t> eta_seconds(const JobCounters& counters, double rate, JobStatus status);

/// What a bulk job acts on (its type says the action): the documents matching a filter, kept as
/// the client wrote it, or a list of document ids, stored apart (store::Writer::insert_bulk_targets),
/// of which the job carries the number. Shown as the job's `bulk` field (docs/openapi.yaml).
struct BulkParams {
  std::optional<DocumentFilterSpec> filter;
  std::int64_t id_count = 0;  ///< without a filter: how many ids
};

/// The sync job (docs/jobs.md). Plain data; the engine owns the rules of change.
struct Job {
  std::string id;       ///< UUIDv7
  std::string user_id;  ///< who started it
  JobType type = JobType::journal_entries;
  JobStatus status = JobStatus::queued;
  JobScope scope = JobScope::user;
  std::optional<std::string> scope_user_id;  ///< whose records, when scope is user
  SyncMode mode = SyncMode::incremental;
  JobCounters counters;
  std::int64_t error_count = 0;
  std::vector<ItemError> errors;  ///< the first 20 item errors
  std::optional<TimestampMs> start_time;
  std::optional<TimestampMs> end_time;
  std::int64_t running_ms = 0;  ///< time spent running, across pauses and restarts
  TimestampMs created_at = 0;
  TimestampMs updated_at = 0;
  int attempt = 1;
  bool cancel_requested = false;
  std::string failure_reason;  ///< why a failed job failed
  // Checkpoint: the source position already processed, and where the job stops.
  std::int64_t checkpoint_seq = 0;  ///< last change_seq processed (0 = none)
  std::int64_t target_seq = 0;      ///< last change_seq this job takes (fixed when it starts)
  std::int64_t from_seq = 0;        ///< change_seq it started after (the scope's watermark)
  /// Set by a retry of a completed job: the item errors recorded in attempts before this one are
  /// no longer current failures but items still to re-process (0 = none).
  int retry_before_attempt = 0;
  /// A bulk job's target, read once with the job; nullopt for a sync (and for a bulk job whose
  /// stored target cannot be read: it fails when a worker claims it).
  std::optional<BulkParams> bulk;
};

/// transition(job.status, event), plus the rules the status alone cannot tell: a retry of a
/// completed job re-processes only its failed items, so one without any is a 409 domain::Error
/// "nothing_to_retry"; a completed bulk job's failed items are not retried (409
/// "bulk_items_not_retryable": its failures are documents whose source record is invalid, which
/// a new bulk action or a sync takes once the record is fixed). Never throws.
TransitionResult transition(const Job& job, JobEvent event);

/// Moves a job that `transition(job, JobEvent::retry)` allows to its next attempt, queued.
/// A failed or cancelled job goes on from its checkpoint, its counters and item errors kept.
/// A completed job re-processes its `current_errors` failed items: they leave the failed count
/// (and so the processed count; the total stays), the error count and the inline errors, so that
/// processed = synced + skipped + failed holds while they are processed again.
void prepare_retry(Job& job, std::int64_t current_errors, TimestampMs now);

/// How many item errors a job carries inline.
inline constexpr std::size_t kInlineErrors = 20;

}  // namespace mladmin::domain

#include "domain/job.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

namespace mladmin::domain {

namespace {

// One table per enum keeps to_string and parse_* from drifting apart; the names are the wire
// and database spelling, so they equal the enumerators.
constexpr std::array<std::pair<JobType, std::string_view>, 4> kJobTypeNames{{
    {JobType::journal_entries, "journal_entries"},
    {JobType::goals, "goals"},
    {JobType::bulk_delete, "bulk_delete"},
    {JobType::bulk_resync, "bulk_resync"},
}};

constexpr std::array<std::pair<JobStatus, std::string_view>, 7> kJobStatusNames{{
    {JobStatus::queued, "queued"},
    {JobStatus::running, "running"},
    {JobStatus::paused, "paused"},
    {JobStatus::completed, "completed"},
    {JobStatus::failed, "failed"},
    {JobStatus::cancelled, "cancelled"},
    {JobStatus::interrupted, "interrupted"},
}};

constexpr std::array<std::pair<JobScope, std::string_view>, 2> kJobScopeNames{{
    {JobScope::user, "user"},
    {JobScope::all, "all"},
}};

constexpr std::array<std::pair<SyncMode, std::string_view>, 2> kSyncModeNames{{
    {SyncMode::incremental, "incremental"},
    {SyncMode::full, "full"},
}};

constexpr std::array<std::pair<JobEvent, std::string_view>, 9> kJobEventNames{{
    {JobEvent::start, "start"},
    {JobEvent::pause, "pause"},
    {JobEvent::resume, "resume"},
    {JobEvent::cancel, "cancel"},
    {JobEvent::complete, "complete"},
    {JobEvent::fail, "fail"},
    {JobEvent::interrupt, "interrupt"},
    {JobEvent::requeue, "requeue"},
    {JobEvent::retry, "retry"},
}};

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E value) {
  for (const auto& [v, name] : names) {
    if (v == value) {
      return name;
    }
  }
  // Only reachable with a value cast from outside the enumerators.
  return "unknown";
}

template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view text) {
  for (const auto& [v, name] : names) {
    if (name == text) {
      return v;
    }
  }
  return std::nullopt;
}

// The legal moves of the state machine (docs/jobs.md); nullopt means illegal.
std::optional<JobStatus> next_status(JobStatus from, JobEvent event) {
  using S = JobStatus;
  switch (event) {
    case JobEvent::start:
      if (from == S::queued) {
        return S::running;
      }
      break;
    case JobEvent::pause:
      if (from == S::running) {
        return S::paused;
      }
      break;
    case JobEvent::resume:
      if (from == S::paused) {
        return S::running;
      }
      break;
    case JobEvent::cancel:
      if (from == S::queued || from == S::running || from == S::paused || from == S::interrupted) {
        return S::cancelled;
      }
      break;
    case JobEvent::complete:
      if (from == S::running) {
        return S::completed;
      }
      break;
    case JobEvent::fail:
      if (from == S::running) {
        return S::failed;
      }
      break;
    case JobEvent::interrupt:
      if (from == S::running || from == S::paused) {
        return S::interrupted;
      }
      break;
    case JobEvent::requeue:
      if (from == S::interrupted) {
        return S::queued;
      }
      break;
    case JobEvent::retry:
      // From completed, only the failed items run again; transition(const Job&, …) checks that
      // there are some.
      if (from == S::failed || from == S::cancelled || from == S::completed) {
        return S::queued;
      }
      break;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(JobType v) {
  return name_of(kJobTypeNames, v);
}
std::string_view to_string(JobStatus v) {
  return name_of(kJobStatusNames, v);
}
std::string_view to_string(JobScope v) {
  return name_of(kJobScopeNames, v);
}
std::string_view to_string(SyncMode v) {
  return name_of(kSyncModeNames, v);
}
std::string_view to_string(JobEvent event) {
  return name_of(kJobEventNames, event);
}

std::optional<JobType> parse_job_type(std::string_view text) {
  return value_of(kJobTypeNames, text);
}
std::optional<JobStatus> parse_job_status(std::string_view text) {
  return value_of(kJobStatusNames, text);
}
std::optional<SyncMode> parse_sync_mode(std::string_view text) {
  return value_of(kSyncModeNames, text);
}

bool is_bulk(JobType type) {
  return type == JobType::bulk_delete || type == JobType::bulk_resync;
}

bool is_finished(JobStatus status) {
  return status == JobStatus::completed || status == JobStatus::failed || status == JobStatus::cancelled;
}

bool is_active(JobStatus status) {
  return status == JobStatus::queued || status == JobStatus::running || status == JobStatus::paused ||
         status == JobStatus::interrupted;
}

TransitionResult transition(JobStatus from, JobEvent event) {
  if (auto next = next_status(from, event)) {
    return TransitionResult{next, std::nullopt};
  }
  const std::string status(to_string(from));
  const std::string verb(to_string(event));
  Error error(ErrorKind::conflict, "illegal_transition", "cannot " + verb + " a job that is " + status);
  error.with("status", status).with("event", verb);
  return TransitionResult{std::nullopt, std::move(error)};
}

TransitionResult transition(const Job& job, JobEvent event) {
  if (event == JobEvent::retry && job.status == JobStatus::completed && job.counters.failed <= 0) {
    Error error(ErrorKind::conflict, "nothing_to_retry",
                "the job completed without failed items; there is nothing to retry");
    error.with("status", std::string(to_string(job.status))).with("event", std::string(to_string(event)));
    return TransitionResult{std::nullopt, std::move(error)};
  }
  if (event == JobEvent::retry && job.status == JobStatus::completed && is_bulk(job.type)) {
    Error error(ErrorKind::conflict, "bulk_items_not_retryable",
                "a completed bulk job does not retry its failed items; fix their source records, then "
                "run a new bulk action (or a sync) on those documents");
    error.with("status", std::string(to_string(job.status))).with("event", std::string(to_string(event)));
    return TransitionResult{std::nullopt, std::move(error)};
  }
  return transition(job.status, event);
}

void prepare_retry(Job& job, std::int64_t current_errors, TimestampMs now) {
  const bool failed_items_only = job.status == JobStatus::completed;
  job.status = JobStatus::queued;
  job.attempt += 1;
  if (failed_items_only) {
    const std::int64_t retried = std::clamp<std::int64_t>(current_errors, 0, job.counters.failed);
    job.counters.failed -= retried;
    job.error_count = std::max<std::int64_t>(0, job.error_count - std::max<std::int64_t>(current_errors, 0));
    job.errors.clear();
    job.retry_before_attempt = job.attempt;
  }
  job.cancel_requested = false;
  job.failure_reason.clear();
  job.end_time.reset();
  job.updated_at = now;
}

int progress_percent(const JobCounters& counters, JobStatus status) {
  const std::int64_t total = counters.total;
  const std::int64_t processed = counters.processed();
  if (total <= 0) {
    return status == JobStatus::completed ? 100 : 0;
  }
  int percent = 100;
  if (processed <= 0) {
    percent = 0;
  } else if (processed < total) {
    // floor(100 * processed / total) in integers when 100 * processed fits; beyond ~9.2e16 items,
    // long double is exact enough for a whole percent.
    constexpr std::int64_t kExactLimit = std::numeric_limits<std::int64_t>::max() / 100;
    if (processed <= kExactLimit) {
      percent = static_cast<int>(100 * processed / total);
    } else {
      const long double exact =
          100.0L * static_cast<long double>(processed) / static_cast<long double>(total);
      percent = static_cast<int>(std::floor(exact));
    }
    percent = std::clamp(percent, 0, 99);
  }
  // 100 means every item is done: a job still going shows at most 99.
  return is_finished(status) ? percent : std::min(percent, 99);
}

double items_per_second(std::int64_t processed, std::int64_t running_ms) {
  if (running_ms <= 0) {
    return 0.0;
  }
  return static_cast<double>(processed) * 1000.0 / static_cast<double>(running_ms);
}

std::optional<std::int64_t> eta_seconds(const JobCounters& counters, double rate, JobStatus status) {
  // `!(rate > 0)` also refuses NaN.
  if (status != JobStatus::running || !(rate > 0.0)) {
    return std::nullopt;
  }
  const std::int64_t remaining = std::max<std::int64_t>(0, counters.total - counters.processed());
  const double seconds = std::ceil(static_cast<double>(remaining) / rate);
  // A vanishing rate could give more seconds than int64 holds; converting that would be UB.
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  if (!(seconds < static_cast<double>(kMax))) {
    return kMax;
  }
  return static_cast<std::int64_t>(seconds);
}

}  // namespace mladmin::domain

#include "domain/job.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mladmin::domain {
namespace {

constexpr std::array kAllStatuses{JobStatus::queued,     JobStatus::running, JobStatus::paused,
                                  JobStatus::completed,  JobStatus::failed,  JobStatus::cancelled,
                                  JobStatus::interrupted};

constexpr std::array kAllEvents{JobEvent::start,     JobEvent::pause,    JobEvent::resume,
                                JobEvent::cancel,    JobEvent::complete, JobEvent::fail,
                                JobEvent::interrupt, JobEvent::requeue,  JobEvent::retry};

// The whole state machine of docs/jobs.md, written out by hand: every pair not listed is illegal.
const std::map<std::pair<JobStatus, JobEvent>, JobStatus>& legal_moves() {
  using S = JobStatus;
  using E = JobEvent;
  static const std::map<std::pair<S, E>, S> moves{
      {{S::queued, E::start}, S::running},          {{S::queued, E::cancel}, S::cancelled},
      {{S::running, E::pause}, S::paused},          {{S::running, E::cancel}, S::cancelled},
      {{S::running, E::complete}, S::completed},    {{S::running, E::fail}, S::failed},
      {{S::running, E::interrupt}, S::interrupted}, {{S::paused, E::resume}, S::running},
      {{S::paused, E::cancel}, S::cancelled},       {{S::paused, E::interrupt}, S::interrupted},
      {{S::interrupted, E::requeue}, S::queued},    {{S::interrupted, E::cancel}, S::cancelled},
      {{S::failed, E::retry}, S::queued},           {{S::cancelled, E::retry}, S::queued},
      {{S::completed, E::retry}, S::queued},  // only its failed items; see RetryOfCompletedJob…
  };
  return moves;
}

JobCounters counters(std::int64_t total, std::int64_t synced, std::int64_t skipped = 0,
                     std::int64_t failed = 0) {
  JobCounters c;
  c.total = total;
  c.synced = synced;
  c.skipped = skipped;
  c.failed = failed;
  return c;
}

// ---- names ----

TEST(JobNamesTest, TypesRoundTripThroughTheirSnakeCaseNames) {
  const std::pair<JobType, std::string_view> cases[] = {
      {JobType::journal_entries, "journal_entries"},
      {JobType::goals, "goals"},
      {JobType::bulk_delete, "bulk_delete"},
      {JobType::bulk_resync, "bulk_resync"},
  };
  for (const auto& [type, name] : cases) {
    EXPECT_EQ(to_string(type), name);
    EXPECT_EQ(parse_job_type(name), type) << name;
  }
}

TEST(JobNamesTest, StatusesRoundTripThroughTheirSnakeCaseNames) {
  const std::pair<JobStatus, std::string_view> cases[] = {
      {JobStatus::queued, "queued"},           {JobStatus::running, "running"},
      {JobStatus::paused, "paused"},           {JobStatus::completed, "completed"},
      {JobStatus::failed, "failed"},           {JobStatus::cancelled, "cancelled"},
      {JobStatus::interrupted, "interrupted"},
  };
  for (const auto& [status, name] : cases) {
    EXPECT_EQ(to_string(status), name);
    EXPECT_EQ(parse_job_status(name), status) << name;
  }
}

TEST(JobNamesTest, ModesRoundTripAndScopesHaveTheirSpecNames) {
  EXPECT_EQ(to_string(SyncMode::incremental), "incremental");
  EXPECT_EQ(to_string(SyncMode::full), "full");
  EXPECT_EQ(parse_sync_mode("incremental"), SyncMode::incremental);
  EXPECT_EQ(parse_sync_mode("full"), SyncMode::full);
  EXPECT_EQ(to_string(JobScope::user), "user");
  EXPECT_EQ(to_string(JobScope::all), "all");
}

TEST(JobNamesTest, EventsHaveTheirSnakeCaseNames) {
  const std::pair<JobEvent, std::string_view> cases[] = {
      {JobEvent::start, "start"},         {JobEvent::pause, "pause"},       {JobEvent::resume, "resume"},
      {JobEvent::cancel, "cancel"},       {JobEvent::complete, "complete"}, {JobEvent::fail, "fail"},
      {JobEvent::interrupt, "interrupt"}, {JobEvent::requeue, "requeue"},   {JobEvent::retry, "retry"},
  };
  for (const auto& [event, name] : cases) {
    EXPECT_EQ(to_string(event), name);
  }
}

TEST(JobNamesTest, UnknownOrDifferentlySpelledNamesAreRefused) {
  for (const char* bad : {"", "journal-entries", "JournalEntries", "Goals", " goals", "goals ", "journal"}) {
    EXPECT_FALSE(parse_job_type(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "canceled", "RUNNING", "done", "queued\n", "active"}) {
    EXPECT_FALSE(parse_job_status(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "Full", "incr", "delta", "full "}) {
    EXPECT_FALSE(parse_sync_mode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_job_type(std::string_view("goals\0x", 7)).has_value());
}

// ---- lifecycle classification ----

TEST(JobLifecycleTest, CompletedFailedAndCancelledAreFinished) {
  for (const JobStatus s : kAllStatuses) {
    const bool expected = s == JobStatus::completed || s == JobStatus::failed || s == JobStatus::cancelled;
    EXPECT_EQ(is_finished(s), expected) << to_string(s);
  }
}

TEST(JobLifecycleTest, EveryStatusIsEitherActiveOrFinished) {
  for (const JobStatus s : kAllStatuses) {
    EXPECT_NE(is_active(s), is_finished(s)) << to_string(s);
  }
  EXPECT_TRUE(is_active(JobStatus::interrupted));
  EXPECT_TRUE(is_active(JobStatus::paused));
}

// ---- state machine ----

TEST(JobStateTest, EveryLegalTransitionReachesItsNextStatus) {
  for (const auto& [move, next] : legal_moves()) {
    const auto [from, event] = move;
    const TransitionResult r = transition(from, event);
    ASSERT_TRUE(r) << to_string(event) << " from " << to_string(from);
    EXPECT_EQ(*r.next, next) << to_string(event) << " from " << to_string(from);
    EXPECT_FALSE(r.error.has_value());
  }
}

TEST(JobStateTest, EveryOtherStatusEventPairIsAConflictNamingBoth) {
  int illegal = 0;
  for (const JobStatus from : kAllStatuses) {
    for (const JobEvent event : kAllEvents) {
      if (legal_moves().contains({from, event})) {
        continue;
      }
      ++illegal;
      const std::string status(to_string(from));
      const std::string verb(to_string(event));
      SCOPED_TRACE(verb + " from " + status);
      const TransitionResult r = transition(from, event);
      EXPECT_FALSE(r);
      EXPECT_FALSE(r.next.has_value());
      ASSERT_TRUE(r.error.has_value());
      EXPECT_EQ(r.error->kind(), ErrorKind::conflict);
      EXPECT_EQ(r.error->code(), "illegal_transition");
      EXPECT_EQ(std::string(r.error->what()), "cannot " + verb + " a job that is " + status);
      const std::vector<std::pair<std::string, std::string>> details{{"status", status}, {"event", verb}};
      EXPECT_EQ(r.error->details(), details);
    }
  }
  EXPECT_EQ(illegal, 7 * 9 - 15);
}

TEST(JobStateTest, ResumeOfCompletedJobIsConflict) {
  const TransitionResult r = transition(JobStatus::completed, JobEvent::resume);
  ASSERT_FALSE(r);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->kind(), ErrorKind::conflict);
  EXPECT_STREQ(r.error->what(), "cannot resume a job that is completed");
}

TEST(JobStateTest, FinishedJobsOnlyLeaveThroughRetry) {
  for (const JobStatus s : {JobStatus::failed, JobStatus::cancelled, JobStatus::completed}) {
    EXPECT_EQ(transition(s, JobEvent::retry).next, JobStatus::queued) << to_string(s);
    for (const JobEvent e : kAllEvents) {
      if (e != JobEvent::retry) {
        EXPECT_FALSE(transition(s, e)) << to_string(e) << " from " << to_string(s);
      }
    }
  }
}

TEST(JobStateTest, InterruptedJobIsRequeuedOrCancelledButNotResumed) {
  EXPECT_EQ(transition(JobStatus::interrupted, JobEvent::requeue).next, JobStatus::queued);
  EXPECT_EQ(transition(JobStatus::interrupted, JobEvent::cancel).next, JobStatus::cancelled);
  EXPECT_FALSE(transition(JobStatus::interrupted, JobEvent::resume));
  EXPECT_FALSE(transition(JobStatus::interrupted, JobEvent::start));
}

Job job_in(JobStatus status, JobCounters c = counters(10, 10)) {
  Job job;
  job.id = "job-1";
  job.status = status;
  job.counters = c;
  job.error_count = c.failed;
  job.attempt = 1;
  job.checkpoint_seq = 40;
  job.target_seq = 40;
  return job;
}

TEST(JobStateTest, RetryOfCompletedJobWithoutFailedItemsIsNothingToRetry) {
  const Job job = job_in(JobStatus::completed, counters(10, 7, 3, 0));
  const TransitionResult r = transition(job, JobEvent::retry);
  ASSERT_FALSE(r);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->kind(), ErrorKind::conflict);
  EXPECT_EQ(r.error->code(), "nothing_to_retry");
  EXPECT_NE(std::string(r.error->what()).find("nothing to retry"), std::string::npos) << r.error->what();
}

TEST(JobStateTest, RetryOfCompletedJobWithFailedItemsRequeuesIt) {
  const TransitionResult r = transition(job_in(JobStatus::completed, counters(10, 7, 0, 3)), JobEvent::retry);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r.next, JobStatus::queued);
}

TEST(JobStateTest, RetryOfCompletedBulkJobWithFailedItemsIsRefused) {
  for (const JobType type : {JobType::bulk_delete, JobType::bulk_resync}) {
    Job job = job_in(JobStatus::completed, counters(10, 7, 0, 3));
    job.type = type;
    const TransitionResult r = transition(job, JobEvent::retry);
    ASSERT_FALSE(r) << to_string(type);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->kind(), ErrorKind::conflict);
    EXPECT_EQ(r.error->code(), "bulk_items_not_retryable");
    EXPECT_NE(std::string(r.error->what()).find("new bulk action"), std::string::npos) << r.error->what();
  }
}

TEST(JobStateTest, FailedOrCancelledBulkJobIsRetriedFromItsCheckpoint) {
  for (const JobStatus from : {JobStatus::failed, JobStatus::cancelled}) {
    Job job = job_in(from, counters(10, 4, 0, 1));
    job.type = JobType::bulk_delete;
    const TransitionResult r = transition(job, JobEvent::retry);
    ASSERT_TRUE(r) << to_string(from);
    EXPECT_EQ(*r.next, JobStatus::queued);
  }
}

TEST(JobStateTest, CompletedBulkJobWithoutFailedItemsHasNothingToRetry) {
  Job job = job_in(JobStatus::completed, counters(10, 10, 0, 0));
  job.type = JobType::bulk_resync;
  const TransitionResult r = transition(job, JobEvent::retry);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error->code(), "nothing_to_retry");
}

TEST(JobNamesTest, OnlyBulkTypesAreBulk) {
  EXPECT_TRUE(is_bulk(JobType::bulk_delete));
  EXPECT_TRUE(is_bulk(JobType::bulk_resync));
  EXPECT_FALSE(is_bulk(JobType::journal_entries));
  EXPECT_FALSE(is_bulk(JobType::goals));
}

TEST(JobStateTest, TheJobRuleAgreesWithTheStatusTableForEverythingElse) {
  // Failed items or not, every other (status, event) pair answers as the status table does.
  for (const std::int64_t failed : {0, 3}) {
    for (const JobStatus from : kAllStatuses) {
      for (const JobEvent event : kAllEvents) {
        if (from == JobStatus::completed && event == JobEvent::retry) {
          continue;
        }
        const Job job = job_in(from, counters(10, 10 - failed, 0, failed));
        const TransitionResult by_job = transition(job, event);
        const TransitionResult by_status = transition(from, event);
        EXPECT_EQ(by_job.next, by_status.next) << to_string(event) << " from " << to_string(from);
        ASSERT_EQ(by_job.error.has_value(), by_status.error.has_value());
        if (by_job.error) {
          EXPECT_EQ(by_job.error->code(), "illegal_transition");
          EXPECT_STREQ(by_job.error->what(), by_status.error->what());
        }
      }
    }
  }
}

TEST(JobRetryTest, RetryOfFailedOrCancelledJobGoesOnFromItsCheckpointWithItsCounters) {
  for (const JobStatus s : {JobStatus::failed, JobStatus::cancelled}) {
    Job job = job_in(s, counters(100, 30, 5, 2));
    job.errors = {{"a", "body is empty", 1}, {"b", "title is empty", 2}};
    job.cancel_requested = s == JobStatus::cancelled;
    job.failure_reason = s == JobStatus::failed ? "sink down" : "";
    job.end_time = 99;
    job.checkpoint_seq = 37;
    prepare_retry(job, 2, 1234);
    EXPECT_EQ(job.status, JobStatus::queued);
    EXPECT_EQ(job.attempt, 2);
    EXPECT_EQ(job.counters.total, 100);
    EXPECT_EQ(job.counters.synced, 30);
    EXPECT_EQ(job.counters.skipped, 5);
    EXPECT_EQ(job.counters.failed, 2);
    EXPECT_EQ(job.error_count, 2);
    EXPECT_EQ(job.errors.size(), 2u);
    EXPECT_EQ(job.checkpoint_seq, 37);
    EXPECT_EQ(job.retry_before_attempt, 0);
    EXPECT_FALSE(job.cancel_requested);
    EXPECT_TRUE(job.failure_reason.empty());
    EXPECT_FALSE(job.end_time.has_value());
    EXPECT_EQ(job.updated_at, 1234);
  }
}

TEST(JobRetryTest, RetryOfCompletedJobTakesItsFailedItemsOutOfTheCounters) {
  Job job = job_in(JobStatus::completed, counters(100, 80, 12, 8));
  job.errors = {{"a", "body is empty", 1}};
  job.end_time = 99;
  prepare_retry(job, 8, 1234);
  EXPECT_EQ(job.status, JobStatus::queued);
  EXPECT_EQ(job.attempt, 2);
  EXPECT_EQ(job.retry_before_attempt, 2);  // the errors of attempt 1 are the items to redo
  EXPECT_EQ(job.counters.total, 100);      // the job still covers the same items…
  EXPECT_EQ(job.counters.synced, 80);
  EXPECT_EQ(job.counters.skipped, 12);
  EXPECT_EQ(job.counters.failed, 0);  // …of which the 8 failed ones are to be processed again
  EXPECT_EQ(job.counters.processed(), 92);
  EXPECT_EQ(job.error_count, 0);
  EXPECT_TRUE(job.errors.empty());
  EXPECT_FALSE(job.end_time.has_value());
  EXPECT_EQ(progress_percent(job.counters, job.status), 92);

  // Completed again with 3 of them failing anew, a second retry takes those 3.
  job.status = JobStatus::completed;
  job.counters.synced += 5;
  job.counters.failed += 3;
  job.error_count += 3;
  prepare_retry(job, 3, 2000);
  EXPECT_EQ(job.attempt, 3);
  EXPECT_EQ(job.retry_before_attempt, 3);
  EXPECT_EQ(job.counters.failed, 0);
  EXPECT_EQ(job.counters.processed(), 97);
  EXPECT_EQ(job.error_count, 0);
}

TEST(JobRetryTest, RetriedErrorsNeverDriveCountersBelowZero) {
  Job job = job_in(JobStatus::completed, counters(10, 8, 0, 2));
  prepare_retry(job, 5, 1);  // more stored errors than failed items: a damaged row count
  EXPECT_EQ(job.counters.failed, 0);
  EXPECT_EQ(job.error_count, 0);
  EXPECT_EQ(job.counters.processed(), 8);
}

// ---- progress ----

TEST(JobProgressTest, EmptyCompletedJobIsFullyDone) {
  EXPECT_EQ(progress_percent(counters(0, 0), JobStatus::completed), 100);
}

TEST(JobProgressTest, EmptyUnfinishedJobHasNoProgress) {
  EXPECT_EQ(progress_percent(counters(0, 0), JobStatus::running), 0);
  EXPECT_EQ(progress_percent(counters(0, 0), JobStatus::queued), 0);
}

TEST(JobProgressTest, RoundsDownToAWholePercent) {
  EXPECT_EQ(progress_percent(counters(3, 1), JobStatus::running), 33);
  EXPECT_EQ(progress_percent(counters(3, 2), JobStatus::running), 66);
  EXPECT_EQ(progress_percent(counters(200, 1), JobStatus::running), 0);  // 0.5 %
  EXPECT_EQ(progress_percent(counters(200, 199), JobStatus::running), 99);
  EXPECT_EQ(progress_percent(counters(1000, 999), JobStatus::running), 99);  // 99.9 %: not done
  EXPECT_EQ(progress_percent(counters(1000, 0), JobStatus::running), 0);
  EXPECT_EQ(progress_percent(counters(4, 2), JobStatus::paused), 50);
  EXPECT_EQ(progress_percent(counters(1000, 999), JobStatus::cancelled), 99);
}

TEST(JobProgressTest, CountsSkippedAndFailedItemsAsProcessed) {
  EXPECT_EQ(progress_percent(counters(10, 2, 3, 1), JobStatus::running), 60);
}

TEST(JobProgressTest, ReadsFullOnlyOnceTheJobFinished) {
  // A running bulk job's total follows its processed count: every item counted, not finished.
  EXPECT_EQ(progress_percent(counters(10, 10), JobStatus::running), 99);
  EXPECT_EQ(progress_percent(counters(10, 15), JobStatus::paused), 99);
  EXPECT_EQ(progress_percent(counters(10, 10), JobStatus::completed), 100);
  EXPECT_EQ(progress_percent(counters(10, 15), JobStatus::cancelled), 100);
}

TEST(JobProgressTest, HugeTotalsDoNotOverflow) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(progress_percent(counters(kMax, kMax / 2), JobStatus::running), 49);  // 49.99… %
  EXPECT_EQ(progress_percent(counters(kMax, kMax - 1), JobStatus::running), 99);
  EXPECT_EQ(progress_percent(counters(kMax, kMax - 1), JobStatus::completed), 99);
}

// ---- rate and ETA ----

TEST(JobRateTest, ItemsPerSecondOverRunningTime) {
  EXPECT_DOUBLE_EQ(items_per_second(500, 2000), 250.0);
  EXPECT_DOUBLE_EQ(items_per_second(1, 3), 1000.0 / 3.0);
  EXPECT_DOUBLE_EQ(items_per_second(0, 1000), 0.0);
}

TEST(JobRateTest, NoTimeElapsedMeansZeroRate) {
  EXPECT_EQ(items_per_second(100, 0), 0.0);
  EXPECT_EQ(items_per_second(100, -5), 0.0);
}

TEST(JobEtaTest, RemainingItemsOverRateRoundedUp) {
  EXPECT_EQ(eta_seconds(counters(100, 40), 20.0, JobStatus::running), 3);
  EXPECT_EQ(eta_seconds(counters(100, 40), 25.0, JobStatus::running), 3);         // 2.4 → 3
  EXPECT_EQ(eta_seconds(counters(100, 40, 10, 10), 7.0, JobStatus::running), 6);  // 40 / 7
}

TEST(JobEtaTest, NothingLeftMeansZeroSeconds) {
  EXPECT_EQ(eta_seconds(counters(100, 100), 5.0, JobStatus::running), 0);
  EXPECT_EQ(eta_seconds(counters(100, 130), 5.0, JobStatus::running), 0);
}

TEST(JobEtaTest, UnknownWhenNotRunningOrNotMoving) {
  EXPECT_EQ(eta_seconds(counters(100, 40), 0.0, JobStatus::running), std::nullopt);
  EXPECT_EQ(eta_seconds(counters(100, 40), -1.0, JobStatus::running), std::nullopt);
  EXPECT_EQ(eta_seconds(counters(100, 40), std::numeric_limits<double>::quiet_NaN(), JobStatus::running),
            std::nullopt);
  for (const JobStatus s : kAllStatuses) {
    if (s != JobStatus::running) {
      EXPECT_EQ(eta_seconds(counters(100, 40), 20.0, s), std::nullopt) << to_string(s);
    }
  }
}

TEST(JobEtaTest, VanishingRateSaturatesInsteadOfOverflowing) {
  const auto eta = eta_seconds(counters(1'000'000, 0), 1e-300, JobStatus::running);
  ASSERT_TRUE(eta.has_value());
  EXPECT_EQ(*eta, std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace mladmin::domain

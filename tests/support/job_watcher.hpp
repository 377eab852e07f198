#pragma once

#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/sse_client.hpp"

namespace mladmin::test {

/// How long a test waits for a job to get somewhere: long against any job the tests run, even
/// under the sanitizers on a loaded machine.
inline constexpr std::chrono::milliseconds kJobDeadline = std::chrono::seconds(180);

/// Follows GET /api/ml/sync/events (README "Live events") as one account and keeps every state of
/// every job the stream brought, in order: each `job` event, and each job of a `snapshot`. Nothing
/// polls: a wait returns as soon as the event it waits for arrives.
class JobWatcher final {
 public:
  /// Opens the stream and waits until it answered 200 and sent its first event (the snapshot of a
  /// new client), so that every later change of a job the account may read reaches it.
  JobWatcher(unsigned short port, const std::string& token);
  JobWatcher(const JobWatcher&) = delete;
  JobWatcher& operator=(const JobWatcher&) = delete;

  using JobPredicate = std::function<bool(const boost::json::value& job)>;

  /// Waits until the stream brings a state of job `id` for which `pred` holds and returns it.
  /// Looks at the states after the one the previous wait for this job returned (all of them the
  /// first time), so that waiting for "finished" after a retry does not return the end of the
  /// attempt before. Every state it looks at must have counters that add up (counts_add_up; the
  /// first failure per job is reported). On the deadline: a test failure naming `what` and the
  /// last state seen, and a null value.
  boost::json::value wait_for_job(const std::string& id, const JobPredicate& pred,
                                  std::chrono::milliseconds deadline = kJobDeadline,
                                  const std::string& what = "the awaited state");
  /// The same until the job is completed, failed or cancelled.
  boost::json::value wait_finished(const std::string& id, std::chrono::milliseconds deadline = kJobDeadline);
  /// The same until the job runs with some but not all of its items processed (at least
  /// `min_fraction` of them), or it finished (which the caller checks).
  boost::json::value wait_midway(const std::string& id, double min_fraction = 0,
                                 std::chrono::milliseconds deadline = kJobDeadline);

  /// Every state of job `id` the stream brought so far, in order.
  std::vector<boost::json::value> states(const std::string& id);
  /// counts_add_up holds in every state of job `id` seen so far.
  ::testing::AssertionResult counts_add_up_in_every_state(const std::string& id);

  /// The stream itself, for its raw events and comments.
  SseClient& stream() { return stream_; }

 private:
  /// Parses the events that arrived since the last call into `states_` (called with the stream's
  /// events, under its lock).
  void ingest(const std::vector<SseEvent>& events);

  SseClient stream_;
  std::size_t ingested_ = 0;
  std::map<std::string, std::vector<boost::json::value>> states_;
  std::map<std::string, std::size_t> consumed_;  ///< per job: states a wait already passed
  std::map<std::string, bool> reported_;         ///< per job: a counts failure was reported
};

}  // namespace mladmin::test

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/job_view.hpp"
#include "client/sse_parser.hpp"

namespace mladmin::client {

/// Remembers where each job stands, from the event stream and from answers to requests, and tells
/// which states are news: a replayed or repeated state, or one older than what is known (by its
/// `updatedAt`), is not. Pure: no I/O.
class JobTracker final {
 public:
  /// The jobs an `event: job` or `event: snapshot` brings news of, in order. The first snapshot
  /// of a stream that was never connected before tells of active jobs only (finished ones are
  /// history); later snapshots, after a reconnect, also tell of jobs that finished meanwhile.
  /// Other events bring nothing; a `job` or `snapshot` event whose data cannot be read brings
  /// nothing either, and is counted (unreadable(), last_problem()) so that the caller can say so.
  std::vector<JobView> apply(const SseEvent& event);
  /// A job's state read another way (the answer to a start or a GET); returns it when it is news.
  std::optional<JobView> apply(const JobView& job);

  /// True once a snapshot arrived; snapshot_has() says whether it held a job.
  bool had_snapshot() const { return snapshots_ > 0; }
  /// Whether the latest snapshot listed `id`.
  bool snapshot_has(const std::string& id) const;
  /// How many `job` or `snapshot` events could not be read, and why the latest one could not.
  std::size_t unreadable() const { return unreadable_; }
  const std::string& last_problem() const { return last_problem_; }

 private:
  struct Known {
    std::string status;
    std::string updated_at;
    std::int64_t processed = 0;
    std::int64_t total = 0;
  };
  bool news(const JobView& job);
  void forget_finished();

  std::unordered_map<std::string, Known> known_;
  std::vector<std::string> last_snapshot_;
  std::size_t snapshots_ = 0;
  std::size_t unreadable_ = 0;
  std::string last_problem_;
};

}  // namespace mladmin::client

#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mladmin::client {

/// The fields of a job's JSON (docs/jobs.md) that the command line shows, as read from the server.
struct JobView {
  struct ItemError {
    std::string item_id;
    std::string reason;
  };
  std::string id;
  std::string type;
  std::string status;
  std::string scope;
  std::string scope_user_id;
  std::string mode;
  std::int64_t total = 0;
  std::int64_t processed = 0;
  std::int64_t synced = 0;
  std::int64_t skipped = 0;
  std::int64_t failed = 0;
  std::int64_t error_count = 0;
  int progress = 0;
  double items_per_second = 0;
  std::optional<std::int64_t> eta_seconds;
  std::optional<std::int64_t> duration_ms;
  std::string created_at;
  std::string updated_at;
  std::string failure_reason;
  std::vector<ItemError> errors;  ///< the first item errors the job carries inline
};

/// Reads a job from its JSON; nullopt when it is not an object with a string `id` and `status`.
/// Missing or mistyped counters read as 0, so a newer server with more fields is fine.
std::optional<JobView> parse_job(const boost::json::value& json);

/// True for completed, failed and cancelled.
bool is_finished(const JobView& job);

/// The jobs of an `event: snapshot` payload (`{"jobs": [...]}`); unreadable entries are skipped.
std::vector<JobView> parse_snapshot(const boost::json::value& json);

}  // namespace mladmin::client

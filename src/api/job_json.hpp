#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/clock.hpp"
#include "domain/job.hpp"

namespace mladmin::api {

/// The job's JSON as the wire carries it (docs/openapi.yaml, components/schemas/Job), one member
/// per field, as plain values (status and type stay text, so that a newer server's value still
/// shows). The server writes it (job_json) and the command line reads it (read_job_json) through
/// one list of its fields in job_json.cpp, so the two cannot disagree; job_json_test.cpp holds
/// that list to the schema.
struct JobWire {
  struct ItemError {
    std::string item_id;
    std::string reason;
    std::string at;
    bool operator==(const ItemError&) const = default;
  };
  std::string id;
  std::string user_id;
  std::string type;
  std::string status;
  std::int64_t total_items = 0;
  std::int64_t processed_items = 0;
  std::int64_t synced_items = 0;
  std::int64_t failed_items = 0;
  std::int64_t progress = 0;
  std::vector<ItemError> errors;  ///< the first 20 item errors
  std::optional<std::string> start_time;
  std::optional<std::string> end_time;
  std::optional<std::int64_t> duration;  ///< ms from startTime to endTime (to now while unfinished)
  std::string scope;
  std::optional<std::string> scope_user_id;
  std::string mode;
  std::int64_t skipped_items = 0;
  std::int64_t error_count = 0;
  std::int64_t attempt = 1;
  std::string created_at;
  std::string updated_at;
  double items_per_second = 0;
  std::optional<std::int64_t> eta_seconds;
  bool cancel_requested = false;
  std::optional<std::string> failure_reason;  ///< absent when there is nothing to say
  std::optional<boost::json::object> bulk;    ///< bulk jobs only: {action, filter} or {action, idCount}
  bool operator==(const JobWire&) const = default;
};

/// The wire form of a job. `now` is the end of `duration` for a job still running.
JobWire job_wire(const domain::Job& job, domain::TimestampMs now);

/// Writes a job's JSON: every field of the list, the optional ones only when set.
boost::json::object write_job_json(const JobWire& job);

/// The job's JSON, the one place that builds it: every route that answers a job, the event
/// stream (`job` and `snapshot` events) and the history export use it. Its fields are described
/// in docs/openapi.yaml (components/schemas/Job). `now` is the end of `duration` for a job still
/// running.
boost::json::object job_json(const domain::Job& job, domain::TimestampMs now);

/// Reads a job's JSON through the same list of fields: nullopt, with `problem` saying which field
/// is missing or of the wrong kind, when it is not a job. Fields it does not know are ignored (a
/// newer server may add some).
std::optional<JobWire> read_job_json(const boost::json::value& json, std::string* problem = nullptr);

}  // namespace mladmin::api

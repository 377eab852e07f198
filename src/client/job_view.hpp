#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/job_json.hpp"

namespace mladmin::client {

/// A job as the command line reads it from the server: the server's own definition of the job's
/// JSON (api/job_json.hpp), read through the same list of fields the server writes with.
using JobView = api::JobWire;

/// Reads a job from its JSON; nullopt, with `problem` saying why, when it is not a job
/// (docs/openapi.yaml, components/schemas/Job). Fields a newer server adds are ignored.
std::optional<JobView> parse_job(const boost::json::value& json, std::string* problem = nullptr);

/// True for completed, failed and cancelled.
bool is_finished(const JobView& job);

/// The jobs of an `event: snapshot` payload (`{"jobs": [...]}`); unreadable entries are skipped.
std::vector<JobView> parse_snapshot(const boost::json::value& json);

}  // namespace mladmin::client

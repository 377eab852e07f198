#pragma once

#include <boost/json/object.hpp>

#include "domain/clock.hpp"
#include "domain/job.hpp"

namespace mladmin::api {

/// The job's JSON, the one place that builds it: every route that answers a job, the event
/// stream (`job` and `snapshot` events) and the history export use it. Its fields are described
/// in docs/openapi.yaml (components/schemas/Job). `now` is the end of `duration` for a job still
/// running.
boost::json::object job_json(const domain::Job& job, domain::TimestampMs now);

}  // namespace mladmin::api

#include "client/job_view.hpp"

#include <boost/json/value.hpp>

namespace mladmin::client {

std::optional<JobView> parse_job(const boost::json::value& json, std::string* problem) {
  return api::read_job_json(json, problem);
}

bool is_finished(const JobView& job) {
  return job.status == "completed" || job.status == "failed" || job.status == "cancelled";
}

std::vector<JobView> parse_snapshot(const boost::json::value& json) {
  std::vector<JobView> out;
  const auto* o = json.if_object();
  const auto* jobs = o != nullptr ? o->if_contains("jobs") : nullptr;
  if (jobs == nullptr || !jobs->is_array()) {
    return out;
  }
  for (const auto& j : jobs->as_array()) {
    if (auto job = parse_job(j)) {
      out.push_back(std::move(*job));
    }
  }
  return out;
}

}  // namespace mladmin::client

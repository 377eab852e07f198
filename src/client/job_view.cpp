#include "client/job_view.hpp"

#include <boost/json/value.hpp>
#include <cmath>

namespace mladmin::client {

namespace {

std::string text(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<std::int64_t> integer(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_int64()) {
    return v->as_int64();
  }
  if (v->is_uint64()) {
    return static_cast<std::int64_t>(v->as_uint64());
  }
  if (v->is_double() && std::isfinite(v->as_double())) {
    return static_cast<std::int64_t>(std::llround(v->as_double()));
  }
  return std::nullopt;
}

double real(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) {
    return 0;
  }
  const double d = v->to_number<double>();
  return std::isfinite(d) ? d : 0;
}

}  // namespace

std::optional<JobView> parse_job(const boost::json::value& json) {
  const auto* o = json.if_object();
  if (o == nullptr) {
    return std::nullopt;
  }
  JobView job;
  job.id = text(*o, "id");
  job.status = text(*o, "status");
  if (job.id.empty() || job.status.empty()) {
    return std::nullopt;
  }
  job.type = text(*o, "type");
  job.scope = text(*o, "scope");
  job.scope_user_id = text(*o, "scopeUserId");
  job.mode = text(*o, "mode");
  job.total = integer(*o, "totalItems").value_or(0);
  job.synced = integer(*o, "syncedItems").value_or(0);
  job.skipped = integer(*o, "skippedItems").value_or(0);
  job.failed = integer(*o, "failedItems").value_or(0);
  job.processed = integer(*o, "processedItems").value_or(job.synced + job.skipped + job.failed);
  job.error_count = integer(*o, "errorCount").value_or(job.failed);
  job.progress = static_cast<int>(integer(*o, "progress").value_or(0));
  job.items_per_second = real(*o, "itemsPerSecond");
  job.eta_seconds = integer(*o, "etaSeconds");
  job.duration_ms = integer(*o, "duration");
  job.created_at = text(*o, "createdAt");
  job.updated_at = text(*o, "updatedAt");
  job.failure_reason = text(*o, "failureReason");
  if (const auto* errors = o->if_contains("errors"); errors != nullptr && errors->is_array()) {
    for (const auto& e : errors->as_array()) {
      if (const auto* eo = e.if_object()) {
        job.errors.push_back({text(*eo, "itemId"), text(*eo, "reason")});
      }
    }
  }
  return job;
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

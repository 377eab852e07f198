#include "api/job_json.hpp"

#include <boost/json/array.hpp>

#include "domain/document_filter_json.hpp"
#include "sync/bulk_action.hpp"

namespace mladmin::api {

namespace {

boost::json::value opt_time(const std::optional<domain::TimestampMs>& t) {
  return t ? boost::json::value(domain::format_iso8601(*t)) : nullptr;
}

}  // namespace

boost::json::object job_json(const domain::Job& job, domain::TimestampMs now) {
  boost::json::array errors;
  for (const auto& e : job.errors) {
    errors.push_back({{"itemId", e.item_id}, {"reason", e.reason}, {"at", domain::format_iso8601(e.at)}});
  }
  const auto& c = job.counters;
  const double rate = domain::items_per_second(c.processed(), job.running_ms);
  const auto eta = domain::eta_seconds(c, rate, job.status);
  boost::json::value duration = nullptr;
  if (job.start_time) {
    duration = (job.end_time ? *job.end_time : now) - *job.start_time;
  }
  boost::json::object o{{"id", job.id},
                        {"userId", job.user_id},
                        {"type", domain::to_string(job.type)},
                        {"status", domain::to_string(job.status)},
                        {"totalItems", c.total},
                        {"processedItems", c.processed()},
                        {"syncedItems", c.synced},
                        {"failedItems", c.failed},
                        {"progress", domain::progress_percent(c, job.status)},
                        {"errors", std::move(errors)},
                        {"startTime", opt_time(job.start_time)},
                        {"endTime", opt_time(job.end_time)},
                        {"duration", duration},
                        {"scope", domain::to_string(job.scope)},
                        {"scopeUserId", job.scope_user_id ? boost::json::value(*job.scope_user_id) : nullptr},
                        {"mode", domain::to_string(job.mode)},
                        {"skippedItems", c.skipped},
                        {"errorCount", job.error_count},
                        {"attempt", job.attempt},
                        {"createdAt", domain::format_iso8601(job.created_at)},
                        {"updatedAt", domain::format_iso8601(job.updated_at)},
                        {"itemsPerSecond", rate},
                        {"etaSeconds", eta ? boost::json::value(*eta) : nullptr},
                        {"cancelRequested", job.cancel_requested}};
  if (!job.failure_reason.empty()) {
    o["failureReason"] = job.failure_reason;
  }
  if (job.bulk && domain::is_bulk(job.type)) {
    // A bulk job: {action, filter} or {action, idCount}.
    boost::json::object bulk{{"action", sync::to_string(sync::action_of(job.type))}};
    if (job.bulk->filter) {
      bulk["filter"] = domain::filter_spec_json(*job.bulk->filter);
    } else {
      bulk["idCount"] = job.bulk->id_count;
    }
    o["bulk"] = std::move(bulk);
  }
  return o;
}

}  // namespace mladmin::api

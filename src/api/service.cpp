#include "api/service.hpp"

#include <boost/json.hpp>

#include "api/json.hpp"
#include "domain/clock.hpp"
#include "sink/http_sink.hpp"

namespace mladmin::api {

namespace json = boost::json;

namespace {

json::value time_or_null(const std::optional<domain::TimestampMs>& at) {
  return at ? json::value(domain::format_iso8601(*at)) : json::value(nullptr);
}

json::value number_or_null(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

/// `lastAcknowledgedBatch` (docs/ml-service-api.md, "Watching it from mladmin").
json::value acknowledged_or_null(const std::optional<sink::AcknowledgedBatch>& b) {
  if (!b) {
    return nullptr;
  }
  return json::object{{"batchId", b->batch_id},  {"jobId", b->job_id},
                      {"upserts", b->upserts},   {"deletes", b->deletes},
                      {"rejected", b->rejected}, {"at", domain::format_iso8601(b->at)}};
}

}  // namespace

http::Response get_ml_service(http::Request&, const auth::Caller&, ApiContext& ctx) {
  if (ctx.ml_sink == nullptr) {
    return json_response(200,
                         json::object{{"configured", false},
                                      {"url", nullptr},
                                      {"lastAcknowledgedBatch", nullptr},
                                      {"lastError", nullptr},
                                      {"inFlight", 0},
                                      {"ackLatencyMs", json::object{{"p50", nullptr}, {"p99", nullptr}}}});
  }
  const auto s = ctx.ml_sink->status();
  json::value last_error = nullptr;
  if (s.last_error) {
    last_error = json::object{{"message", *s.last_error}, {"at", time_or_null(s.last_error_at)}};
  }
  return json_response(
      200, json::object{{"configured", true},
                        {"url", s.url},
                        {"lastAcknowledgedBatch", acknowledged_or_null(s.last_acknowledged)},
                        {"lastError", std::move(last_error)},
                        {"inFlight", s.in_flight},
                        {"ackLatencyMs", json::object{{"p50", number_or_null(s.ack_latency_p50_ms)},
                                                      {"p99", number_or_null(s.ack_latency_p99_ms)}}}});
}

}  // namespace mladmin::api

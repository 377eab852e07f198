// GET /api/ml/stats (docs/openapi.yaml, issue 4): document counts by type and owner, the backlog of the
// next all-users sync, and how sync jobs did over a time range, bucketed by hour or day. Every
// figure comes from counters and indexes (store::Reader::read_stats), so the answer takes the
// same time at a million documents as at a thousand.
#include "api/stats.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/json.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "domain/stats.hpp"
#include "store/store.hpp"

namespace mladmin::api {

using domain::field_error;

namespace {

constexpr std::size_t kDefaultTopUsers = 10;
constexpr std::size_t kMaxTopUsers = 100;
constexpr domain::TimestampMs kDefaultRange = 7 * domain::kDayMs;

std::size_t top_param(const http::Request& req) {
  const auto v = req.query_param("top");
  if (!v) {
    return kDefaultTopUsers;
  }
  std::size_t n = 0;
  bool ok = !v->empty() && v->size() <= 3;
  for (char c : *v) {
    ok = ok && c >= '0' && c <= '9';
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (!ok || n < 1 || n > kMaxTopUsers) {
    throw field_error("top", "must be a whole number from 1 to 100");
  }
  return n;
}

/// Reads and checks the query: a bad value answers 400 naming its parameter.
store::StatsQuery stats_query(const http::Request& req, domain::TimestampMs now) {
  allow_params(req, {"from", "to", "bucket", "top"});
  store::StatsQuery q;
  const auto from = time_param(req, "from");
  const auto to = time_param(req, "to");
  q.to = to.value_or(now);
  q.from = from.value_or(q.to - kDefaultRange);
  if (q.from >= q.to) {
    throw field_error(from ? "from" : "to", "the range must start before it ends (from < to)");
  }
  if (const auto b = req.query_param("bucket")) {
    const auto parsed = domain::parse_stats_bucket(*b);
    if (!parsed) {
      throw field_error("bucket", "must be hour or day");
    }
    q.bucket = *parsed;
  } else {
    q.bucket = domain::default_bucket(q.from, q.to);
  }
  const auto buckets = domain::bucket_count(q.from, q.to, q.bucket);
  if (buckets > domain::kMaxStatsBuckets) {
    throw field_error("bucket", "the range holds " + std::to_string(buckets) + " " +
                                    std::string(domain::to_string(q.bucket)) +
                                    " buckets, more than 1000: shorten the range or use a wider bucket");
  }
  q.top_users = top_param(req);
  return q;
}

boost::json::object type_counts_json(const store::TypeCounts& c) {
  return {{"journal_entries", c.journal_entries}, {"goals", c.goals}};
}

/// part / whole, or null when there is nothing to divide.
boost::json::value rate(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? boost::json::value(static_cast<double>(part) / static_cast<double>(whole)) : nullptr;
}

boost::json::array failures_json(const std::vector<store::FailureCount>& rows) {
  boost::json::array out;
  for (const auto& f : rows) {
    out.push_back({{"reason", f.reason}, {"count", f.count}, {"example", f.example}});
  }
  return out;
}

boost::json::object series_point_json(const store::JobStatsRow& r) {
  return {{"start", domain::format_iso8601(r.start)},
          {"jobs", r.jobs},
          {"completed", r.completed},
          {"failed", r.failed},
          {"cancelled", r.cancelled},
          {"items", r.items()},
          {"itemsPerSecond", domain::items_per_second(r.items(), r.running_ms)},
          {"avgDurationMs",
           r.started > 0 ? static_cast<double>(r.duration_ms) / static_cast<double>(r.started) : 0.0},
          {"maxDurationMs", r.max_duration_ms}};
}

}  // namespace

http::Response get_stats(http::Request& req, const auth::Caller&, ApiContext& ctx) {
  const auto q = stats_query(req, ctx.clock.now_ms());
  const auto report = ctx.store.read_value([&](store::Reader& r) { return r.read_stats(q); });

  boost::json::array top;
  for (const auto& u : report.top_users) {
    top.push_back({{"userId", u.user_id},
                   {"email", u.email ? boost::json::value(*u.email) : nullptr},
                   {"name", u.name ? boost::json::value(*u.name) : nullptr},
                   {"count", u.documents.total()},
                   {"byType", type_counts_json(u.documents)}});
  }
  const auto& j = report.jobs;
  boost::json::array series;
  for (const auto& point : report.series) {
    series.push_back(series_point_json(point));
  }
  boost::json::object out{
      {"range",
       {{"from", domain::format_iso8601(q.from)},
        {"to", domain::format_iso8601(q.to)},
        {"bucket", domain::to_string(q.bucket)}}},
      {"documents",
       {{"total", report.documents.total()},
        {"byType", type_counts_json(report.documents)},
        {"topUsers", std::move(top)}}},
      {"pending", type_counts_json(report.pending)},
      // Cancelled jobs are a person's decision, not an outcome: the job success rate is
      // completed / (completed + failed). Skipped items (unchanged content) succeeded.
      {"jobs",
       {{"completed", j.completed},
        {"failed", j.failed},
        {"cancelled", j.cancelled},
        {"successRate", rate(j.completed, j.completed + j.failed)},
        {"items",
         {{"synced", j.synced_items},
          {"skipped", j.skipped_items},
          {"failed", j.failed_items},
          {"successRate", rate(j.synced_items + j.skipped_items, j.items())}}}}},
      {"series", std::move(series)},
      {"failures",
       {{"items", failures_json(report.item_failures)}, {"jobs", failures_json(report.job_failures)}}}};
  return json_response(200, out);
}

}  // namespace mladmin::api

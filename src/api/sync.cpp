// Sync jobs (SPEC §2, §3): start a sync (202 at once), read jobs and their item errors, and
// cancel, pause, resume or retry them. A user reads the jobs they started and the jobs that
// synced their records; ml_admin and admin read every job.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/handlers.hpp"
#include "api/json.hpp"
#include "domain/error.hpp"
#include "sync/engine.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;
using domain::Job;

namespace {

bool reads_all(const auth::Caller& caller) {
  return domain::at_least(caller.role, domain::Role::ml_admin);
}

bool may_read(const auth::Caller& caller, const Job& job) {
  return reads_all(caller) || job.user_id == caller.id || job.scope_user_id == caller.id;
}

Job readable_job(ApiContext& ctx, const auth::Caller& caller, const std::string& id) {
  auto job = ctx.store.read_value([&](store::Reader& r) { return r.find_job(id); });
  if (!job || !may_read(caller, *job)) {
    throw domain::not_found("job");
  }
  return *job;
}

boost::json::value opt_time(const std::optional<domain::TimestampMs>& t) {
  return t ? boost::json::value(domain::format_iso8601(*t)) : nullptr;
}

}  // namespace

boost::json::object job_json(const Job& job, domain::TimestampMs now) {
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
  return o;
}

namespace {

http::Response start_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx,
                          domain::JobType type) {
  sync::StartRequest start;
  start.type = type;
  start.started_by = caller.id;
  start.scope = domain::JobScope::user;
  start.scope_user_id = caller.id;
  // An empty body means "my own records, incrementally".
  if (!req.body.empty() || req.header("content-type")) {
    JsonBody body(req);
    body.allow({"mode", "userId", "scope"});
    if (auto mode = body.optional_string("mode")) {
      auto parsed = domain::parse_sync_mode(*mode);
      if (!parsed) {
        throw field_error("mode", "must be incremental or full");
      }
      start.mode = *parsed;
    }
    const auto scope = body.optional_string("scope");
    const auto user_id = body.optional_string("userId");
    if (scope && *scope != "all" && *scope != "user") {
      throw field_error("scope", "must be all or user");
    }
    if (scope && *scope == "all") {
      if (user_id) {
        throw field_error("userId", "cannot be combined with scope all");
      }
      auth::require_role(caller, domain::Role::ml_admin);
      start.scope = domain::JobScope::all;
      start.scope_user_id.reset();
    } else if (user_id && *user_id != caller.id) {
      auth::require_role(caller, domain::Role::ml_admin);
      if (!ctx.store.read_value([&](store::Reader& r) { return r.find_user(*user_id).has_value(); })) {
        throw domain::not_found("user");
      }
      start.scope_user_id = *user_id;
    }
  }
  const auto job = ctx.engine.start_sync(start);
  auto res = json_response(202, job_json(job, ctx.clock.now_ms()));
  res.header("Location", "/api/ml/sync/job/" + job.id);
  return res;
}

}  // namespace

http::Response start_journal_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return start_sync(req, caller, ctx, domain::JobType::journal_entries);
}

http::Response start_goal_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return start_sync(req, caller, ctx, domain::JobType::goals);
}

http::Response list_jobs(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  allow_params(req, {"status", "type", "userId", "from", "to", "limit", "cursor"});
  store::JobQuery q;
  q.limit = limit_param(req);
  if (!reads_all(caller)) {
    q.visible_to = caller.id;
  }
  if (auto v = req.query_param("status")) {
    q.status = domain::parse_job_status(*v);
    if (!q.status) {
      throw field_error("status",
                        "must be one of queued, running, paused, completed, failed, cancelled, interrupted");
    }
  }
  if (auto v = req.query_param("type")) {
    q.type = domain::parse_job_type(*v);
    if (!q.type) {
      throw field_error("type", "must be one of journal_entries, goals, bulk_delete, bulk_resync");
    }
  }
  if (auto v = req.query_param("userId")) {
    q.user_id = std::string(*v);
  }
  q.from = time_param(req, "from");
  q.to = time_param(req, "to");
  q.before = time_id_cursor(req);
  const auto page = ctx.store.read_value([&](store::Reader& r) { return r.list_jobs(q); });
  const auto now = ctx.clock.now_ms();
  boost::json::array items;
  for (const auto& job : page.items) {
    items.push_back(job_json(job, now));
  }
  boost::json::object out{{"items", std::move(items)}, {"nextCursor", nullptr}};
  if (page.has_more && !page.items.empty()) {
    out["nextCursor"] = encode_time_id_cursor(page.items.back().created_at, page.items.back().id);
  }
  return json_response(200, out);
}

http::Response get_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return json_response(200, job_json(readable_job(ctx, caller, req.param("jobId")), ctx.clock.now_ms()));
}

http::Response list_job_errors(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  allow_params(req, {"limit", "cursor"});
  const auto job = readable_job(ctx, caller, req.param("jobId"));
  const auto limit = limit_param(req);
  std::int64_t after = 0;
  if (auto cursor = req.query_param("cursor")) {
    auto pos = decode_cursor(*cursor);
    const auto* s = pos.if_contains("after");
    if (s == nullptr || !s->is_int64()) {
      throw field_error("cursor", "belongs to another listing; start again without it");
    }
    after = s->as_int64();
  }
  auto rows =
      ctx.store.read_value([&](store::Reader& r) { return r.list_job_errors(job.id, after, limit + 1); });
  const bool more = rows.size() > limit;
  if (more) {
    rows.pop_back();
  }
  boost::json::array items;
  for (const auto& row : rows) {
    items.push_back({{"itemId", row.error.item_id},
                     {"reason", row.error.reason},
                     {"at", domain::format_iso8601(row.error.at)}});
  }
  boost::json::object out{{"items", std::move(items)}, {"nextCursor", nullptr}, {"total", job.error_count}};
  if (more && !rows.empty()) {
    out["nextCursor"] = encode_cursor({{"after", rows.back().seq}});
  }
  return json_response(200, out);
}

namespace {

template <class Action>
http::Response control(http::Request& req, const auth::Caller& caller, ApiContext& ctx, Action action) {
  const auto job = readable_job(ctx, caller, req.param("jobId"));
  return json_response(200, job_json(action(job.id), ctx.clock.now_ms()));
}

}  // namespace

http::Response cancel_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return control(req, caller, ctx, [&](const std::string& id) { return ctx.engine.cancel(id); });
}

http::Response pause_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return control(req, caller, ctx, [&](const std::string& id) { return ctx.engine.pause(id); });
}

http::Response resume_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return control(req, caller, ctx, [&](const std::string& id) { return ctx.engine.resume(id); });
}

http::Response retry_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  return control(req, caller, ctx, [&](const std::string& id) { return ctx.engine.retry(id); });
}

}  // namespace mladmin::api

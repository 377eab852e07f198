// Sync jobs (docs/jobs.md, docs/openapi.yaml): start a sync (202 at once), read jobs and their item errors,
// and cancel, pause, resume or retry them. Below ml_admin a caller reads and controls only the jobs of scope
// user over their own records; ml_admin and admin every job (domain/job_access.hpp, docs/security.md). A job
// one may not read answers 404.
#include "api/sync.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <spdlog/spdlog.h>

#include "api/job_json.hpp"
#include "api/job_view.hpp"
#include "api/json.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "domain/job_access.hpp"
#include "store/store.hpp"
#include "sync/engine.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;
using domain::field_error;
using domain::Job;

bool reads_all_jobs(const auth::Caller& caller) {
  return domain::reads_all_jobs(caller.role);
}

bool may_read_job(const auth::Caller& caller, const Job& job) {
  return domain::may_access_job(caller.role, caller.id, job);
}

namespace {

Job readable_job(ApiContext& ctx, const auth::Caller& caller, const std::string& id) {
  auto job = ctx.store.read_value([&](store::Reader& r) { return r.find_job(id); });
  if (!job || !may_read_job(caller, *job)) {
    throw domain::not_found("job");
  }
  return *job;
}

}  // namespace

namespace {

http::Response start_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx,
                          domain::JobType type) {
  // Sync starts per user and minute (docs/security.md): each start scans the records it syncs.
  if (ctx.sync_starts) {
    const auto decision = ctx.sync_starts->take(caller.id, ctx.clock.now_ms());
    if (!decision.allowed) {
      throw std::move(Error(ErrorKind::too_many_requests, "too_many_sync_starts",
                            "too many sync starts from this account; try again in " +
                                std::to_string(decision.retry_after_seconds) + " seconds")
                          .retry_after(decision.retry_after_seconds));
    }
  }
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

namespace {

/// The filters shared by the job list and the export (docs/openapi.yaml).
store::JobQuery job_filters(const http::Request& req, const auth::Caller& caller) {
  store::JobQuery q;
  if (!reads_all_jobs(caller)) {
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
  return q;
}

/// A CSV field: quoted when it holds a separator, a quote or a line break, and prefixed with a
/// quote mark when a spreadsheet would run it as a formula.
std::string csv_field(std::string value) {
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@')) {
    value.insert(value.begin(), '\'');
  }
  if (value.find_first_of(",\"\r\n") == std::string::npos) {
    return value;
  }
  std::string out = "\"";
  for (char c : value) {
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return out + "\"";
}

std::string csv_value(const boost::json::value& v) {
  if (v.is_null()) {
    return "";
  }
  if (v.is_string()) {
    return csv_field(std::string(v.as_string()));
  }
  return csv_field(boost::json::serialize(v));
}

}  // namespace

namespace {

/// The list's query from the request (docs/openapi.yaml: filters, limit, cursor).
store::JobQuery list_query(const http::Request& req, const auth::Caller& caller) {
  allow_params(req, {"status", "type", "userId", "from", "to", "limit", "cursor"});
  store::JobQuery q = job_filters(req, caller);
  q.limit = limit_param(req);
  q.before = time_id_cursor(req);
  return q;
}

/// The page from the job view, written as list_jobs writes one read from the database.
http::Response page_response(const JobView::Page& page, domain::TimestampMs now) {
  http::Response res;
  auto& body = res.body;
  body.reserve(64 + page.items.size() * 768);
  body += "{\"items\":[";
  for (std::size_t i = 0; i < page.items.size(); ++i) {
    if (i > 0) {
      body += ',';
    }
    page.items[i]->append_json(body, now);
  }
  body += "],\"nextCursor\":";
  if (page.has_more && !page.items.empty()) {
    const auto& last = *page.items.back();
    body += boost::json::serialize(boost::json::value(encode_time_id_cursor(last.created_at, last.id)));
  } else {
    body += "null";
  }
  body += '}';
  return res;
}

/// The job from the view: the response (a 404 for a job the caller may not read, as from the
/// database), or nothing when the view does not know the job.
std::optional<http::Response> job_from_view(const std::string& id, const auth::Caller& caller,
                                            ApiContext& ctx) {
  if (ctx.job_view == nullptr) {
    return std::nullopt;
  }
  const auto now = ctx.clock.now_ms();
  const auto found = ctx.job_view->find(id, now);
  switch (found.presence) {
    case JobView::Presence::unknown:
      return std::nullopt;
    case JobView::Presence::absent:
      throw domain::not_found("job");
    case JobView::Presence::held:
      break;
  }
  if (!domain::may_access_job(reads_all_jobs(caller), caller.id, found.entry->scope_user_id)) {
    throw domain::not_found("job");
  }
  http::Response res;
  found.entry->append_json(res.body, now);
  return res;
}

}  // namespace

http::Response list_jobs(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const store::JobQuery q = list_query(req, caller);
  if (ctx.job_view != nullptr) {
    const auto now = ctx.clock.now_ms();
    if (auto page = ctx.job_view->list(q, now)) {
      return page_response(*page, now);
    }
  }
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

std::optional<http::Response> list_jobs_from_view(http::Request& req, const auth::Caller& caller,
                                                  ApiContext& ctx) {
  if (ctx.job_view == nullptr) {
    return std::nullopt;
  }
  const store::JobQuery q = list_query(req, caller);
  const auto now = ctx.clock.now_ms();
  auto page = ctx.job_view->list(q, now);
  if (!page) {
    return std::nullopt;
  }
  return page_response(*page, now);
}

namespace {

constexpr const char* kExportColumns[] = {
    "id",         "userId",         "type",           "status",      "scope",        "scopeUserId",
    "mode",       "totalItems",     "processedItems", "syncedItems", "skippedItems", "failedItems",
    "errorCount", "progress",       "attempt",        "createdAt",   "startTime",    "endTime",
    "duration",   "itemsPerSecond", "cancelRequested"};

/// The export's body, written page by page as the connection takes it: newest first, one page
/// of jobs per pull, so memory stays bounded whatever the history's length.
class JobExport final : public http::BodyStream {
 public:
  JobExport(ApiContext& ctx, store::JobQuery query, bool csv)
      : ctx_(ctx), query_(std::move(query)), csv_(csv), now_(ctx.clock.now_ms()) {}

  void attach(std::function<void()>) override {}
  void detach() override {}

  Chunk pull(Clock::time_point now) override {
    Chunk chunk;
    chunk.next_pull = now;  // more at once: the connection pulls again as soon as this is written
    try {
      const auto page = ctx_.store.read_value([&](store::Reader& r) { return r.list_jobs(query_); });
      for (const auto& job : page.items) {
        append(chunk.data, job_json(job, now_));
      }
      if (!page.has_more || page.items.empty()) {
        chunk.data += csv_ ? "" : (first_ ? "[]" : "]");
        chunk.done = true;
      } else {
        query_.before = std::make_pair(page.items.back().created_at, page.items.back().id);
      }
    } catch (const std::exception& e) {
      // The head is sent: all that is left is to end the body short (not valid JSON, short CSV).
      spdlog::error("msg=\"job export failed\" error=\"{}\"", e.what());
      chunk.done = true;
    }
    return chunk;
  }

  /// The CSV header line (the body's first bytes).
  static std::string csv_header() {
    std::string out;
    for (std::size_t i = 0; i < std::size(kExportColumns); ++i) {
      out += (i == 0 ? "" : ",");
      out += kExportColumns[i];
    }
    return out + "\r\n";
  }

 private:
  void append(std::string& out, const boost::json::object& o) {
    if (csv_) {
      for (std::size_t i = 0; i < std::size(kExportColumns); ++i) {
        if (i > 0) {
          out += ',';
        }
        out += csv_value(o.at(kExportColumns[i]));
      }
      out += "\r\n";
    } else {
      out += first_ ? "[" : ",";
      out += boost::json::serialize(o);
    }
    first_ = false;
  }

  ApiContext& ctx_;
  store::JobQuery query_;
  const bool csv_;
  const domain::TimestampMs now_;
  bool first_ = true;
};

}  // namespace

http::Response export_jobs(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  allow_params(req, {"format", "status", "type", "userId", "from", "to"});
  const std::string format(req.query_param("format").value_or("json"));
  if (format != "json" && format != "csv") {
    throw field_error("format", "must be csv or json");
  }
  store::JobQuery q = job_filters(req, caller);
  q.limit = 500;
  http::Response res;
  if (format == "csv") {
    res.content_type = "text/csv; charset=utf-8";
    res.body = JobExport::csv_header();
  } else {
    res.content_type = "application/json";
  }
  res.stream = std::make_shared<JobExport>(ctx, std::move(q), format == "csv");
  res.header("Content-Disposition", "attachment; filename=\"sync-jobs." + format + "\"");
  return res;
}

http::Response get_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const std::string& id = req.param("jobId");
  if (auto res = job_from_view(id, caller, ctx)) {
    return std::move(*res);
  }
  return json_response(200, job_json(readable_job(ctx, caller, id), ctx.clock.now_ms()));
}

std::optional<http::Response> get_job_from_view(http::Request& req, const auth::Caller& caller,
                                                ApiContext& ctx) {
  return job_from_view(req.param("jobId"), caller, ctx);
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
                     {"at", domain::format_iso8601(row.error.at)},
                     {"attempt", row.attempt}});
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

#include "api/routes.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "api/handlers.hpp"
#include "http/server.hpp"

namespace mladmin::api {

using domain::ErrorKind;
using domain::Role;

int status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request:
      return 400;
    case ErrorKind::unauthorized:
      return 401;
    case ErrorKind::forbidden:
      return 403;
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::method_not_allowed:
      return 405;
    case ErrorKind::conflict:
      return 409;
    case ErrorKind::payload_too_large:
      return 413;
    case ErrorKind::unsupported_media_type:
      return 415;
    case ErrorKind::unprocessable:
      return 422;
    case ErrorKind::too_many_requests:
      return 429;
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::internal:
      return 500;
  }
  return 500;
}

http::Response error_to_response(const domain::Error& error) {
  auto res = http::error_response(status_of(error.kind()), error.code(), error.what(), error.details());
  if (error.retry_after()) {
    res.header("Retry-After", std::to_string(*error.retry_after()));
  }
  if (error.kind() == ErrorKind::unauthorized) {
    res.header("WWW-Authenticate", "Bearer");
  }
  return res;
}

namespace {

using PublicHandler = http::Response (*)(http::Request&, ApiContext&);
using CallerHandler = http::Response (*)(http::Request&, const auth::Caller&, ApiContext&);
using BodylessCheck = domain::SourceType (*)(const http::Request&);

/// The one catch site: domain errors become their status and body; anything else is logged and
/// answers a 500 that says nothing of the internals.
template <class F>
http::Response guarded(http::Request& req, F&& body) {
  try {
    return body();
  } catch (const domain::Error& e) {
    if (e.kind() == ErrorKind::internal) {
      spdlog::error("msg=\"internal error\" path={} error=\"{}\"", req.path, e.what());
    }
    return error_to_response(e);
  } catch (const std::exception& e) {
    spdlog::error("msg=\"unhandled exception\" method={} path={} error=\"{}\"", req.method, req.path,
                  e.what());
    return http::error_response(500, "internal", "an internal error occurred; it has been logged");
  }
}

class Table {
 public:
  Table(http::Router& router, ApiContext& ctx) : router_(router), ctx_(ctx) {}

  /// A route anyone may call.
  void anyone(const char* method, const char* path, PublicHandler h) {
    router_.add(method, path,
                [h, &ctx = ctx_](http::Request& req) { return guarded(req, [&] { return h(req, ctx); }); });
  }

  /// A route for an authenticated caller with at least `role`.
  void role(Role need, const char* method, const char* path, CallerHandler h) {
    router_.add(method, path, [h, need, &ctx = ctx_](http::Request& req) {
      return guarded(req, [&] {
        const auth::Caller caller = authenticate(req, ctx);
        auth::require_role(caller, need);
        return h(req, caller, ctx);
      });
    });
  }

  /// A route like role(), whose body is spooled to a file of at most `max_bytes`. The caller, the
  /// role and `check` are verified before the body is read, and again with it.
  void upload(Role need, const char* method, const char* path, CallerHandler h, BodylessCheck check,
              std::size_t max_bytes) {
    http::RouteOptions options;
    options.max_body_bytes = max_bytes;
    options.spool_body = true;
    options.before_body = [need, check, &ctx = ctx_](http::Request& req) -> std::optional<http::Response> {
      bool passed = false;
      auto refusal = guarded(req, [&] {
        const auth::Caller caller = authenticate(req, ctx);
        auth::require_role(caller, need);
        check(req);
        passed = true;
        return http::Response{};
      });
      return passed ? std::nullopt : std::optional(std::move(refusal));
    };
    router_.add(
        method, path,
        [h, need, &ctx = ctx_](http::Request& req) {
          return guarded(req, [&] {
            const auth::Caller caller = authenticate(req, ctx);
            auth::require_role(caller, need);
            return h(req, caller, ctx);
          });
        },
        std::move(options));
  }

 private:
  http::Router& router_;
  ApiContext& ctx_;
};

}  // namespace

http::Router build_router(ApiContext& ctx, const http::StaticFiles& dashboard) {
  http::Router router;
  Table t(router, ctx);

  t.anyone("GET", "/healthz", healthz);
  t.anyone("GET", "/readyz", readyz);
  t.anyone("GET", "/metrics", metrics_text);  // checks the caller itself when not public

  t.anyone("POST", "/api/auth/login", login);
  t.role(Role::user, "GET", "/api/auth/me", me);

  t.role(Role::admin, "GET", "/api/ml/admin/users", list_users);
  t.role(Role::admin, "POST", "/api/ml/admin/users", create_user);
  t.role(Role::admin, "POST", "/api/ml/admin/users/bulk", bulk_users);
  t.role(Role::admin, "GET", "/api/ml/admin/users/:id", get_user);
  t.role(Role::admin, "PATCH", "/api/ml/admin/users/:id", update_user);
  t.role(Role::admin, "DELETE", "/api/ml/admin/users/:id", delete_user);
  t.role(Role::admin, "GET", "/api/ml/admin/audit", list_audit);

  // Source data: owners manage their own; ml_admin and admin read everyone's (checked per record).
  t.role(Role::user, "GET", "/api/journal-entries", list_journal_entries);
  t.role(Role::user, "POST", "/api/journal-entries", create_journal_entry);
  t.role(Role::user, "GET", "/api/journal-entries/:id", get_journal_entry);
  t.role(Role::user, "PUT", "/api/journal-entries/:id", update_journal_entry);
  t.role(Role::user, "DELETE", "/api/journal-entries/:id", delete_journal_entry);
  t.role(Role::user, "GET", "/api/goals", list_goals);
  t.role(Role::user, "POST", "/api/goals", create_goal);
  t.role(Role::user, "GET", "/api/goals/:id", get_goal);
  t.role(Role::user, "PUT", "/api/goals/:id", update_goal);
  t.role(Role::user, "DELETE", "/api/goals/:id", delete_goal);
  // Bulk load of source data as NDJSON, streamed to a temporary file (at most import_max_bytes).
  t.upload(Role::admin, "POST", "/api/import", import_records, check_import_request, ctx.import_max_bytes);

  // Sync jobs: who may act on a given job (its starter, the owner of the records it syncs, or
  // ml_admin) is checked per job; other users' jobs answer 404.
  t.role(Role::user, "POST", "/api/ml/sync/journal-entries", start_journal_sync);
  t.role(Role::user, "POST", "/api/ml/sync/goals", start_goal_sync);
  t.role(Role::user, "GET", "/api/ml/sync/jobs", list_jobs);
  t.role(Role::user, "GET", "/api/ml/sync/jobs/export", export_jobs);
  t.role(Role::user, "GET", "/api/ml/sync/job/:jobId", get_job);
  t.role(Role::user, "GET", "/api/ml/sync/job/:jobId/errors", list_job_errors);
  t.role(Role::user, "POST", "/api/ml/sync/job/:jobId/cancel", cancel_job);
  t.role(Role::user, "POST", "/api/ml/sync/job/:jobId/pause", pause_job);
  t.role(Role::user, "POST", "/api/ml/sync/job/:jobId/resume", resume_job);
  t.role(Role::user, "POST", "/api/ml/sync/job/:jobId/retry", retry_job);
  t.role(Role::user, "GET", "/api/ml/sync/events", job_events);

  // The synced documents: search, read, delete (ml_admin and admin; deletes are audited).
  t.role(Role::ml_admin, "GET", "/api/ml/documents", list_documents);
  t.role(Role::ml_admin, "GET", "/api/ml/documents/:id", get_document);
  t.role(Role::ml_admin, "DELETE", "/api/ml/documents/:id", delete_document);

  // Stats over the documents and the job history (counters and indexes, bounded time).
  t.role(Role::ml_admin, "GET", "/api/ml/stats", get_stats);

  // The external ML service every sync also delivers to: configured or not, its last answers.
  t.role(Role::ml_admin, "GET", "/api/ml/service", get_ml_service);

  // Bulk delete / re-sync of synced documents; more than 1,000 targets run as a tracked job.
  t.role(Role::ml_admin, "POST", "/api/ml/documents/bulk", bulk_documents);

  // The web dashboard (anyone; it signs in through the API): GET and HEAD of any path outside
  // /api/ that no route above matches. A path that names no file loads index.html, where the
  // app routes itself (/sync, /users/123), except under /assets/.
  router.set_fallback("/*", "api", [&dashboard](http::Request& req) { return dashboard.serve(req); });

  return router;
}

}  // namespace mladmin::api

#include "api/routes.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "api/auth.hpp"
#include "api/document_bulk.hpp"
#include "api/documents.hpp"
#include "api/events.hpp"
#include "api/health.hpp"
#include "api/import.hpp"
#include "api/service.hpp"
#include "api/sources.hpp"
#include "api/stats.hpp"
#include "api/sync.hpp"
#include "api/users.hpp"
#include "http/log_text.hpp"
#include "http/server.hpp"
#include "store/errors.hpp"

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
/// A handler that answers from memory when it can (nothing when it cannot without blocking).
using QuickHandler = std::optional<http::Response> (*)(http::Request&, const auth::Caller&, ApiContext&);
/// Checks of an upload that need only the head (the query, the content type), and what it reserves
/// (Request::hold), run before the body is read.
using BodylessCheck = void (*)(http::Request&, ApiContext&);

/// The one catch site: domain errors become their status and body; anything else is logged and
/// answers a 500 that says nothing of the internals.
template <class F>
http::Response guarded(http::Request& req, F&& body) {
  try {
    return body();
  } catch (const domain::Error& e) {
    if (e.kind() == ErrorKind::internal) {
      spdlog::error("msg=\"internal error\" path=\"{}\" error=\"{}\"", http::log_text(req.path),
                    http::log_text(e.what()));
    }
    return error_to_response(e);
  } catch (const store::StorageFull& e) {
    // The operator reads the file's name in the log; the client learns what it can do.
    spdlog::error("msg=\"storage full\" method={} path=\"{}\" error=\"{}\"", http::log_text(req.method),
                  http::log_text(req.path), http::log_text(e.what()));
    return http::error_response(
        507, "insufficient_storage",
        "the server's disk is full, so nothing was saved; try again once space is freed");
  } catch (const store::StorageLocked& e) {
    spdlog::error("msg=\"storage locked\" method={} path=\"{}\" error=\"{}\"", http::log_text(req.method),
                  http::log_text(req.path), http::log_text(e.what()));
    auto res =
        http::error_response(503, "storage_locked",
                             "another program holds the server's database, so nothing was saved; try again");
    res.header("Retry-After", "5");
    return res;
  } catch (const std::exception& e) {
    spdlog::error("msg=\"unhandled exception\" method={} path=\"{}\" error=\"{}\"",
                  http::log_text(req.method), http::log_text(req.path), http::log_text(e.what()));
    return http::error_response(500, "internal", "an internal error occurred; it has been logged");
  }
}

class Table {
 public:
  Table(http::Router& router, ApiContext& ctx, const http::StaticFiles& dashboard)
      : router_(router), ctx_(ctx), dashboard_(dashboard) {}

  std::size_t import_max_bytes() const { return ctx_.import_max_bytes; }

  /// A route anyone may call that answers the dashboard's file `name` (built by cmake/web.cmake),
  /// from memory: on the I/O thread (RouteOptions::run_inline).
  void file(const char* method, const char* path, std::string name) {
    http::RouteOptions options;
    options.run_inline = true;
    // Not `"/" + std::move(name)`: GCC 12 at -O3 reports a false -Wrestrict there (an error).
    name.insert(name.begin(), '/');
    router_.add(
        method, path,
        [name = std::move(name), &dashboard = dashboard_](http::Request& req) {
          http::Request file_req = req;
          file_req.path = name;
          return dashboard.serve(file_req);
        },
        std::move(options));
  }

  /// A route anyone may call.
  void anyone(const char* method, const char* path, PublicHandler h) {
    router_.add(method, path,
                [h, &ctx = ctx_](http::Request& req) { return guarded(req, [&] { return h(req, ctx); }); });
  }

  /// A route anyone may call whose handler never blocks: it runs on the I/O thread
  /// (RouteOptions::run_inline).
  void anyone_inline(const char* method, const char* path, PublicHandler h) {
    http::RouteOptions options;
    options.run_inline = true;
    router_.add(
        method, path,
        [h, &ctx = ctx_](http::Request& req) { return guarded(req, [&] { return h(req, ctx); }); },
        std::move(options));
  }

  /// A route for an authenticated caller with at least `role`. The caller and role are checked
  /// before a body still on its way is read, and again with it (docs/security.md).
  void role(Role need, const char* method, const char* path, CallerHandler h) {
    http::RouteOptions options;
    options.before_body = checked_first(need, nullptr);
    router_.add(method, path, authenticated(need, h), std::move(options));
  }

  /// A route like role() that is first tried on the I/O thread (RouteOptions::try_inline): when
  /// the caller's rights are in memory and `quick` answers, that is the response; otherwise `h`
  /// runs on the handler pool. Both must answer alike (docs/performance.md, "The job view").
  void role_quick(Role need, const char* method, const char* path, CallerHandler h, QuickHandler quick) {
    http::RouteOptions options;
    options.before_body = checked_first(need, nullptr);
    options.try_inline = [need, quick, &ctx = ctx_](http::Request& req) -> std::optional<http::Response> {
      bool passed = false;  // no exception: `answer` says whether it answered
      std::optional<http::Response> answer;
      auto refusal = guarded(req, [&] {
        if (const auto caller = authenticate_from_memory(req, ctx)) {
          auth::require_role(*caller, need);
          answer = quick(req, *caller, ctx);
        }
        passed = true;
        return http::Response{};
      });
      // An error thrown (401, 403, 400, 404...) is an answer too: guarded made its response.
      return passed ? std::move(answer) : std::optional(std::move(refusal));
    };
    router_.add(method, path, authenticated(need, h), std::move(options));
  }

  /// A route like role(), whose body is spooled to a file of at most `max_bytes`. The caller, the
  /// role and `check` are verified before the body is read, and again with it.
  void upload(Role need, const char* method, const char* path, CallerHandler h, BodylessCheck check,
              std::size_t max_bytes) {
    http::RouteOptions options;
    options.max_body_bytes = max_bytes;
    options.spool_body = true;
    options.before_body = checked_first(need, check);
    router_.add(method, path, authenticated(need, h), std::move(options));
  }

 private:
  /// The handler of a route for an authenticated caller with at least `need`.
  http::Handler authenticated(Role need, CallerHandler h) {
    return [h, need, &ctx = ctx_](http::Request& req) {
      return guarded(req, [&] {
        const auth::Caller caller = authenticate(req, ctx);
        auth::require_role(caller, need);
        return h(req, caller, ctx);
      });
    };
  }

  /// A RouteOptions::before_body: the caller, its role and `check` (when set), refused with the
  /// response the handler would give.
  std::function<std::optional<http::Response>(http::Request&)> checked_first(Role need, BodylessCheck check) {
    return [need, check, &ctx = ctx_](http::Request& req) -> std::optional<http::Response> {
      bool passed = false;
      auto refusal = guarded(req, [&] {
        const auth::Caller caller = authenticate(req, ctx);
        auth::require_role(caller, need);
        if (check != nullptr) {
          check(req, ctx);
        }
        passed = true;
        return http::Response{};
      });
      return passed ? std::nullopt : std::optional(std::move(refusal));
    };
  }

  http::Router& router_;
  ApiContext& ctx_;
  const http::StaticFiles& dashboard_;
};

/// A table that only writes the routes down, for route_table().
class Listing {
 public:
  std::size_t import_max_bytes() const { return 0; }
  void file(const char* method, const char* path, const std::string&) { add(method, path, Access::anyone); }
  void anyone(const char* method, const char* path, PublicHandler) { add(method, path, Access::anyone); }
  void anyone_inline(const char* method, const char* path, PublicHandler) {
    add(method, path, Access::anyone);
  }
  void role(Role need, const char* method, const char* path, CallerHandler) {
    add(method, path, access_of(need));
  }
  void role_quick(Role need, const char* method, const char* path, CallerHandler, QuickHandler) {
    add(method, path, access_of(need));
  }
  void upload(Role need, const char* method, const char* path, CallerHandler, BodylessCheck, std::size_t) {
    add(method, path, access_of(need));
  }
  std::vector<RouteInfo> routes;

 private:
  static Access access_of(Role role) {
    switch (role) {
      case Role::user:
        return Access::user;
      case Role::ml_admin:
        return Access::ml_admin;
      case Role::admin:
        return Access::admin;
    }
    return Access::admin;
  }
  void add(const char* method, const char* path, Access access) { routes.push_back({method, path, access}); }
};

/// Every route of the API, declared once for both tables above. Each is described (parameters,
/// bodies, errors, role) in docs/openapi.yaml; a unit test (routes_test.cpp) holds the two equal.
template <class T>
void declare_routes(T& t) {
  t.anyone_inline("GET", "/healthz", healthz);  // answers from memory
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
  t.upload(Role::admin, "POST", "/api/import", import_records, reserve_import, t.import_max_bytes());

  // Sync jobs: who may act on a given job (ml_admin, or the owner of the records of a job of
  // scope user: domain/job_access.hpp) is checked per job; other jobs answer 404.
  t.role(Role::user, "POST", "/api/ml/sync/journal-entries", start_journal_sync);
  t.role(Role::user, "POST", "/api/ml/sync/goals", start_goal_sync);
  // Job reads: from the job view on the I/O thread when they can (docs/performance.md).
  t.role_quick(Role::user, "GET", "/api/ml/sync/jobs", list_jobs, list_jobs_from_view);
  t.role(Role::user, "GET", "/api/ml/sync/jobs/export", export_jobs);
  t.role_quick(Role::user, "GET", "/api/ml/sync/job/:jobId", get_job, get_job_from_view);
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

  // This API described (docs/openapi.yaml, as JSON) and rendered by a viewer page.
  t.file("GET", "/api/openapi.json", "api-docs/openapi.json");
  t.file("GET", "/api/docs", "api-docs/index.html");
}

}  // namespace

const char* to_string(Access access) {
  switch (access) {
    case Access::anyone:
      return "anyone";
    case Access::user:
      return "user";
    case Access::ml_admin:
      return "ml_admin";
    case Access::admin:
      return "admin";
  }
  return "admin";
}

std::vector<RouteInfo> route_table() {
  Listing listing;
  declare_routes(listing);
  return std::move(listing.routes);
}

http::Router build_router(ApiContext& ctx, const http::StaticFiles& dashboard) {
  http::Router router;
  Table t(router, ctx, dashboard);
  declare_routes(t);

  // The web dashboard (anyone; it signs in through the API): GET and HEAD of any path outside
  // /api/ that no route above matches. A path that names no file loads index.html, where the
  // app routes itself (/sync, /users/123), except under /assets/.
  http::RouteOptions from_memory;
  from_memory.run_inline = true;
  router.set_fallback(
      "/*", "api", [&dashboard](http::Request& req) { return dashboard.serve(req); }, std::move(from_memory));

  return router;
}

}  // namespace mladmin::api

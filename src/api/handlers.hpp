#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "api/context.hpp"
#include "api/job_json.hpp"
#include "auth/caller.hpp"
#include "domain/job.hpp"
#include "domain/source.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// Handlers, one file per resource. Each parses, checks, acts and answers; each may throw
// domain::Error, which routes.cpp turns into the error body.

// health.cpp
http::Response healthz(http::Request& req, ApiContext& ctx);
http::Response readyz(http::Request& req, ApiContext& ctx);
/// Prometheus text; public unless `[metrics] public = false` (then ml_admin and admin).
http::Response metrics_text(http::Request& req, ApiContext& ctx);

// auth.cpp
http::Response login(http::Request& req, ApiContext& ctx);
http::Response me(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
/// Checks the bearer token and the user's current state; throws 401 domain::Error.
auth::Caller authenticate(const http::Request& req, ApiContext& ctx);

// users.cpp
http::Response list_users(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response create_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response update_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response bulk_users(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response list_audit(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

// sources.cpp
boost::json::object source_record_json(const domain::JournalEntry& entry);
boost::json::object source_record_json(const domain::Goal& goal);
http::Response list_journal_entries(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response create_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response update_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response list_goals(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response create_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response update_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

// import.cpp
/// The checks of POST /api/import that need no body (query and Content-Type); the route runs
/// them before the upload too. Returns the type of record to import.
domain::SourceType check_import_request(const http::Request& req);
/// Runs check_import_request and takes the one import slot for this request (Request::hold), or
/// refuses with 409 import_running; the route runs it before reading the upload.
void reserve_import(http::Request& req, ApiContext& ctx);
http::Response import_records(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

// sync.cpp
/// Whether the caller reads every job (ml_admin, admin) or only the jobs over their own records
/// (domain/job_access.hpp).
bool reads_all_jobs(const auth::Caller& caller);
bool may_read_job(const auth::Caller& caller, const domain::Job& job);
// events.cpp
http::Response job_events(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
/// Hands a committed job change to the event hub (the engine's listener).
void publish_job_event(events::Hub& hub, const domain::Job& job, bool status_changed,
                       domain::TimestampMs now);
/// Ends the open event streams whose rights are gone (docs/security.md): the user was deleted
/// or disabled, their token was revoked (role or password change), or their role no longer reads
/// what the stream reads. With `user_id`, only that user's streams are checked.
void recheck_stream_rights(ApiContext& ctx, const std::optional<std::string>& user_id = std::nullopt);

/// Runs recheck_stream_rights every `interval` on a thread of its own, for changes made by
/// another process (the command line on the same database).
class StreamRightsWatch final {
 public:
  StreamRightsWatch(ApiContext& ctx, std::chrono::milliseconds interval);
  ~StreamRightsWatch();
  StreamRightsWatch(const StreamRightsWatch&) = delete;
  StreamRightsWatch& operator=(const StreamRightsWatch&) = delete;

 private:
  ApiContext& ctx_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

http::Response start_journal_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response start_goal_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response list_jobs(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response export_jobs(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response list_job_errors(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response cancel_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response pause_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response resume_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response retry_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

// documents.cpp
boost::json::object document_json(const store::Document& doc);
/// Writes an audit entry of a document action by `caller` in the write transaction `w`.
void audit_document_action(store::Writer& w, ApiContext& ctx, const auth::Caller& caller, std::string action,
                           std::optional<std::string> document_id, const boost::json::object& details);
http::Response list_documents(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_document(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_document(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

// stats.cpp
/// GET /api/ml/stats: ml_admin and admin (the route checks the role).
http::Response get_stats(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

// service.cpp
/// GET /api/ml/service: the external ML service's state (docs/ml-service-api.md); ml_admin.
http::Response get_ml_service(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

// document_bulk.cpp
/// POST /api/ml/documents/bulk: delete or re-sync documents by ids or filter; at most 1,000
/// targets answered at once (200, per-document results), more as a tracked job (202, the job).
http::Response bulk_documents(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

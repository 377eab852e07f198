#pragma once

#include <optional>

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "domain/job.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// Sync jobs: starting them, reading them, controlling them (sync.cpp).
/// Whether the caller reads every job (ml_admin, admin) or only the jobs over their own records
/// (domain/job_access.hpp).
bool reads_all_jobs(const auth::Caller& caller);
bool may_read_job(const auth::Caller& caller, const domain::Job& job);

http::Response start_journal_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response start_goal_sync(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response list_jobs(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response export_jobs(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
/// The list and the job answered from the job view without reading the database (for the I/O
/// thread): nothing when the view cannot decide them, and list_jobs / get_job read it then.
std::optional<http::Response> list_jobs_from_view(http::Request& req, const auth::Caller& caller,
                                                  ApiContext& ctx);
std::optional<http::Response> get_job_from_view(http::Request& req, const auth::Caller& caller,
                                                ApiContext& ctx);
http::Response list_job_errors(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response cancel_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response pause_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response resume_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response retry_job(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

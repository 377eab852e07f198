#pragma once

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// User management and the audit log (users.cpp).
http::Response list_users(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response create_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response update_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_user(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response bulk_users(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response list_audit(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

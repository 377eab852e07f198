#pragma once

#include <optional>

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// Signing in and the caller's own account (auth.cpp).
http::Response login(http::Request& req, ApiContext& ctx);
http::Response me(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
/// Checks the bearer token and the user's current state; throws 401 domain::Error.
auth::Caller authenticate(const http::Request& req, ApiContext& ctx);
/// The same without reading the database (for a handler on an I/O thread): nothing when the
/// user's rights are not in memory (accounts::RightsCache::find_cached), and the request must
/// then be authenticated on the handler pool. Throws the same 401 domain::Errors.
std::optional<auth::Caller> authenticate_from_memory(const http::Request& req, ApiContext& ctx);

}  // namespace mladmin::api

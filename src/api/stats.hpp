#pragma once

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "http/message.hpp"

namespace mladmin::api {

/// GET /api/ml/stats: ml_admin and admin (the route checks the role).
http::Response get_stats(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

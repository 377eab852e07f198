#pragma once

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "http/message.hpp"

namespace mladmin::api {

/// GET /api/ml/service: the external ML service's state (docs/ml-service-api.md); ml_admin.
http::Response get_ml_service(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

#pragma once

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// GET /healthz, /readyz and /metrics (health.cpp).
http::Response healthz(http::Request& req, ApiContext& ctx);
http::Response readyz(http::Request& req, ApiContext& ctx);
/// Prometheus text; public unless `[metrics] public = false` (then ml_admin and admin).
http::Response metrics_text(http::Request& req, ApiContext& ctx);

}  // namespace mladmin::api

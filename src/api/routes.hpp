#pragma once

#include "api/context.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"

namespace mladmin::api {

/// The route table: every path, method and required role of the API (SPEC §3), and the web
/// dashboard's files on every other path (SPEC §7). `ctx` and `dashboard` must outlive the router.
http::Router build_router(ApiContext& ctx, const http::StaticFiles& dashboard);

/// Maps an error kind to its HTTP status; the one place that knows the mapping.
int status_of(domain::ErrorKind kind);

/// The error body of SPEC §3 for a domain error.
http::Response error_to_response(const domain::Error& error);

}  // namespace mladmin::api

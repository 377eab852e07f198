#pragma once

#include <string>
#include <vector>

#include "api/context.hpp"
#include "domain/error.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"

namespace mladmin::api {

/// Who may call a route: anyone (no token), or an authenticated caller with at least this role.
enum class Access { anyone, user, ml_admin, admin };
const char* to_string(Access access);

struct RouteInfo {
  std::string method;
  std::string path;  ///< as the router matches it, with ":name" parameters
  Access access;
};

/// Every route of build_router (not the dashboard's fallback), in the order declared.
std::vector<RouteInfo> route_table();

/// The route table: every path, method and required role of the API (docs/openapi.yaml), and the web
/// dashboard's files on every other path (README.md "The web dashboard"). `ctx` and `dashboard` must outlive
/// the router.
http::Router build_router(ApiContext& ctx, const http::StaticFiles& dashboard);

/// Maps an error kind to its HTTP status; the one place that knows the mapping.
int status_of(domain::ErrorKind kind);

/// The error body of docs/openapi.yaml for a domain error.
http::Response error_to_response(const domain::Error& error);

}  // namespace mladmin::api

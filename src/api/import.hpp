#pragma once

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "domain/source.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// POST /api/import: NDJSON source records (import.cpp).
/// The checks of POST /api/import that need no body (query and Content-Type); the route runs
/// them before the upload too. Returns the type of record to import.
domain::SourceType check_import_request(const http::Request& req);
/// Runs check_import_request and takes the one import slot for this request (Request::hold), or
/// refuses with 409 import_running; the route runs it before reading the upload.
void reserve_import(http::Request& req, ApiContext& ctx);
http::Response import_records(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

#pragma once

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "http/message.hpp"

namespace mladmin::api {

/// POST /api/ml/documents/bulk: delete or re-sync documents by ids or filter; at most 1,000
/// targets answered at once (200, per-document results), more as a tracked job (202, the job).
http::Response bulk_documents(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

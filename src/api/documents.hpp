#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// Synced documents: listing, search, one document, deleting one (documents.cpp).
boost::json::object document_json(const store::Document& doc);
/// Writes an audit entry of a document action by `caller` in the write transaction `w`.
void audit_document_action(store::Writer& w, ApiContext& ctx, const auth::Caller& caller, std::string action,
                           std::optional<std::string> document_id, const boost::json::object& details);
http::Response list_documents(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_document(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_document(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

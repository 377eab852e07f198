#pragma once

#include <boost/json/object.hpp>

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "domain/source.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// Source records: journal entries and goals (sources.cpp).
boost::json::object source_record_json(const domain::JournalEntry& entry);
boost::json::object source_record_json(const domain::Goal& goal);
http::Response list_journal_entries(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response create_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response update_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_journal_entry(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response list_goals(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response create_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response get_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response update_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
http::Response delete_goal(http::Request& req, const auth::Caller& caller, ApiContext& ctx);

}  // namespace mladmin::api

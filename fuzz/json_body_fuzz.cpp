// libFuzzer target: JSON request bodies through the decoding the handlers use (api/json.cpp's
// JsonBody, util/json_fields.cpp, sources/records.cpp for the record routes, and the document
// filter of the bulk and export routes). Bad bodies end in domain::Error (a 4xx), nothing else.
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "api/json.hpp"
#include "domain/document_filter.hpp"
#include "domain/document_filter_json.hpp"
#include "domain/error.hpp"
#include "domain/source.hpp"
#include "http/message.hpp"
#include "sources/records.hpp"
#include "util/json_fields.hpp"

namespace {

using mladmin::domain::Error;

// The fields each route's body reader allows (src/api/*.cpp), read with the getters it uses.
const std::initializer_list<std::initializer_list<std::string_view>> kRouteFields = {
    {"email", "password"},                            // POST /api/auth/login
    {"email", "name", "password", "role", "status"},  // POST /api/ml/admin/users
    {"name", "role", "status", "password"},           // PATCH /api/ml/admin/users/:id
    {"ids", "action", "role"},                        // POST /api/ml/admin/users/bulk
    {"mode", "userId", "scope"},                      // POST /api/ml/sync/*
    {"action", "ids", "filter", "all", "dryRun"},     // POST /api/ml/documents/bulk
};

void read_route(const mladmin::util::JsonFields& body, std::initializer_list<std::string_view> names) {
  for (const auto name : names) {
    try {
      (void)body.optional_string(name);
    } catch (const Error&) {
    }
    try {
      (void)body.optional_bool(name);
    } catch (const Error&) {
    }
    try {
      (void)body.required_string(name);
    } catch (const Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mladmin::http::Request req;
  req.method = "POST";
  req.headers.emplace_back("content-type", "application/json; charset=utf-8");
  req.body.assign(reinterpret_cast<const char*>(data), size);

  std::optional<mladmin::api::JsonBody> parsed;
  try {
    parsed.emplace(req);
  } catch (const Error&) {
    return 0;
  }
  for (const auto names : kRouteFields) {
    auto body = *parsed;
    try {
      body.allow(names);
      read_route(body, names);
    } catch (const Error&) {
    }
  }
  // POST/PUT of journal entries and goals.
  try {
    auto body = *parsed;
    body.allow(mladmin::sources::kJournalEntryFields);
    mladmin::domain::JournalEntry entry;
    mladmin::sources::read_fields(body, entry);
  } catch (const Error&) {
  }
  try {
    auto body = *parsed;
    body.allow(mladmin::sources::kGoalFields);
    mladmin::domain::Goal goal;
    mladmin::sources::read_fields(body, goal);
  } catch (const Error&) {
  }
  // The "filter" object of POST /api/ml/documents/bulk and of exports.
  if (const auto* filter = parsed->get("filter"); filter != nullptr && filter->is_object()) {
    try {
      const auto spec = mladmin::domain::filter_spec_from_json(filter->as_object(), "filter.");
      (void)mladmin::domain::compile_filter(spec, "filter.");
      (void)mladmin::domain::filter_spec_json(spec);
    } catch (const Error&) {
    }
  }
  return 0;
}

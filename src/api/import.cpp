// Bulk import of journal entries and goals (docs/openapi.yaml POST /api/import): an NDJSON body, spooled
// to a temporary file by the server, read line by line into the store in batches.
#include "api/import.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <fstream>
#include <memory>
#include <sstream>

#include "api/json.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "sources/import.hpp"
#include "store/store.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;

namespace {

/// NDJSON under its usual names. Plain application/json is refused on purpose: a JSON array or
/// a pretty-printed object sent by mistake would fail line by line with confusing reasons.
bool is_ndjson(std::string_view content_type) {
  return media_type_is(content_type, "application/x-ndjson") ||
         media_type_is(content_type, "application/ndjson") ||
         media_type_is(content_type, "application/jsonl");
}

boost::json::object report_json(const sources::ImportReport& r) {
  boost::json::array errors;
  for (const auto& e : r.errors) {
    errors.push_back(boost::json::object{{"line", e.line}, {"reason", e.reason}});
  }
  return {{"type", domain::to_string(r.type)},
          {"lines", r.lines},
          {"imported", r.imported},
          {"created", r.created},
          {"updated", r.updated},
          {"failed", r.failed},
          {"errors", std::move(errors)},
          {"errorsOmitted", r.failed - r.errors.size()}};
}

/// The one import slot, taken by reserve_import and given back when the request is done.
class ImportSlot final {
 public:
  explicit ImportSlot(std::atomic<bool>& running) : running_(running) {}
  ImportSlot(const ImportSlot&) = delete;
  ImportSlot& operator=(const ImportSlot&) = delete;
  ~ImportSlot() { running_ = false; }

 private:
  std::atomic<bool>& running_;
};

}  // namespace

void reserve_import(http::Request& req, ApiContext& ctx) {
  check_import_request(req);
  // One import at a time: each holds a handler thread for as long as it runs, and writes are
  // serialized anyway, so a second one would only take another thread from everyone else. The
  // slot is taken before the upload is read, so that a second upload of up to import_max_bytes
  // is refused before it is stored rather than after (docs/security.md).
  bool expected = false;
  if (!ctx.import_running.compare_exchange_strong(expected, true)) {
    throw std::move(Error(ErrorKind::conflict, "import_running",
                          "another import is running; send this one again when it has finished")
                        .retry_after(5));
  }
  req.hold = std::make_shared<ImportSlot>(ctx.import_running);
}

domain::SourceType check_import_request(const http::Request& req) {
  allow_params(req, {"type"});
  const auto type_text = req.query_param("type");
  if (!type_text) {
    throw domain::field_error("type", "is required: journal_entries or goals");
  }
  const auto type = domain::parse_source_type(*type_text);
  if (!type) {
    throw domain::field_error("type", "must be journal_entries or goals");
  }
  const auto ct = req.header("content-type");
  if (!ct || !is_ndjson(*ct)) {
    throw Error(ErrorKind::unsupported_media_type, "unsupported_media_type",
                "the request body must be NDJSON (one JSON object per line), sent with "
                "'Content-Type: application/x-ndjson'");
  }
  return *type;
}

http::Response import_records(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  const auto type = check_import_request(req);
  if (!req.hold) {
    reserve_import(req, ctx);  // the route reserves before the upload; this covers any other way in
  }
  std::ifstream file;
  if (!req.body_file.empty()) {
    file.open(req.body_file, std::ios::binary);
    if (!file) {
      throw Error(ErrorKind::internal, "internal", "the spooled request body cannot be read");
    }
  }
  std::istringstream inline_body;
  if (req.body_file.empty()) {
    inline_body.str(req.body);
  }
  std::istream& in = req.body_file.empty() ? static_cast<std::istream&>(inline_body) : file;
  sources::ImportOptions options;
  options.actor_id = caller.id;
  options.actor_label = caller.email;
  const auto report = sources::import_ndjson(in, type, ctx.store, ctx.clock, ctx.ids, options);
  return json_response(200, report_json(report));
}

}  // namespace mladmin::api

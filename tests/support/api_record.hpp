#pragma once

#include <string>

namespace mladmin::test {

/// When MLADMIN_API_RECORD names a folder, appends one exchange (method, the path without its
/// query, status, Content-Type, body) as a JSON line to <folder>/<pid>.ndjson; otherwise does
/// nothing. The api.contract test (tests/api_contract.cmake) checks every recorded body against
/// docs/openapi.yaml.
void record_api_exchange(const std::string& method, const std::string& target, int status,
                         const std::string& content_type, const std::string& body);

/// Likewise, one event of GET /api/ml/sync/events (its name and data), which the api.contract test
/// checks against the schema docs/openapi.yaml gives that event (x-mladmin-events).
void record_api_event(const std::string& event, const std::string& data);

}  // namespace mladmin::test

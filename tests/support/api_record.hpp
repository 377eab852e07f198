#pragma once

#include <string>

namespace mladmin::test {

/// When MLADMIN_API_RECORD names a folder, appends one exchange (method, the path without its
/// query, status, Content-Type, body) as a JSON line to <folder>/<pid>.ndjson; otherwise does
/// nothing. The api.contract test (tests/api_contract.cmake) checks every recorded body against
/// docs/openapi.yaml.
void record_api_exchange(const std::string& method, const std::string& target, int status,
                         const std::string& content_type, const std::string& body);

}  // namespace mladmin::test

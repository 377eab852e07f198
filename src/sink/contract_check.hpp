#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

// `mladmin ml-service check`: probes an ML service with real batches and reads back what it holds,
// rule by rule (docs/ml-service-api.md, "Checking a service").
namespace mladmin::sink {

struct ContractCheckOptions {
  std::string url;    ///< the base URL, as [ml_service] url
  std::string token;  ///< bearer token; empty: none sent (and the token rule is skipped)
  std::string ca_file;
  std::chrono::milliseconds timeout{10000};  ///< per request
};

/// Sends the probe batches (documents named mladmin-check-<random>-*, deleted again at the end)
/// and prints one line per rule to `out`; true when every rule holds. Throws std::runtime_error
/// when the URL is not http(s).
bool check_contract(const ContractCheckOptions& options, std::ostream& out);

}  // namespace mladmin::sink

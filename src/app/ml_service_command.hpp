#pragma once

#include <string>

namespace mladmin::app {

struct MlServiceCheckFlags {
  std::string url;
  bool token_stdin = false;  ///< read the token from the first line of stdin
  std::string ca_file;
};

/// `mladmin ml-service check`: 0 when the service keeps every rule of docs/ml-service-api.md,
/// 1 when a rule fails, 2 when the check cannot run. Without --token-stdin the token comes from
/// MLADMIN_ML_SERVICE_TOKEN (or none is sent).
int run_ml_service_check(const MlServiceCheckFlags& flags);

}  // namespace mladmin::app

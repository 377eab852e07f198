#include "app/ml_service_command.hpp"

#include <cstdlib>
#include <iostream>

#include "sink/contract_check.hpp"

namespace mladmin::app {

int run_ml_service_check(const MlServiceCheckFlags& flags) {
  sink::ContractCheckOptions options;
  options.url = flags.url;
  options.ca_file = flags.ca_file;
  if (flags.token_stdin) {
    std::getline(std::cin, options.token);
    if (!options.token.empty() && options.token.back() == '\r') {
      options.token.pop_back();
    }
  } else if (const char* v = std::getenv("MLADMIN_ML_SERVICE_TOKEN"); v != nullptr) {
    options.token = v;
  }
  try {
    return sink::check_contract(options, std::cout) ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "mladmin: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace mladmin::app

// libFuzzer target: the TOML config file (app/config.cpp, with toml++ compiled into this build so
// that its parser is instrumented too). A bad file ends in std::runtime_error naming the problem.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "app/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // load_config_file reads a path, as `mladmin serve --config` does.
  static const std::string path = "/tmp/mladmin-config-fuzz-" + std::to_string(::getpid()) + ".toml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  mladmin::app::Config config;
  try {
    mladmin::app::load_config_file(path, config);
    mladmin::app::validate(config);
  } catch (const std::runtime_error&) {
  }
  return 0;
}

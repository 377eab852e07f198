#include "support/probes.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace mladmin::test {

namespace {

/// A "Key:  N kB" line of /proc/PID/status, in bytes.
std::size_t status_bytes(pid_t pid, const std::string& wanted) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == wanted) {
      std::size_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 20, '\n');
  }
  throw std::runtime_error("no " + wanted + " in /proc/" + std::to_string(pid) + "/status");
}

}  // namespace

std::size_t resident_bytes(pid_t pid) {
  return status_bytes(pid, "VmRSS:");
}

std::size_t peak_resident_bytes(pid_t pid) {
  return status_bytes(pid, "VmHWM:");
}

bool reset_peak_resident(pid_t pid) {
  std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
  clear << "5" << std::flush;
  return static_cast<bool>(clear);
}

std::string asan_options_with_small_quarantine() {
  const char* env = std::getenv("ASAN_OPTIONS");
  const std::string asan = env != nullptr ? env : "";
  return asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=8";
}

std::optional<double> metric_sample(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') {
      const auto start = pos + series.size() + 1;
      return std::stod(text.substr(start, text.find('\n', start) - start));
    }
    pos += series.size();
  }
  return std::nullopt;
}

}  // namespace mladmin::test

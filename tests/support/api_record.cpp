#include "support/api_record.hpp"

#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace mladmin::test {

namespace {

/// Appends `line` to <MLADMIN_API_RECORD>/<pid>.ndjson; nothing when the variable is unset.
void append_line(const boost::json::object& line) {
  static const char* const folder = std::getenv("MLADMIN_API_RECORD");
  if (folder == nullptr || *folder == '\0') {
    return;
  }
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  static std::ofstream out = [] {
    std::filesystem::create_directories(folder);
    return std::ofstream(std::filesystem::path(folder) / (std::to_string(::getpid()) + ".ndjson"),
                         std::ios::app | std::ios::binary);
  }();
  out << boost::json::serialize(line) << '\n' << std::flush;
}

/// A body of many MiB (a load test's) is left out: the checker skips it.
constexpr std::size_t kMaxBody = 4 << 20;

}  // namespace

void record_api_exchange(const std::string& method, const std::string& target, int status,
                         const std::string& content_type, const std::string& body) {
  const bool keep = body.size() <= kMaxBody;
  append_line({{"method", method},
               {"path", target.substr(0, target.find('?'))},
               {"status", status},
               {"contentType", content_type},
               {"body", keep ? body : std::string()},
               {"bodySkipped", !keep}});
}

void record_api_event(const std::string& event, const std::string& data) {
  const bool keep = data.size() <= kMaxBody;
  append_line({{"event", event}, {"data", keep ? data : std::string()}, {"bodySkipped", !keep}});
}

}  // namespace mladmin::test

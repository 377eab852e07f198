#include "support/api_record.hpp"

#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace mladmin::test {

void record_api_exchange(const std::string& method, const std::string& target, int status,
                         const std::string& content_type, const std::string& body) {
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
  // A body of many MiB (a load test's) is left out: the checker skips it.
  constexpr std::size_t kMaxBody = 4 << 20;
  const bool keep = body.size() <= kMaxBody;
  const boost::json::object line{{"method", method},
                                 {"path", target.substr(0, target.find('?'))},
                                 {"status", status},
                                 {"contentType", content_type},
                                 {"body", keep ? body : std::string()},
                                 {"bodySkipped", !keep}};
  out << boost::json::serialize(line) << '\n' << std::flush;
}

}  // namespace mladmin::test

#include "support/job_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace mladmin::test {

namespace json = boost::json;

json::value parse_or_null(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value() : v;
}

std::string str(const json::value& v, const char* key) {
  return std::string(v.at(key).as_string());
}

std::int64_t num(const json::value& v, const char* key) {
  return v.at(key).to_number<std::int64_t>();
}

std::string job_path(const std::string& id, const std::string& action) {
  return "/api/ml/sync/job/" + id + (action.empty() ? "" : "/" + action);
}

bool finished(const json::value& job) {
  const auto s = str(job, "status");
  return s == "completed" || s == "failed" || s == "cancelled";
}

::testing::AssertionResult counts_add_up(const json::value& job) {
  const auto total = num(job, "totalItems");
  const auto processed = num(job, "processedItems");
  const auto sum = num(job, "syncedItems") + num(job, "skippedItems") + num(job, "failedItems");
  if (processed != sum || processed > total) {
    return ::testing::AssertionFailure() << "processedItems " << processed << ", synced+skipped+failed "
                                         << sum << ", totalItems " << total << " in " << json::serialize(job);
  }
  const auto progress = num(job, "progress");
  std::int64_t expected = 0;  // an unfinished job with nothing counted yet
  if (total > 0) {
    expected = 100 * processed / total;  // floor(100 * processed / total)…
    const auto s = str(job, "status");
    if (s != "completed" && s != "failed" && s != "cancelled" && expected > 99) {
      expected = 99;  // …and at most 99 before the job finished (docs/sync-engine.md)
    }
  } else if (str(job, "status") == "completed") {
    expected = 100;  // nothing to do is done
  }
  if (progress != expected || progress < 0 || progress > 100) {
    return ::testing::AssertionFailure()
           << "progress " << progress << " but expected " << expected << " from " << processed << "/" << total
           << " in " << json::serialize(job);
  }
  if (num(job, "errorCount") != num(job, "failedItems")) {
    return ::testing::AssertionFailure() << "errorCount " << num(job, "errorCount") << " != failedItems "
                                         << num(job, "failedItems") << " in " << json::serialize(job);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace mladmin::test

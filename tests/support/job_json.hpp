#pragma once

#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace mladmin::test {

/// The routes that start syncs.
inline constexpr const char* kJournalSync = "/api/ml/sync/journal-entries";
inline constexpr const char* kGoalSync = "/api/ml/sync/goals";

/// The password of every account the integration fixture creates.
inline constexpr const char* kTestPassword = "Copper-Willow-61-Harbor";

/// `text` parsed as JSON, or a null value when it is not JSON.
boost::json::value parse_or_null(std::string_view text);

/// `v[key]` as a string or an integer (throws when it is missing or of another kind).
std::string str(const boost::json::value& v, const char* key);
std::int64_t num(const boost::json::value& v, const char* key);

/// /api/ml/sync/job/ID, or /api/ml/sync/job/ID/ACTION.
std::string job_path(const std::string& id, const std::string& action = "");

/// completed, failed or cancelled.
bool finished(const boost::json::value& job);

/// The counters a client sees add up (docs/testing.md): processed = synced + skipped +
/// failed ≤ total; progress = round(100 · processed / total) (100 for a completed job with nothing
/// to do, 0 for an unfinished one with nothing counted); errorCount = failedItems.
::testing::AssertionResult counts_add_up(const boost::json::value& job);

}  // namespace mladmin::test

// `mladmin seed-demo` (README.md "Running it"): deterministic content for a seed, and a share of records that
// fail sync validation so that failures show.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

std::vector<std::string> contents(const std::string& url) {
  auto store = store::open_store(url, 1);
  std::vector<std::string> out;
  store::SourceQuery q;
  q.limit = 500;
  for (;;) {
    auto page = store->read_value([&](store::Reader& r) { return r.list_journal_entries(q); });
    for (const auto& e : page.items) {
      out.push_back(e.title + "|" + e.body + "|" + std::to_string(e.mood.value_or(-1)));
    }
    if (!page.has_more) {
      break;
    }
    q.before = std::make_pair(page.items.back().created_at, page.items.back().id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

CommandResult seed(const std::string& url, const std::string& seed, const std::string& ratio) {
  return run_mladmin({"seed-demo", "--database", url, "--users", "3", "--entries-per-user", "40",
                      "--goals-per-user", "0", "--invalid-ratio", ratio, "--seed", seed});
}

TEST(SeedDemoTest, SameSeedGivesTheSameContentAndAnotherSeedDoesNot) {
  TempDir dir;
  const auto a = "sqlite://" + dir.file("a.db");
  const auto b = "sqlite://" + dir.file("b.db");
  const auto c = "sqlite://" + dir.file("c.db");
  ASSERT_EQ(seed(a, "7", "0.1").exit_code, 0);
  ASSERT_EQ(seed(b, "7", "0.1").exit_code, 0);
  ASSERT_EQ(seed(c, "8", "0.1").exit_code, 0);
  const auto ca = contents(a);
  EXPECT_EQ(ca.size(), 120u);
  EXPECT_EQ(ca, contents(b));
  EXPECT_NE(ca, contents(c));
}

TEST(SeedDemoTest, InvalidShareFailsInASyncOneByOne) {
  IntegrationServer server;
  const auto out = seed(server.database_url(), "3", "0.25");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const auto end = out.out.find(" invalid on purpose");
  const auto open = out.out.rfind('(', end);
  ASSERT_TRUE(end != std::string::npos && open != std::string::npos) << out.out;
  const int invalid = std::stoi(out.out.substr(open + 1, end - open - 1));
  EXPECT_GT(invalid, 0);
  EXPECT_LT(invalid, 120);

  const auto job = server.run_job(kJournalSync, R"({"scope":"all","mode":"full"})", server.ml_admin().token);
  ASSERT_EQ(job.at("status").as_string(), "completed");
  EXPECT_EQ(job.at("totalItems").as_int64(), 120);
  EXPECT_EQ(job.at("failedItems").as_int64(), invalid);
  EXPECT_EQ(job.at("syncedItems").as_int64(), 120 - invalid);
}

}  // namespace
}  // namespace mladmin::test

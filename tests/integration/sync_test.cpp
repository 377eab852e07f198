// Sync jobs over real HTTP (SPEC §2, §3 sync rows; issue 3 "Tests"): starting a sync answers
// 202 and the job completes with counts that add up at every observation; invalid records fail
// item by item with their errors paged; incremental syncs take exactly what changed; one active
// job per (scope, type); the state machine with its illegal transitions; a server killed or
// stopped mid-sync resumes the job after a restart, with every valid record present exactly
// once; and who may start and see which jobs.
//
// Large data is written straight into the server's database (the API would refuse the invalid
// records, and 200,000 POSTs would take too long). Jobs are watched by polling GET
// /api/ml/sync/job/:id with a deadline.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "Copper-Willow-61-Harbor";
constexpr auto kJobDeadline = 120s;
/// Between two polls of a job: short against any job here, long enough not to starve the server
/// of the two cores it shares with the test.
constexpr auto kPollInterval = 20ms;

constexpr const char* kJournalSync = "/api/ml/sync/journal-entries";
constexpr const char* kGoalSync = "/api/ml/sync/goals";

const char* const kJobFields[] = {
    "id",          "userId",      "type",        "status",         "totalItems",   "processedItems",
    "syncedItems", "failedItems", "progress",    "errors",         "startTime",    "endTime",
    "duration",    "scope",       "scopeUserId", "mode",           "skippedItems", "errorCount",
    "attempt",     "createdAt",   "updatedAt",   "itemsPerSecond", "etaSeconds",   "cancelRequested",
};

std::string str(const json::value& v, const char* key) {
  return std::string(v.at(key).as_string());
}

std::int64_t num(const json::value& v, const char* key) {
  return v.at(key).to_number<std::int64_t>();
}

std::string job_path(const std::string& id, const std::string& action = "") {
  return "/api/ml/sync/job/" + id + (action.empty() ? "" : "/" + action);
}

std::string details_field(const HttpResponse& res) {
  const auto v = res.json();
  const auto* details = v.at("error").as_object().if_contains("details");
  if (details == nullptr || !details->is_object() || !details->as_object().contains("field")) {
    return "";
  }
  return str(*details, "field");
}

/// The counters a client sees must add up, and progress must follow from them (SPEC §2).
::testing::AssertionResult counts_add_up(const json::value& job) {
  const auto total = num(job, "totalItems");
  const auto processed = num(job, "processedItems");
  const auto sum = num(job, "syncedItems") + num(job, "skippedItems") + num(job, "failedItems");
  if (processed != sum) {
    return ::testing::AssertionFailure() << "processedItems " << processed << " != synced+skipped+failed "
                                         << sum << " in " << json::serialize(job);
  }
  if (processed > total) {
    return ::testing::AssertionFailure() << "processedItems " << processed << " > totalItems " << total;
  }
  const auto progress = num(job, "progress");
  const auto status = str(job, "status");
  std::int64_t expected = 0;  // an unfinished job with nothing counted yet
  if (total > 0) {
    expected = 100 * processed / total;  // floor(100 * processed / total)…
    const bool done = status == "completed" || status == "failed" || status == "cancelled";
    if (!done && expected > 99) {
      expected = 99;  // …and at most 99 before the job finished (docs/sync-engine.md)
    }
  } else if (status == "completed") {
    expected = 100;  // nothing to do is done
  }
  if (progress != expected || progress < 0 || progress > 100) {
    return ::testing::AssertionFailure() << "progress " << progress << " but expected " << expected
                                         << " from " << processed << "/" << total;
  }
  return ::testing::AssertionSuccess();
}

bool finished(const json::value& job) {
  const auto s = str(job, "status");
  return s == "completed" || s == "failed" || s == "cancelled";
}

struct Account {
  std::string id;
  std::string token;
};

class SyncTest : public ::testing::Test {
 protected:
  Account add_account(ServerProcess& server, const std::string& email, const std::string& role) {
    Account a;
    a.id = server.add_user(email, kPassword, role, "Sync " + role);
    HttpClient c(server.port());
    a.token = c.login(email, kPassword);
    return a;
  }

  /// POSTs a start and expects 202 with a queued or running job; returns the job.
  json::value start(HttpClient& c, const char* path, const std::string& body, const std::string& token) {
    auto res = c.post(path, body, token);
    EXPECT_EQ(res.status, 202) << path << " " << body << " -> " << res.body;
    auto job = res.json();
    if (res.status != 202 || !job.is_object()) {
      return json::value();
    }
    const auto status = str(job, "status");
    EXPECT_TRUE(status == "queued" || status == "running") << status;
    EXPECT_EQ(res.header("location"), job_path(str(job, "id")));
    return job;
  }

  json::value get_job(HttpClient& c, const std::string& id, const std::string& token) {
    auto res = c.get(job_path(id), token);
    EXPECT_EQ(res.status, 200) << res.body;
    return res.json();
  }

  /// Polls the job until `done` holds or the deadline passes, checking on every observation
  /// that its counts add up. Returns the last observation.
  json::value poll(HttpClient& c, const std::string& id, const std::string& token,
                   const std::function<bool(const json::value&)>& done, const std::string& what,
                   std::chrono::seconds deadline = kJobDeadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    bool reported = false;
    for (;;) {
      auto res = c.get(job_path(id), token);
      if (res.status != 200) {
        ADD_FAILURE() << "GET job " << id << " -> " << res.status << " " << res.body;
        return json::value();
      }
      auto job = res.json();
      if (!reported) {
        auto ok = counts_add_up(job);
        if (!ok) {
          ADD_FAILURE() << ok.message();
          reported = true;  // one report is enough
        }
      }
      if (done(job)) {
        return job;
      }
      if (std::chrono::steady_clock::now() > until) {
        ADD_FAILURE() << "job " << id << " did not become " << what << " in time; last seen "
                      << json::serialize(job);
        return job;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
  }

  json::value wait_finished(HttpClient& c, const std::string& id, const std::string& token) {
    return poll(c, id, token, finished, "finished");
  }

  /// Waits until the job is running and has checkpointed some of its items (at least
  /// `min_fraction` of them, and at least one), but not all.
  json::value wait_midway(HttpClient& c, const std::string& id, const std::string& token,
                          double min_fraction = 0) {
    return poll(
        c, id, token,
        [&](const json::value& j) {
          const auto processed = num(j, "processedItems");
          const auto total = num(j, "totalItems");
          return finished(j) || (str(j, "status") == "running" && processed > 0 && processed < total &&
                                 static_cast<double>(processed) >= min_fraction * static_cast<double>(total));
        },
        "running mid-way");
  }

  static std::int64_t documents(const ServerProcess& server, std::optional<domain::SourceType> type) {
    auto store = store::open_store(server.database_url(), 1);
    return store->read_value([&](store::Reader& r) { return r.count_documents(type); });
  }

  /// Documents whose source record exists, is live and belongs to the same user: what "every
  /// valid record is present" means, counted from the records' side.
  static std::int64_t documents_matching_live_entries(const ServerProcess& server) {
    return query_int(server.database_url(),
                     "SELECT count(*) FROM documents d JOIN journal_entries j ON j.id = d.source_id "
                     "WHERE d.source_type = 'journal_entries' AND j.deleted_at IS NULL AND "
                     "j.user_id = d.user_id");
  }
};

// ---------------------------------------------------------------------------------------------

TEST_F(SyncTest, OwnSyncAnswers202AndCompletesWithOneDocumentPerRecord) {
  ServerProcess server;
  const auto alice = add_account(server, "alice@sync.test", "user");
  HttpClient c(server.port());
  constexpr int kEntries = 25;
  for (int i = 0; i < kEntries; ++i) {
    auto res = c.post("/api/journal-entries",
                      json::serialize(json::object{{"title", "Day " + std::to_string(i)},
                                                   {"body", "Notes for   day\n" + std::to_string(i)},
                                                   {"mood", 1 + i % 5}}),
                      alice.token);
    ASSERT_EQ(res.status, 201) << res.body;
  }

  const auto queued = start(c, kJournalSync, "{}", alice.token);
  ASSERT_TRUE(queued.is_object());
  for (const char* field : kJobFields) {
    EXPECT_TRUE(queued.as_object().contains(field))
        << "missing " << field << " in " << json::serialize(queued);
  }
  EXPECT_EQ(str(queued, "userId"), alice.id);
  EXPECT_EQ(str(queued, "type"), "journal_entries");
  EXPECT_EQ(str(queued, "scope"), "user");
  EXPECT_EQ(str(queued, "scopeUserId"), alice.id);
  EXPECT_EQ(str(queued, "mode"), "incremental");
  EXPECT_EQ(num(queued, "attempt"), 1);
  EXPECT_FALSE(queued.at("cancelRequested").as_bool());
  EXPECT_TRUE(queued.at("errors").is_array());
  EXPECT_TRUE(counts_add_up(queued));

  const auto id = str(queued, "id");
  const auto done = wait_finished(c, id, alice.token);
  ASSERT_TRUE(done.is_object());
  for (const char* field : kJobFields) {
    EXPECT_TRUE(done.as_object().contains(field)) << "missing " << field;
  }
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(num(done, "totalItems"), kEntries);
  EXPECT_EQ(num(done, "processedItems"), kEntries);
  EXPECT_EQ(num(done, "syncedItems"), kEntries);
  EXPECT_EQ(num(done, "failedItems"), 0);
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(num(done, "errorCount"), 0);
  EXPECT_TRUE(done.at("errors").as_array().empty());
  EXPECT_TRUE(done.at("startTime").is_string());
  EXPECT_TRUE(done.at("endTime").is_string());
  EXPECT_GE(num(done, "duration"), 0);
  EXPECT_TRUE(done.at("etaSeconds").is_null());

  EXPECT_EQ(documents(server, domain::SourceType::journal_entries), kEntries);
  EXPECT_EQ(documents(server, domain::SourceType::goals), 0);
  EXPECT_EQ(documents_matching_live_entries(server), kEntries);
  // The document carries the normalized text of its record.
  EXPECT_EQ(query_text(server.database_url(),
                       "SELECT d.text FROM documents d JOIN journal_entries j ON j.id = d.source_id "
                       "WHERE j.title = ?",
                       "Day 7"),
            "Notes for day 7");
}

TEST_F(SyncTest, InvalidRecordsFailOneByOneWithTheirErrorsPaged) {
  ServerProcess server;
  const auto alice = add_account(server, "alice@sync.test", "user");
  constexpr int kValid = 10;
  constexpr int kPerKind = 9;  // five kinds: 45 bad records, more than the 20 shown inline
  struct Kind {
    const char* name;
    const char* reason;  // what the item error says
    std::function<void(domain::JournalEntry&)> spoil;
  };
  const std::vector<Kind> kinds = {
      {"empty-body", "body is empty", [](domain::JournalEntry& e) { e.body = ""; }},
      {"blank-title", "title is empty", [](domain::JournalEntry& e) { e.title = " \t\n "; }},
      {"mood-9", "mood 9 is outside 1-5", [](domain::JournalEntry& e) { e.mood = 9; }},
      {"huge-body", "longer than 64 KiB",
       [](domain::JournalEntry& e) { e.body = std::string(65 * 1024, 'a'); }},
      {"bad-utf8", "not valid UTF-8", [](domain::JournalEntry& e) { e.body = "caf\xC3 \xFF\xFE"; }},
  };
  std::map<std::string, std::string> bad;  // item id -> expected reason
  seed(server.database_url(), [&](store::Writer& w) {
    for (int i = 0; i < kValid; ++i) {
      auto e = valid_journal_entry("good-" + std::to_string(i), alice.id);
      w.save_journal_entry(e);
    }
    for (int i = 0; i < kPerKind; ++i) {
      for (const auto& kind : kinds) {
        auto e = valid_journal_entry(std::string(kind.name) + "-" + std::to_string(i), alice.id);
        kind.spoil(e);
        w.save_journal_entry(e);
        bad[e.id] = kind.reason;
      }
    }
  });
  ASSERT_EQ(bad.size(), 45u);

  HttpClient c(server.port());
  const auto job = start(c, kJournalSync, R"({"mode":"full"})", alice.token);
  ASSERT_TRUE(job.is_object());
  const auto id = str(job, "id");
  const auto done = wait_finished(c, id, alice.token);
  EXPECT_EQ(str(done, "status"), "completed");  // item failures do not fail the job
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(num(done, "totalItems"), kValid + 45);
  EXPECT_EQ(num(done, "failedItems"), 45);
  EXPECT_EQ(num(done, "errorCount"), 45);
  EXPECT_EQ(num(done, "syncedItems"), kValid);
  EXPECT_EQ(num(done, "skippedItems"), 0);

  const auto& inline_errors = done.at("errors").as_array();
  EXPECT_EQ(inline_errors.size(), 20u);
  for (const auto& e : inline_errors) {
    const auto item = str(e, "itemId");
    ASSERT_TRUE(bad.contains(item)) << item;
    EXPECT_NE(str(e, "reason").find(bad[item]), std::string::npos) << str(e, "reason");
    EXPECT_TRUE(e.at("at").is_string());
  }

  // All 45 through the errors endpoint, 20 at a time.
  std::vector<std::size_t> page_sizes;
  std::set<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto res = c.get(job_path(id, "errors") + "?limit=20" + (cursor.empty() ? "" : "&cursor=" + cursor),
                     alice.token);
    ASSERT_EQ(res.status, 200) << res.body;
    const auto body = res.json();
    EXPECT_EQ(num(body, "total"), 45);
    const auto& items = body.at("items").as_array();
    page_sizes.push_back(items.size());
    for (const auto& e : items) {
      const auto item = str(e, "itemId");
      EXPECT_TRUE(seen.insert(item).second) << "listed twice: " << item;
      ASSERT_TRUE(bad.contains(item)) << item;
      EXPECT_NE(str(e, "reason").find(bad[item]), std::string::npos)
          << item << ": " << str(e, "reason") << " (expected " << bad[item] << ")";
      EXPECT_TRUE(e.at("at").is_string());
    }
    if (body.at("nextCursor").is_null()) {
      break;
    }
    cursor = str(body, "nextCursor");
  }
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{20, 20, 5}));
  EXPECT_EQ(seen.size(), bad.size());

  EXPECT_EQ(documents(server, domain::SourceType::journal_entries), kValid);
  EXPECT_EQ(
      query_int(server.database_url(), "SELECT count(*) FROM documents WHERE source_id NOT LIKE 'good-%'"),
      0);
}

TEST_F(SyncTest, IncrementalSyncTakesExactlyTheEditsDeletesAndAdds) {
  ServerProcess server;
  const auto alice = add_account(server, "alice@sync.test", "user");
  HttpClient c(server.port());
  const auto auth = [&](const std::string& token) {
    return HttpClient::Headers{{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}};
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    auto res = c.post("/api/journal-entries",
                      json::serialize(json::object{{"title", "Entry " + std::to_string(i)},
                                                   {"body", "Original text " + std::to_string(i)}}),
                      alice.token);
    ASSERT_EQ(res.status, 201) << res.body;
    ids.push_back(str(res.json(), "id"));
  }
  auto run = [&](const std::string& body) {
    const auto job = start(c, kJournalSync, body, alice.token);
    EXPECT_TRUE(job.is_object());
    if (!job.is_object()) {
      return json::value();
    }
    auto done = wait_finished(c, str(job, "id"), alice.token);
    EXPECT_EQ(str(done, "status"), "completed");
    EXPECT_EQ(num(done, "progress"), 100);
    return done;
  };

  const auto first = run("{}");
  EXPECT_EQ(num(first, "totalItems"), 10);
  EXPECT_EQ(num(first, "syncedItems"), 10);
  const auto before = documents(server, domain::SourceType::journal_entries);
  EXPECT_EQ(before, 10);

  // Edit 3, delete 2, add 4, all through the API.
  for (int i = 0; i < 3; ++i) {
    auto res = c.request("PUT", "/api/journal-entries/" + ids[i],
                         json::serialize(json::object{{"title", "Entry " + std::to_string(i)},
                                                      {"body", "Edited text " + std::to_string(i)}}),
                         auth(alice.token));
    ASSERT_EQ(res.status, 200) << res.body;
  }
  for (int i = 3; i < 5; ++i) {
    ASSERT_EQ(c.del("/api/journal-entries/" + ids[i], alice.token).status, 204);
  }
  std::vector<std::string> added;
  for (int i = 0; i < 4; ++i) {
    auto res =
        c.post("/api/journal-entries",
               json::serialize(json::object{{"title", "New " + std::to_string(i)}, {"body", "Fresh text"}}),
               alice.token);
    ASSERT_EQ(res.status, 201) << res.body;
    added.push_back(str(res.json(), "id"));
  }

  const auto second = run("{}");
  EXPECT_EQ(str(second, "mode"), "incremental");
  EXPECT_EQ(num(second, "totalItems"), 9);
  EXPECT_EQ(num(second, "syncedItems"), 9);
  EXPECT_EQ(num(second, "skippedItems"), 0);
  EXPECT_EQ(num(second, "failedItems"), 0);
  EXPECT_EQ(documents(server, domain::SourceType::journal_entries), before - 2 + 4);
  EXPECT_EQ(documents_matching_live_entries(server), before - 2 + 4);
  // The documents match the source: edits carry the new text, deletes are gone, adds are there.
  const auto doc_text = [&](const std::string& source_id) {
    return query_text(server.database_url(),
                      "SELECT text FROM documents WHERE source_type = 'journal_entries' AND source_id = ?",
                      source_id);
  };
  EXPECT_EQ(doc_text(ids[0]), "Edited text 0");
  EXPECT_EQ(doc_text(ids[2]), "Edited text 2");
  EXPECT_EQ(doc_text(ids[3]), "");
  EXPECT_EQ(doc_text(ids[4]), "");
  EXPECT_EQ(doc_text(ids[5]), "Original text 5");
  for (const auto& id : added) {
    EXPECT_EQ(doc_text(id), "Fresh text");
  }

  const auto third = run("{}");
  EXPECT_EQ(num(third, "totalItems"), 0);
  EXPECT_EQ(num(third, "processedItems"), 0);

  // A full sync goes through every record again, tombstones included, and finds nothing changed.
  const auto full = run(R"({"mode":"full"})");
  EXPECT_EQ(str(full, "mode"), "full");
  EXPECT_EQ(num(full, "totalItems"), 12 + 2);
  EXPECT_EQ(num(full, "processedItems"), 12 + 2);
  EXPECT_EQ(num(full, "skippedItems"), 12 + 2);
  EXPECT_EQ(num(full, "syncedItems"), 0);
  EXPECT_EQ(num(full, "failedItems"), 0);
  EXPECT_EQ(documents(server, domain::SourceType::journal_entries), 12);
}

TEST_F(SyncTest, OneActiveJobPerScopeAndTypeWhileAnotherTypeRunsAlongside) {
  ServerProcess server;
  const auto ml = add_account(server, "ml@sync.test", "ml_admin");
  const auto alice = add_account(server, "alice@sync.test", "user");
  constexpr std::int64_t kEntries = 100'000;
  constexpr std::int64_t kGoals = 3'000;
  seed_journal_entries(server.database_url(), alice.id, kEntries, "je-");
  seed_goals(server.database_url(), alice.id, kGoals, "goal-");

  HttpClient c(server.port());
  const auto journal = start(c, kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(journal.is_object());
  const auto journal_id = str(journal, "id");

  for (const char* body : {R"({"scope":"all","mode":"full"})", R"({"scope":"all"})"}) {
    auto second = c.post(kJournalSync, body, ml.token);
    EXPECT_EQ(second.status, 409) << second.body;
    EXPECT_EQ(second.error_code(), "sync_already_active");
    EXPECT_EQ(str(second.json().at("error").at("details"), "activeJobId"), journal_id);
  }

  const auto goals = start(c, kGoalSync, R"({"scope":"all"})", ml.token);
  ASSERT_TRUE(goals.is_object());
  const auto goals_id = str(goals, "id");
  EXPECT_NE(goals_id, journal_id);
  // The journal sync is still going while the goals sync runs.
  {
    const auto j = get_job(c, journal_id, ml.token);
    EXPECT_FALSE(finished(j)) << "the goals sync did not start at once: " << json::serialize(j);
  }

  const auto goals_done = wait_finished(c, goals_id, ml.token);
  EXPECT_EQ(str(goals_done, "status"), "completed");
  EXPECT_EQ(num(goals_done, "totalItems"), kGoals);
  EXPECT_EQ(num(goals_done, "syncedItems"), kGoals);
  EXPECT_EQ(num(goals_done, "progress"), 100);
  {
    const auto j = get_job(c, journal_id, ml.token);
    EXPECT_FALSE(finished(j)) << "the goals sync waited for the journal sync: " << json::serialize(j);
  }

  const auto journal_done = wait_finished(c, journal_id, ml.token);
  EXPECT_EQ(str(journal_done, "status"), "completed");
  EXPECT_EQ(num(journal_done, "totalItems"), kEntries);
  EXPECT_EQ(num(journal_done, "syncedItems"), kEntries);
  EXPECT_EQ(num(journal_done, "progress"), 100);

  EXPECT_EQ(documents(server, domain::SourceType::journal_entries), kEntries);
  EXPECT_EQ(documents(server, domain::SourceType::goals), kGoals);

  // The slot is free again once the job finished.
  const auto again = start(c, kJournalSync, R"({"scope":"all"})", ml.token);
  ASSERT_TRUE(again.is_object());
  const auto again_done = wait_finished(c, str(again, "id"), ml.token);
  EXPECT_EQ(str(again_done, "status"), "completed");
  EXPECT_EQ(num(again_done, "totalItems"), 0);
}

TEST_F(SyncTest, ASyncWithNoDataCompletesWithZeroItemsAndFullProgress) {
  ServerProcess server;
  const auto ml = add_account(server, "ml@sync.test", "ml_admin");
  const auto alice = add_account(server, "alice@sync.test", "user");
  HttpClient c(server.port());
  struct Case {
    const char* path;
    const char* body;
    const std::string* token;
  };
  const Case cases[] = {
      {kJournalSync, "{}", &alice.token},
      {kGoalSync, R"({"mode":"full"})", &alice.token},
      {kJournalSync, R"({"scope":"all","mode":"full"})", &ml.token},
  };
  for (const auto& k : cases) {
    const auto job = start(c, k.path, k.body, *k.token);
    ASSERT_TRUE(job.is_object());
    const auto done = wait_finished(c, str(job, "id"), *k.token);
    EXPECT_EQ(str(done, "status"), "completed") << k.path << " " << k.body;
    EXPECT_EQ(num(done, "totalItems"), 0);
    EXPECT_EQ(num(done, "processedItems"), 0);
    EXPECT_EQ(num(done, "progress"), 100);
    EXPECT_TRUE(done.at("endTime").is_string());
  }
  EXPECT_EQ(documents(server, std::nullopt), 0);
}

TEST_F(SyncTest, PauseResumeCancelAndRetryFollowTheStateMachine) {
  ServerProcess server;
  const auto ml = add_account(server, "ml@sync.test", "ml_admin");
  const auto alice = add_account(server, "alice@sync.test", "user");
  // Enough that each job is still running when it is paused or cancelled (a few seconds each
  // under the sanitizers), few enough to keep the test short.
  constexpr std::int64_t kEntries = 60'000;
  constexpr std::int64_t kGoals = 60'000;
  seed_journal_entries(server.database_url(), alice.id, kEntries, "je-");
  seed_goals(server.database_url(), alice.id, kGoals, "goal-");
  HttpClient c(server.port());

  // Pause a running job: it stops moving; resume it: it runs on and completes.
  const auto job = start(c, kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(job.is_object());
  const auto id = str(job, "id");
  const auto midway = wait_midway(c, id, ml.token);
  ASSERT_EQ(str(midway, "status"), "running") << "the job finished before it could be paused";

  auto paused = c.post(job_path(id, "pause"), "", ml.token);
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(str(paused.json(), "status"), "paused");
  const auto first_read = get_job(c, id, ml.token);
  // Longer than the engine's checkpoint interval (250 ms): a job still moving would show it.
  std::this_thread::sleep_for(600ms);
  const auto second_read = get_job(c, id, ml.token);
  EXPECT_EQ(str(first_read, "status"), "paused");
  EXPECT_EQ(str(second_read, "status"), "paused");
  EXPECT_EQ(num(first_read, "processedItems"), num(second_read, "processedItems"));
  EXPECT_LT(num(second_read, "processedItems"), kEntries);
  EXPECT_TRUE(counts_add_up(second_read));
  EXPECT_TRUE(second_read.at("etaSeconds").is_null());

  auto pause_again = c.post(job_path(id, "pause"), "", ml.token);
  EXPECT_EQ(pause_again.status, 409) << pause_again.body;
  EXPECT_EQ(pause_again.error_code(), "illegal_transition");
  auto retry_paused = c.post(job_path(id, "retry"), "", ml.token);
  EXPECT_EQ(retry_paused.status, 409) << retry_paused.body;
  EXPECT_EQ(retry_paused.error_code(), "illegal_transition");

  auto resumed = c.post(job_path(id, "resume"), "", ml.token);
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_NE(str(resumed.json(), "status"), "paused");
  auto resume_running = c.post(job_path(id, "resume"), "", ml.token);  // running (or done): not paused
  EXPECT_EQ(resume_running.status, 409) << resume_running.body;
  EXPECT_EQ(resume_running.error_code(), "illegal_transition");
  const auto done = wait_finished(c, id, ml.token);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "processedItems"), kEntries);
  EXPECT_EQ(num(done, "syncedItems"), kEntries);
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(documents(server, domain::SourceType::journal_entries), kEntries);

  // Nothing more happens to a completed job.
  for (const char* action : {"resume", "pause", "cancel"}) {
    auto res = c.post(job_path(id, action), "", ml.token);
    EXPECT_EQ(res.status, 409) << action << " -> " << res.body;
    EXPECT_EQ(res.error_code(), "illegal_transition") << action;
    EXPECT_NE(res.error_message().find("completed"), std::string::npos) << res.error_message();
  }
  EXPECT_EQ(str(get_job(c, id, ml.token), "status"), "completed");

  // Cancel a running job; retry it: it resumes from where it stopped and completes.
  const auto goals = start(c, kGoalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(goals.is_object());
  const auto goals_id = str(goals, "id");
  const auto goals_midway = wait_midway(c, goals_id, ml.token);
  ASSERT_EQ(str(goals_midway, "status"), "running") << "the job finished before it could be cancelled";
  auto retry_running = c.post(job_path(goals_id, "retry"), "", ml.token);
  EXPECT_EQ(retry_running.status, 409) << retry_running.body;
  EXPECT_EQ(retry_running.error_code(), "illegal_transition");
  auto cancelled = c.post(job_path(goals_id, "cancel"), "", ml.token);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  const auto cancelled_job = cancelled.json();
  EXPECT_EQ(str(cancelled_job, "status"), "cancelled");
  EXPECT_TRUE(cancelled_job.at("cancelRequested").as_bool());
  EXPECT_TRUE(cancelled_job.at("endTime").is_string());
  EXPECT_TRUE(counts_add_up(cancelled_job));
  EXPECT_LT(num(cancelled_job, "processedItems"), kGoals);
  std::this_thread::sleep_for(600ms);  // as above: a job still moving would show it
  const auto after_cancel = get_job(c, goals_id, ml.token);
  EXPECT_EQ(str(after_cancel, "status"), "cancelled");
  EXPECT_EQ(num(after_cancel, "processedItems"), num(cancelled_job, "processedItems"));
  EXPECT_EQ(documents(server, domain::SourceType::goals), num(after_cancel, "syncedItems"));
  for (const char* action : {"cancel", "pause", "resume"}) {
    auto res = c.post(job_path(goals_id, action), "", ml.token);
    EXPECT_EQ(res.status, 409) << action << " -> " << res.body;
    EXPECT_EQ(res.error_code(), "illegal_transition") << action;
  }

  auto retried = c.post(job_path(goals_id, "retry"), "", ml.token);
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(str(retried.json(), "status"), "queued");
  EXPECT_EQ(num(retried.json(), "attempt"), 2);
  EXPECT_FALSE(retried.json().at("cancelRequested").as_bool());
  const auto retried_done = wait_finished(c, goals_id, ml.token);
  EXPECT_EQ(str(retried_done, "status"), "completed");
  EXPECT_EQ(num(retried_done, "attempt"), 2);
  EXPECT_EQ(num(retried_done, "totalItems"), kGoals);
  EXPECT_EQ(num(retried_done, "processedItems"), kGoals);
  EXPECT_EQ(num(retried_done, "syncedItems"), kGoals);
  EXPECT_EQ(num(retried_done, "progress"), 100);
  EXPECT_EQ(documents(server, domain::SourceType::goals), kGoals);
  EXPECT_EQ(
      query_int(server.database_url(),
                "SELECT count(DISTINCT d.source_id) FROM documents d JOIN goals g ON g.id = d.source_id "
                "WHERE d.source_type = 'goals'"),
      kGoals);
}

TEST_F(SyncTest, AServerKilledMidSyncResumesTheJobAndEveryRecordEndsUpOnce) {
  // Issue 3: at least 200,000 items, killed mid-way; some of them fail validation.
  const struct {
    std::int64_t valid = 200'000;
    std::int64_t invalid = 150;
  } setup;
  ServerProcess first;
  const auto ml = add_account(first, "ml@sync.test", "ml_admin");
  const auto alice = add_account(first, "alice@sync.test", "user");
  seed_journal_entries(first.database_url(), alice.id, setup.valid, "je-");
  seed(first.database_url(), [&](store::Writer& w) {
    for (std::int64_t i = 0; i < setup.invalid; ++i) {
      auto e = valid_journal_entry("empty-" + std::to_string(i), alice.id);
      e.body = "   ";
      w.save_journal_entry(e);
    }
  });
  const auto total = setup.valid + setup.invalid;

  std::string id;
  {
    HttpClient c(first.port());
    const auto job = start(c, kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
    ASSERT_TRUE(job.is_object());
    id = str(job, "id");
    const auto midway = wait_midway(c, id, ml.token, 0.2);
    ASSERT_EQ(str(midway, "status"), "running") << "the job finished before the kill";
  }
  const auto code = first.stop(SIGKILL);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 128 + SIGKILL);
  {
    auto store = store::open_store(first.database_url(), 1);
    const auto left = store->read_value([&](store::Reader& r) { return r.find_job(id); });
    ASSERT_TRUE(left.has_value());
    EXPECT_EQ(domain::to_string(left->status), "running");  // nobody marked it: the process died
    EXPECT_LT(left->counters.processed(), total);
  }

  ServerProcess::Options again;
  again.database_url = first.database_url();
  ServerProcess second(again);
  HttpClient c(second.port());
  const auto done = wait_finished(c, id, ml.token);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(num(done, "totalItems"), total);
  EXPECT_EQ(num(done, "processedItems"), total);
  EXPECT_EQ(num(done, "syncedItems") + num(done, "skippedItems") + num(done, "failedItems"), total);
  // The documents of the batch in flight rolled back with its checkpoint, so nothing was
  // written twice (which would show as skipped) and no item error was counted twice.
  EXPECT_EQ(num(done, "syncedItems"), setup.valid);
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(num(done, "failedItems"), setup.invalid);
  EXPECT_EQ(num(done, "errorCount"), setup.invalid);
  EXPECT_EQ(query_int(second.database_url(), "SELECT count(*) FROM job_errors WHERE job_id = '" + id + "'"),
            setup.invalid);
  EXPECT_EQ(documents(second, domain::SourceType::journal_entries), setup.valid);
  EXPECT_EQ(documents_matching_live_entries(second), setup.valid);
  EXPECT_EQ(query_int(second.database_url(), "SELECT count(*) FROM documents WHERE source_id LIKE 'empty-%'"),
            0);
}

TEST_F(SyncTest, SigtermInterruptsARunningSyncAndARestartCompletesIt) {
  constexpr std::int64_t kEntries = 100'000;
  ServerProcess first;
  const auto ml = add_account(first, "ml@sync.test", "ml_admin");
  const auto alice = add_account(first, "alice@sync.test", "user");
  seed_journal_entries(first.database_url(), alice.id, kEntries, "je-");
  const auto total = kEntries;

  std::string id;
  {
    HttpClient c(first.port());
    const auto job = start(c, kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
    ASSERT_TRUE(job.is_object());
    id = str(job, "id");
    const auto midway = wait_midway(c, id, ml.token, 0.1);
    ASSERT_EQ(str(midway, "status"), "running") << "the job finished before SIGTERM";
  }
  const auto code = first.stop(SIGTERM, std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value()) << "the server did not exit after SIGTERM; its log:\n" << first.log();
  EXPECT_EQ(*code, 0) << first.log();
  {
    auto store = store::open_store(first.database_url(), 1);
    const auto left = store->read_value([&](store::Reader& r) { return r.find_job(id); });
    ASSERT_TRUE(left.has_value());
    EXPECT_EQ(domain::to_string(left->status), "interrupted");
    EXPECT_GT(left->counters.processed(), 0);
    EXPECT_LT(left->counters.processed(), total);
    EXPECT_EQ(left->counters.processed(), left->counters.synced);
    // The checkpoint and the documents were saved together.
    EXPECT_EQ(store->read_value([](store::Reader& r) { return r.count_documents(std::nullopt); }),
              left->counters.synced);
  }

  ServerProcess::Options again;
  again.database_url = first.database_url();
  ServerProcess second(again);
  HttpClient c(second.port());
  const auto done = wait_finished(c, id, ml.token);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(num(done, "totalItems"), total);
  EXPECT_EQ(num(done, "processedItems"), total);
  EXPECT_EQ(num(done, "syncedItems"), total);
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(documents(second, domain::SourceType::journal_entries), total);
  EXPECT_EQ(documents_matching_live_entries(second), total);
}

TEST_F(SyncTest, UsersStartAndSeeOnlyTheirOwnJobsWhileMlAdminSeesAll) {
  ServerProcess server;
  const auto ml = add_account(server, "ml@sync.test", "ml_admin");
  const auto alice = add_account(server, "alice@sync.test", "user");
  const auto bob = add_account(server, "bob@sync.test", "user");
  seed_journal_entries(server.database_url(), alice.id, 30, "alice-");
  seed_journal_entries(server.database_url(), bob.id, 20, "bob-");
  HttpClient c(server.port());

  // A user syncs only their own records.
  auto all = c.post(kJournalSync, R"({"scope":"all"})", alice.token);
  EXPECT_EQ(all.status, 403) << all.body;
  auto other = c.post(kJournalSync, json::serialize(json::object{{"userId", bob.id}}), alice.token);
  EXPECT_EQ(other.status, 403) << other.body;
  auto other_goals = c.post(kGoalSync, json::serialize(json::object{{"userId", bob.id}}), alice.token);
  EXPECT_EQ(other_goals.status, 403) << other_goals.body;

  // alice's own sync; bob's own sync; and ml_admin syncing alice's records and everyone's goals.
  const auto alice_job = start(c, kJournalSync, "{}", alice.token);
  const auto bob_job = start(c, kJournalSync, json::serialize(json::object{{"userId", bob.id}}), bob.token);
  const auto for_alice = start(c, kGoalSync, json::serialize(json::object{{"userId", alice.id}}), ml.token);
  const auto everyone = start(c, kGoalSync, R"({"scope":"all"})", ml.token);
  ASSERT_TRUE(alice_job.is_object() && bob_job.is_object() && for_alice.is_object() && everyone.is_object());
  EXPECT_EQ(str(for_alice, "userId"), ml.id);
  EXPECT_EQ(str(for_alice, "scopeUserId"), alice.id);
  const auto alice_id = str(alice_job, "id");
  const auto bob_id = str(bob_job, "id");
  const auto for_alice_id = str(for_alice, "id");
  const auto everyone_id = str(everyone, "id");
  for (const auto* j : {&alice_id, &bob_id, &for_alice_id, &everyone_id}) {
    EXPECT_EQ(str(wait_finished(c, *j, ml.token), "status"), "completed");
  }

  const auto listed = [&](const std::string& token, const std::string& query = "") {
    std::set<std::string> ids;
    auto res = c.get("/api/ml/sync/jobs" + query, token);
    EXPECT_EQ(res.status, 200) << res.body;
    const auto body = res.json();
    for (const auto& j : body.at("items").as_array()) {
      ids.insert(str(j, "id"));
      EXPECT_TRUE(counts_add_up(j));
    }
    return ids;
  };
  // alice sees the job she started and the one that synced her records, nothing of bob's.
  EXPECT_EQ(listed(alice.token), (std::set<std::string>{alice_id, for_alice_id}));
  EXPECT_EQ(listed(bob.token), (std::set<std::string>{bob_id}));
  EXPECT_EQ(listed(ml.token), (std::set<std::string>{alice_id, bob_id, for_alice_id, everyone_id}));
  // Filters narrow what the caller may see; they never widen it.
  EXPECT_EQ(listed(alice.token, "?userId=" + bob.id), std::set<std::string>{});
  EXPECT_EQ(listed(alice.token, "?type=goals"), (std::set<std::string>{for_alice_id}));
  EXPECT_EQ(listed(ml.token, "?type=goals&status=completed"),
            (std::set<std::string>{for_alice_id, everyone_id}));
  EXPECT_EQ(listed(ml.token, "?userId=" + alice.id), (std::set<std::string>{alice_id, for_alice_id}));

  // Someone else's job does not exist for bob, nor for its controls and errors.
  for (const auto* j : {&alice_id, &for_alice_id, &everyone_id}) {
    EXPECT_EQ(c.get(job_path(*j), bob.token).status, 404);
    EXPECT_EQ(c.get(job_path(*j, "errors"), bob.token).status, 404);
    for (const char* action : {"cancel", "pause", "resume", "retry"}) {
      auto res = c.post(job_path(*j, action), "", bob.token);
      EXPECT_EQ(res.status, 404) << action << " -> " << res.body;
    }
  }
  EXPECT_EQ(c.get(job_path(for_alice_id), alice.token).status, 200);
  EXPECT_EQ(c.get(job_path(for_alice_id, "errors"), alice.token).status, 200);
  EXPECT_EQ(c.get(job_path(bob_id), ml.token).status, 200);
  EXPECT_EQ(c.get(job_path("0190d5c6-0000-7000-8000-000000000000"), ml.token).status, 404);

  // Bad filters and bodies are 400s naming the field.
  struct Bad {
    std::string target;
    const char* field;
  };
  const Bad bad_filters[] = {
      {"/api/ml/sync/jobs?status=bogus", "status"},  {"/api/ml/sync/jobs?mode=sideways", "mode"},
      {"/api/ml/sync/jobs?type=everything", "type"}, {"/api/ml/sync/jobs?from=yesterday", "from"},
      {"/api/ml/sync/jobs?limit=0", "limit"},        {"/api/ml/sync/jobs?cursor=not-a-cursor", "cursor"},
  };
  for (const auto& b : bad_filters) {
    auto res = c.get(b.target, ml.token);
    EXPECT_EQ(res.status, 400) << b.target << " -> " << res.body;
    EXPECT_EQ(details_field(res), b.field) << b.target << " -> " << res.body;
    EXPECT_NE(res.error_message().find(b.field), std::string::npos) << res.error_message();
  }
  const std::pair<const char*, const char*> bad_bodies[] = {
      {R"({"mode":"sideways"})", "mode"},
      {R"({"scope":"galaxy"})", "scope"},
      {R"({"scope":"all","userId":"x"})", "userId"},
  };
  for (const auto& [body, field] : bad_bodies) {
    auto res = c.post(kJournalSync, body, ml.token);
    EXPECT_EQ(res.status, 400) << body << " -> " << res.body;
    EXPECT_EQ(details_field(res), field) << body << " -> " << res.body;
  }
  EXPECT_EQ(c.get("/api/ml/sync/jobs").status, 401);
  EXPECT_EQ(c.post(kJournalSync, "{}").status, 401);
}

}  // namespace
}  // namespace mladmin::test

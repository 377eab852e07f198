// Sync jobs over real HTTP (docs/jobs.md, docs/openapi.yaml sync rows; issue 3 "Tests"): starting a sync
// answers 202 and the job completes with counts that add up at every observation; invalid records fail item
// by item with their errors paged; incremental syncs take exactly what changed; one active job per (scope,
// type); the state machine with its illegal transitions; a server killed or stopped mid-sync resumes the job
// after a restart, with every valid record present exactly once; and who may start and see which jobs.
//
// Large data is written straight into the server's database (the API would refuse the invalid
// records, and 200,000 POSTs would take too long). Jobs are watched on the event stream
// (tests/support/fixture.hpp) with a deadline, and every state the stream shows must add up.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

/// The stream's heartbeat in these tests: longer than the engine's checkpoint interval (250 ms),
/// so that a job still moving while it should not would show it between two heartbeats.
constexpr const char* kConfig = "[events]\nheartbeat_ms = 300\n";

const char* const kJobFields[] = {
    "id",          "userId",      "type",        "status",         "totalItems",   "processedItems",
    "syncedItems", "failedItems", "progress",    "errors",         "startTime",    "endTime",
    "duration",    "scope",       "scopeUserId", "mode",           "skippedItems", "errorCount",
    "attempt",     "createdAt",   "updatedAt",   "itemsPerSecond", "etaSeconds",   "cancelRequested",
};

std::string details_field(const HttpResponse& res) {
  const auto v = res.json();
  const auto* details = v.at("error").as_object().if_contains("details");
  if (details == nullptr || !details->is_object() || !details->as_object().contains("field")) {
    return "";
  }
  return str(*details, "field");
}

class SyncTest : public IntegrationTest {
 protected:
  ServerProcess::Options server_options() override { return {.config = kConfig}; }

  /// Waits until the stream shows job `id` in `status`, then until two heartbeats more came: at
  /// least one heartbeat interval in which the job had its chance to move. Answers the state the
  /// stream showed. Called after the control request answered: the engine saved and told the new
  /// status before that answer (docs/jobs.md), so the event is waited for with the heartbeats'
  /// deadline, not a whole job's.
  json::value settled_in(const std::string& id, const std::string& status) {
    const auto state = server().wait_for_job(
        id, [&](const json::value& j) { return str(j, "status") == status; }, 30s, status);
    auto& stream = server().jobs().stream();
    EXPECT_TRUE(stream.wait_comments(stream.comments() + 2, 30s)) << "no heartbeats on the stream";
    return state;
  }

  /// No state of job `id` after its first one in `status` shows it moving: each has that status
  /// and the same processedItems.
  ::testing::AssertionResult still_after(const std::string& id, const std::string& status) {
    const auto all = server().jobs().states(id);
    std::size_t i = 0;
    while (i < all.size() && str(all[i], "status") != status) {
      ++i;
    }
    if (i == all.size()) {
      return ::testing::AssertionFailure() << "the stream never showed job " << id << " " << status;
    }
    for (std::size_t k = i + 1; k < all.size(); ++k) {
      if (str(all[k], "status") != status || num(all[k], "processedItems") != num(all[i], "processedItems")) {
        return ::testing::AssertionFailure()
               << "after " << json::serialize(all[i]) << " the stream showed " << json::serialize(all[k]);
      }
    }
    return ::testing::AssertionSuccess();
  }

  std::int64_t documents(std::optional<domain::SourceType> type) {
    auto store = store::open_store(server().database_url(), 1);
    return store->read_value([&](store::Reader& r) { return r.count_documents(type); });
  }

  /// Documents whose source record exists, is live and belongs to the same user: what "every
  /// valid record is present" means, counted from the records' side.
  std::int64_t documents_matching_live_entries() {
    return query_int(server().database_url(),
                     "SELECT count(*) FROM documents d JOIN journal_entries j ON j.id = d.source_id "
                     "WHERE d.source_type = 'journal_entries' AND j.deleted_at IS NULL AND "
                     "j.user_id = d.user_id");
  }
};

// ---------------------------------------------------------------------------------------------

TEST_F(SyncTest, OwnSyncAnswers202AndCompletesWithOneDocumentPerRecord) {
  auto& server = this->server();
  const auto alice = server.add_account("alice@sync.test", "user");
  auto& c = server.http();
  constexpr int kEntries = 25;
  for (int i = 0; i < kEntries; ++i) {
    auto res = c.post("/api/journal-entries",
                      json::serialize(json::object{{"title", "Day " + std::to_string(i)},
                                                   {"body", "Notes for   day\n" + std::to_string(i)},
                                                   {"mood", 1 + i % 5}}),
                      alice.token);
    ASSERT_EQ(res.status, 201) << res.body;
  }

  const auto queued = server.start_job(kJournalSync, "{}", alice.token);
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
  const auto done = server.wait_finished(id);
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

  EXPECT_EQ(documents(domain::SourceType::journal_entries), kEntries);
  EXPECT_EQ(documents(domain::SourceType::goals), 0);
  EXPECT_EQ(documents_matching_live_entries(), kEntries);
  // The document carries the normalized text of its record.
  EXPECT_EQ(query_text(server.database_url(),
                       "SELECT d.text FROM documents d JOIN journal_entries j ON j.id = d.source_id "
                       "WHERE j.title = ?",
                       "Day 7"),
            "Notes for day 7");
}

TEST_F(SyncTest, InvalidRecordsFailOneByOneWithTheirErrorsPaged) {
  auto& server = this->server();
  const auto alice = server.add_account("alice@sync.test", "user");
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

  auto& c = server.http();
  const auto job = server.start_job(kJournalSync, R"({"mode":"full"})", alice.token);
  ASSERT_TRUE(job.is_object());
  const auto id = str(job, "id");
  const auto done = server.wait_finished(id);
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

  EXPECT_EQ(documents(domain::SourceType::journal_entries), kValid);
  EXPECT_EQ(
      query_int(server.database_url(), "SELECT count(*) FROM documents WHERE source_id NOT LIKE 'good-%'"),
      0);
}

TEST_F(SyncTest, IncrementalSyncTakesExactlyTheEditsDeletesAndAdds) {
  auto& server = this->server();
  const auto alice = server.add_account("alice@sync.test", "user");
  auto& c = server.http();
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
    const auto job = server.start_job(kJournalSync, body, alice.token);
    EXPECT_TRUE(job.is_object());
    if (!job.is_object()) {
      return json::value();
    }
    auto done = server.wait_finished(str(job, "id"));
    EXPECT_EQ(str(done, "status"), "completed");
    EXPECT_EQ(num(done, "progress"), 100);
    return done;
  };

  const auto first = run("{}");
  EXPECT_EQ(num(first, "totalItems"), 10);
  EXPECT_EQ(num(first, "syncedItems"), 10);
  const auto before = documents(domain::SourceType::journal_entries);
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
  EXPECT_EQ(documents(domain::SourceType::journal_entries), before - 2 + 4);
  EXPECT_EQ(documents_matching_live_entries(), before - 2 + 4);
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
  EXPECT_EQ(documents(domain::SourceType::journal_entries), 12);
}

TEST_F(SyncTest, OneActiveJobPerScopeAndTypeWhileAnotherTypeRunsAlongside) {
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@sync.test", "user");
  constexpr std::int64_t kEntries = 100'000;
  constexpr std::int64_t kGoals = 3'000;
  seed_journal_entries(server.database_url(), alice.id, kEntries, "je-");
  seed_goals(server.database_url(), alice.id, kGoals, "goal-");

  auto& c = server.http();
  const auto journal = server.start_job(kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(journal.is_object());
  const auto journal_id = str(journal, "id");

  for (const char* body : {R"({"scope":"all","mode":"full"})", R"({"scope":"all"})"}) {
    auto second = c.post(kJournalSync, body, ml.token);
    EXPECT_EQ(second.status, 409) << second.body;
    EXPECT_EQ(second.error_code(), "sync_already_active");
    EXPECT_EQ(str(second.json().at("error").at("details"), "activeJobId"), journal_id);
  }

  const auto goals = server.start_job(kGoalSync, R"({"scope":"all"})", ml.token);
  ASSERT_TRUE(goals.is_object());
  const auto goals_id = str(goals, "id");
  EXPECT_NE(goals_id, journal_id);
  // The journal sync is still going while the goals sync runs.
  {
    const auto j = server.get_job(journal_id, ml.token);
    EXPECT_FALSE(finished(j)) << "the goals sync did not start at once: " << json::serialize(j);
  }

  const auto goals_done = server.wait_finished(goals_id);
  EXPECT_EQ(str(goals_done, "status"), "completed");
  EXPECT_EQ(num(goals_done, "totalItems"), kGoals);
  EXPECT_EQ(num(goals_done, "syncedItems"), kGoals);
  EXPECT_EQ(num(goals_done, "progress"), 100);
  {
    const auto j = server.get_job(journal_id, ml.token);
    EXPECT_FALSE(finished(j)) << "the goals sync waited for the journal sync: " << json::serialize(j);
  }

  const auto journal_done = server.wait_finished(journal_id);
  EXPECT_EQ(str(journal_done, "status"), "completed");
  EXPECT_EQ(num(journal_done, "totalItems"), kEntries);
  EXPECT_EQ(num(journal_done, "syncedItems"), kEntries);
  EXPECT_EQ(num(journal_done, "progress"), 100);

  EXPECT_EQ(documents(domain::SourceType::journal_entries), kEntries);
  EXPECT_EQ(documents(domain::SourceType::goals), kGoals);

  // The slot is free again once the job finished.
  const auto again = server.start_job(kJournalSync, R"({"scope":"all"})", ml.token);
  ASSERT_TRUE(again.is_object());
  const auto again_done = server.wait_finished(str(again, "id"));
  EXPECT_EQ(str(again_done, "status"), "completed");
  EXPECT_EQ(num(again_done, "totalItems"), 0);
}

TEST_F(SyncTest, ASyncWithNoDataCompletesWithZeroItemsAndFullProgress) {
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@sync.test", "user");
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
    const auto job = server.start_job(k.path, k.body, *k.token);
    ASSERT_TRUE(job.is_object());
    const auto done = server.wait_finished(str(job, "id"));
    EXPECT_EQ(str(done, "status"), "completed") << k.path << " " << k.body;
    EXPECT_EQ(num(done, "totalItems"), 0);
    EXPECT_EQ(num(done, "processedItems"), 0);
    EXPECT_EQ(num(done, "progress"), 100);
    EXPECT_TRUE(done.at("endTime").is_string());
  }
  EXPECT_EQ(documents(std::nullopt), 0);
}

TEST_F(SyncTest, PauseResumeCancelAndRetryFollowTheStateMachine) {
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@sync.test", "user");
  // Enough that each job is still running when it is paused or cancelled (a few seconds each
  // under the sanitizers), few enough to keep the test short.
  constexpr std::int64_t kEntries = 60'000;
  constexpr std::int64_t kGoals = 60'000;
  seed_journal_entries(server.database_url(), alice.id, kEntries, "je-");
  seed_goals(server.database_url(), alice.id, kGoals, "goal-");
  auto& c = server.http();

  // Pause a running job: it stops moving; resume it: it runs on and completes.
  const auto job = server.start_job(kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(job.is_object());
  const auto id = str(job, "id");
  const auto midway = server.jobs().wait_midway(id);
  ASSERT_EQ(str(midway, "status"), "running") << "the job finished before it could be paused";

  auto paused = c.post(job_path(id, "pause"), "", ml.token);
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(str(paused.json(), "status"), "paused");
  // The stream shows the pause; through at least one heartbeat interval (longer than the
  // engine's checkpoint interval) after it no further state of the job comes, and a read then
  // shows the job as the stream left it.
  const auto paused_state = settled_in(id, "paused");
  ASSERT_TRUE(paused_state.is_object());
  EXPECT_TRUE(still_after(id, "paused")) << "the paused job moved";
  const auto second_read = server.get_job(id, ml.token);
  EXPECT_EQ(str(second_read, "status"), "paused");
  EXPECT_EQ(num(paused_state, "processedItems"), num(second_read, "processedItems"));
  EXPECT_EQ(num(paused_state, "processedItems"), num(paused.json(), "processedItems"));
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
  const auto done = server.wait_finished(id);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "processedItems"), kEntries);
  EXPECT_EQ(num(done, "syncedItems"), kEntries);
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(documents(domain::SourceType::journal_entries), kEntries);

  // Nothing more happens to a completed job.
  for (const char* action : {"resume", "pause", "cancel"}) {
    auto res = c.post(job_path(id, action), "", ml.token);
    EXPECT_EQ(res.status, 409) << action << " -> " << res.body;
    EXPECT_EQ(res.error_code(), "illegal_transition") << action;
    EXPECT_NE(res.error_message().find("completed"), std::string::npos) << res.error_message();
  }
  EXPECT_EQ(str(server.get_job(id, ml.token), "status"), "completed");

  // Cancel a running job; retry it: it resumes from where it stopped and completes.
  const auto goals = server.start_job(kGoalSync, R"({"scope":"all","mode":"full"})", ml.token);
  ASSERT_TRUE(goals.is_object());
  const auto goals_id = str(goals, "id");
  const auto goals_midway = server.jobs().wait_midway(goals_id);
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
  // As above: no state of the job after the cancel, and a read shows it as it was cancelled.
  const auto cancelled_state = settled_in(goals_id, "cancelled");
  ASSERT_TRUE(cancelled_state.is_object());
  EXPECT_TRUE(still_after(goals_id, "cancelled")) << "the cancelled job moved";
  EXPECT_EQ(num(cancelled_state, "processedItems"), num(cancelled_job, "processedItems"));
  const auto after_cancel = server.get_job(goals_id, ml.token);
  EXPECT_EQ(str(after_cancel, "status"), "cancelled");
  EXPECT_EQ(num(after_cancel, "processedItems"), num(cancelled_job, "processedItems"));
  EXPECT_EQ(documents(domain::SourceType::goals), num(after_cancel, "syncedItems"));
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
  const auto retried_done = server.wait_finished(goals_id);
  EXPECT_EQ(str(retried_done, "status"), "completed");
  EXPECT_EQ(num(retried_done, "attempt"), 2);
  EXPECT_EQ(num(retried_done, "totalItems"), kGoals);
  EXPECT_EQ(num(retried_done, "processedItems"), kGoals);
  EXPECT_EQ(num(retried_done, "syncedItems"), kGoals);
  EXPECT_EQ(num(retried_done, "progress"), 100);
  EXPECT_EQ(documents(domain::SourceType::goals), kGoals);
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
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@sync.test", "user");
  seed_journal_entries(server.database_url(), alice.id, setup.valid, "je-");
  seed(server.database_url(), [&](store::Writer& w) {
    for (std::int64_t i = 0; i < setup.invalid; ++i) {
      auto e = valid_journal_entry("empty-" + std::to_string(i), alice.id);
      e.body = "   ";
      w.save_journal_entry(e);
    }
  });
  const auto total = setup.valid + setup.invalid;

  std::string id;
  {
    const auto job = server.start_job(kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
    ASSERT_TRUE(job.is_object());
    id = str(job, "id");
    const auto midway = server.jobs().wait_midway(id, 0.2);
    ASSERT_EQ(str(midway, "status"), "running") << "the job finished before the kill";
  }
  const auto code = server.stop(SIGKILL);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 128 + SIGKILL);
  {
    auto store = store::open_store(server.database_url(), 1);
    const auto left = store->read_value([&](store::Reader& r) { return r.find_job(id); });
    ASSERT_TRUE(left.has_value());
    EXPECT_EQ(domain::to_string(left->status), "running");  // nobody marked it: the process died
    EXPECT_LT(left->counters.processed(), total);
  }

  server.restart(server_options());
  const auto done = server.wait_finished(id);
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
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM job_errors WHERE job_id = '" + id + "'"),
            setup.invalid);
  EXPECT_EQ(documents(domain::SourceType::journal_entries), setup.valid);
  EXPECT_EQ(documents_matching_live_entries(), setup.valid);
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM documents WHERE source_id LIKE 'empty-%'"),
            0);
}

TEST_F(SyncTest, FourOwnSyncsAtOnceKilledMidwayEachResumeAndEveryRecordEndsUpOnce) {
  // Four users' own syncs run at once, so their commits share transactions (docs/sync-engine.md,
  // "Several jobs at once"); the server is killed mid-way. Each job's checkpoint committed with
  // its own documents: after the restart every job completes with exact counters, and every
  // valid record of each user is in the store once.
  constexpr std::int64_t kValid = 25'000;
  constexpr std::int64_t kInvalid = 40;
  auto& server = this->server();
  std::vector<Account> users;
  for (int u = 0; u < 4; ++u) {
    const auto prefix = "u" + std::to_string(u);
    users.push_back(server.add_account(prefix + "@sync.test", "user"));
    seed_journal_entries(server.database_url(), users.back().id, kValid, prefix + "-je-");
    seed(server.database_url(), [&](store::Writer& w) {
      for (std::int64_t i = 0; i < kInvalid; ++i) {
        auto e = valid_journal_entry(prefix + "-empty-" + std::to_string(i), users.back().id);
        e.body = "   ";
        w.save_journal_entry(e);
      }
    });
  }
  std::vector<std::string> ids;
  for (const auto& user : users) {
    const auto job = server.start_job(kJournalSync, R"({"mode":"full"})", user.token);
    ASSERT_TRUE(job.is_object());
    ids.push_back(str(job, "id"));
  }
  const auto midway = server.jobs().wait_midway(ids.front(), 0.2);
  ASSERT_EQ(str(midway, "status"), "running") << "the job finished before the kill";
  const auto code = server.stop(SIGKILL);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 128 + SIGKILL);

  server.restart(server_options());
  for (std::size_t u = 0; u < ids.size(); ++u) {
    const auto done = server.wait_finished(ids[u]);
    EXPECT_EQ(str(done, "status"), "completed") << json::serialize(done);
    EXPECT_EQ(str(done, "scopeUserId"), users[u].id);
    EXPECT_EQ(num(done, "totalItems"), kValid + kInvalid);
    EXPECT_EQ(num(done, "processedItems"), kValid + kInvalid);
    // Nothing written twice (it would count as skipped), no item error counted twice.
    EXPECT_EQ(num(done, "syncedItems"), kValid);
    EXPECT_EQ(num(done, "skippedItems"), 0);
    EXPECT_EQ(num(done, "failedItems"), kInvalid);
    EXPECT_EQ(
        query_int(server.database_url(), "SELECT count(*) FROM job_errors WHERE job_id = '" + ids[u] + "'"),
        kInvalid);
    EXPECT_EQ(query_int(server.database_url(),
                        "SELECT count(*) FROM documents WHERE user_id = '" + users[u].id + "'"),
              kValid);
  }
  EXPECT_EQ(documents(domain::SourceType::journal_entries), 4 * kValid);
  EXPECT_EQ(documents_matching_live_entries(), 4 * kValid);
  EXPECT_EQ(
      query_int(server.database_url(), "SELECT count(*) FROM documents WHERE source_id LIKE '%-empty-%'"), 0);
}

TEST_F(SyncTest, SigtermInterruptsARunningSyncAndARestartCompletesIt) {
  constexpr std::int64_t kEntries = 100'000;
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@sync.test", "user");
  seed_journal_entries(server.database_url(), alice.id, kEntries, "je-");
  const auto total = kEntries;

  std::string id;
  {
    const auto job = server.start_job(kJournalSync, R"({"scope":"all","mode":"full"})", ml.token);
    ASSERT_TRUE(job.is_object());
    id = str(job, "id");
    const auto midway = server.jobs().wait_midway(id, 0.1);
    ASSERT_EQ(str(midway, "status"), "running") << "the job finished before SIGTERM";
  }
  const auto code = server.stop(SIGTERM, std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value()) << "the server did not exit after SIGTERM; its log:\n" << server.log();
  EXPECT_EQ(*code, 0) << server.log();
  {
    auto store = store::open_store(server.database_url(), 1);
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

  server.restart(server_options());
  const auto done = server.wait_finished(id);
  EXPECT_EQ(str(done, "status"), "completed");
  EXPECT_EQ(num(done, "progress"), 100);
  EXPECT_EQ(num(done, "totalItems"), total);
  EXPECT_EQ(num(done, "processedItems"), total);
  EXPECT_EQ(num(done, "syncedItems"), total);
  EXPECT_EQ(num(done, "skippedItems"), 0);
  EXPECT_EQ(documents(domain::SourceType::journal_entries), total);
  EXPECT_EQ(documents_matching_live_entries(), total);
}

TEST_F(SyncTest, UsersStartAndSeeOnlyTheirOwnJobsWhileMlAdminSeesAll) {
  auto& server = this->server();
  const auto ml = server.ml_admin();
  const auto alice = server.add_account("alice@sync.test", "user");
  const auto bob = server.add_account("bob@sync.test", "user");
  seed_journal_entries(server.database_url(), alice.id, 30, "alice-");
  seed_journal_entries(server.database_url(), bob.id, 20, "bob-");
  auto& c = server.http();

  // A user syncs only their own records.
  auto all = c.post(kJournalSync, R"({"scope":"all"})", alice.token);
  EXPECT_EQ(all.status, 403) << all.body;
  auto other = c.post(kJournalSync, json::serialize(json::object{{"userId", bob.id}}), alice.token);
  EXPECT_EQ(other.status, 403) << other.body;
  auto other_goals = c.post(kGoalSync, json::serialize(json::object{{"userId", bob.id}}), alice.token);
  EXPECT_EQ(other_goals.status, 403) << other_goals.body;

  // alice's own sync; bob's own sync; and ml_admin syncing alice's records and everyone's goals.
  const auto alice_job = server.start_job(kJournalSync, "{}", alice.token);
  const auto bob_job =
      server.start_job(kJournalSync, json::serialize(json::object{{"userId", bob.id}}), bob.token);
  const auto for_alice =
      server.start_job(kGoalSync, json::serialize(json::object{{"userId", alice.id}}), ml.token);
  const auto everyone = server.start_job(kGoalSync, R"({"scope":"all"})", ml.token);
  ASSERT_TRUE(alice_job.is_object() && bob_job.is_object() && for_alice.is_object() && everyone.is_object());
  EXPECT_EQ(str(for_alice, "userId"), ml.id);
  EXPECT_EQ(str(for_alice, "scopeUserId"), alice.id);
  const auto alice_id = str(alice_job, "id");
  const auto bob_id = str(bob_job, "id");
  const auto for_alice_id = str(for_alice, "id");
  const auto everyone_id = str(everyone, "id");
  for (const auto* j : {&alice_id, &bob_id, &for_alice_id, &everyone_id}) {
    EXPECT_EQ(str(server.wait_finished(*j), "status"), "completed");
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

// A filtered bulk action (POST /api/ml/documents/bulk) runs its full-text search before it takes
// the database's write lock (docs/security.md, "Limits"): while the search runs, another program
// can still write. The handler runs over a real SQLite file; every connection of this process gets
// a statement hook (sqlite3_trace_v2, installed through sqlite3_auto_extension) that, as each of the
// bulk action's searches starts, writes to the same file from a second connection that does not
// wait for locks. A search inside BEGIN IMMEDIATE makes that write fail with SQLITE_BUSY.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "accounts/accounts.hpp"
#include "api/context.hpp"
#include "api/document_bulk.hpp"
#include "auth/hasher.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/token.hpp"
#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "events/hub.hpp"
#include "metrics/metrics.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"
#include "sync/engine.hpp"

namespace mladmin::api {
namespace {

/// What the hook saw: one entry per search statement started while armed.
struct Probe {
  std::mutex m;
  bool armed = false;
  sqlite3* other = nullptr;          ///< the other writer's connection (busy timeout 0: never waits)
  std::vector<std::string> refused;  ///< the other writer's errors, with the search that was running
  int searches = 0;                  ///< searches outside a write transaction
  /// Searches inside a write transaction: only the re-check that found documents still match,
  /// restricted to their seqs (a JSON array of them), may run there.
  int rechecks = 0;
  std::size_t largest_recheck = 0;  ///< the most seqs one re-check named
  std::string edit;                 ///< SQL the other writer runs at the next search (once)
};

Probe& probe() {
  static Probe p;
  return p;
}

thread_local bool in_hook = false;

int on_statement(unsigned, void*, void* stmt, void* sql) {
  const std::string text = static_cast<const char*>(sql);
  auto& p = probe();
  std::lock_guard lock(p.m);
  if (!p.armed || in_hook ||
      (text.find("documents_fts MATCH") == std::string::npos &&
       text.find("search_candidates MATCH") == std::string::npos)) {
    return 0;
  }
  auto* searching = sqlite3_db_handle(static_cast<sqlite3_stmt*>(stmt));
  if (sqlite3_txn_state(searching, "main") == SQLITE_TXN_WRITE) {
    // The other writer would be refused: look at what runs under the lock instead.
    char* expanded = sqlite3_expanded_sql(static_cast<sqlite3_stmt*>(stmt));
    const std::string full = expanded != nullptr ? expanded : text;
    sqlite3_free(expanded);
    const auto list = full.find("json_each('[");
    if (list == std::string::npos) {
      p.refused.push_back("a search not bounded to found documents ran under the write lock: " + text);
      return 0;
    }
    const auto end = full.find(']', list);
    ++p.rechecks;
    p.largest_recheck = std::max<std::size_t>(
        p.largest_recheck, 1 + std::count(full.begin() + static_cast<std::ptrdiff_t>(list),
                                          full.begin() + static_cast<std::ptrdiff_t>(end), ','));
    return 0;
  }
  in_hook = true;
  if (!p.edit.empty()) {
    char* error = nullptr;
    if (sqlite3_exec(p.other, p.edit.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      p.refused.push_back(std::string("the edit: ") + (error != nullptr ? error : "?"));
    }
    sqlite3_free(error);
    p.edit.clear();
  }
  ++p.searches;
  const std::string key = "probe-" + std::to_string(p.searches);
  const std::string insert =
      "INSERT INTO settings (key, value) VALUES ('" + key + "', 'written during a search')";
  char* error = nullptr;
  if (sqlite3_exec(p.other, insert.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const char* held =
        sqlite3_txn_state(sqlite3_db_handle(static_cast<sqlite3_stmt*>(stmt)), "main") == SQLITE_TXN_WRITE
            ? " (the searching connection holds a write transaction)"
            : "";
    p.refused.push_back(std::string(error != nullptr ? error : "?") + held + " while running: " + text);
  }
  sqlite3_free(error);
  in_hook = false;
  return 0;
}

int install_hook(sqlite3* db, char**, const sqlite3_api_routines*) {
  sqlite3_trace_v2(db, SQLITE_TRACE_STMT, on_statement, nullptr);
  return SQLITE_OK;
}

class BulkSearchLockTest : public store::sqlite::TempStoreTest {
 protected:
  void SetUp() override {
    TempStoreTest::SetUp();  // creates and migrates the file
    {
      std::lock_guard lock(probe().m);
      probe().searches = 0;
      probe().rechecks = 0;
      probe().largest_recheck = 0;
      probe().refused.clear();
      probe().edit.clear();
    }
    store_.reset();
    // The other writer opens before the hook is installed, so that its own statements are not
    // hooked; the store's connections open after.
    ASSERT_EQ(sqlite3_open_v2((dir_ / "t.db").c_str(), &probe().other, SQLITE_OPEN_READWRITE, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_auto_extension(reinterpret_cast<void (*)()>(install_hook)), SQLITE_OK);
    store_ = std::make_unique<store::sqlite::SqliteStore>((dir_ / "t.db").string(), 2);
    accounts_ = std::make_unique<accounts::Accounts>(*store_, hasher_, clock_, ids_, auth::PasswordPolicy{});
    engine_ = std::make_unique<sync::Engine>(*store_, clock_, ids_, sync::EngineOptions{});  // not started
    // Not make_unique: ApiContext holds an atomic, so it is built in place.
    ctx_.reset(new ApiContext{*store_, *accounts_, tokens_, hasher_, limiter_, clock_, ids_, *engine_, hub_,
                              metrics_});
  }
  void TearDown() override {
    {
      std::lock_guard lock(probe().m);
      probe().armed = false;
    }
    ctx_.reset();
    engine_.reset();
    accounts_.reset();
    sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(install_hook));
    sqlite3_close(probe().other);
    probe().other = nullptr;
    TempStoreTest::TearDown();
  }

  /// `n` documents whose text holds the word "heron", and one that does not.
  void add_documents(int n) {
    std::vector<store::DocumentWrite> docs;
    for (int i = 0; i <= n; ++i) {
      store::DocumentWrite d;
      d.id = "doc-" + std::to_string(100000 + i);
      d.user_id = "u1";
      d.source_id = "src-" + std::to_string(i);
      d.title = "Entry " + std::to_string(i);
      d.text = i < n ? "a grey heron by the river" : "a kingfisher by the river";
      d.metadata_json = "{}";
      d.content_hash = "h" + std::to_string(i);
      d.synced_at = 1'000'000 + i;
      d.source_created_at = 5'000'000 - i;
      d.job_id = "job";
      docs.push_back(std::move(d));
    }
    store_->write([&](store::Writer& w) { w.upsert_documents(domain::SourceType::journal_entries, docs); });
  }

  /// POSTs a bulk delete of the documents matching "heron" with the hook armed.
  http::Response bulk_delete_herons() {
    http::Request req;
    req.method = "POST";
    req.path = req.target = "/api/ml/documents/bulk";
    req.headers = {{"content-type", "application/json"}};
    req.body = R"({"action":"delete","filter":{"q":"heron"}})";
    auth::Caller caller{"ml-1", "ml@bulk.test", domain::Role::ml_admin, 0, 0};
    arm(true);
    auto res = bulk_documents(req, caller, *ctx_);
    arm(false);
    return res;
  }

  static void arm(bool on) {
    std::lock_guard lock(probe().m);
    probe().armed = on;
  }

  /// The single number `sql` answers, read through the other connection.
  static std::int64_t number(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::int64_t n = -1;
    if (sqlite3_prepare_v2(probe().other, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
  }

  domain::SystemClock clock_;
  domain::UuidV7Generator ids_{clock_};
  auth::TokenCodec tokens_{std::string(48, 's')};
  auth::PasswordHasher hasher_{1, 1};
  auth::LoginRateLimiter limiter_{auth::LoginRateLimiter::Limits{}};
  events::Hub hub_;
  metrics::Metrics metrics_;
  std::unique_ptr<accounts::Accounts> accounts_;
  std::unique_ptr<sync::Engine> engine_;
  std::unique_ptr<ApiContext> ctx_;
};

// Up to 1,000 matches are deleted within the request: the search that finds them runs in a read
// transaction, and the other program's writes go through meanwhile.
TEST_F(BulkSearchLockTest, AnotherWriterIsNotLockedOutWhileASmallFilteredBulkActionSearches) {
  add_documents(40);
  const auto res = bulk_delete_herons();
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(boost::json::parse(res.body).at("deleted").as_int64(), 40);
  std::lock_guard lock(probe().m);
  ASSERT_GE(probe().searches, 1) << "the hook saw no search: the test proves nothing";
  for (const auto& r : probe().refused) {
    ADD_FAILURE() << "another writer was refused: " << r;
  }
  EXPECT_EQ(number("SELECT count(*) FROM settings WHERE key LIKE 'probe-%'"), probe().searches);
  EXPECT_EQ(number("SELECT count(*) FROM documents"), 1);  // the kingfisher
}

// The write transaction checks the documents the search found against the filter again, but
// only those: its search is restricted to their seqs.
TEST_F(BulkSearchLockTest, TheWriteRechecksOnlyTheDocumentsTheSearchFound) {
  add_documents(40);
  const auto res = bulk_delete_herons();
  ASSERT_EQ(res.status, 200) << res.body;
  std::lock_guard lock(probe().m);
  EXPECT_EQ(probe().rechecks, 1);
  EXPECT_EQ(probe().largest_recheck, 40u);
}

// A sync that changes a found document between the search and the write, so that it no longer
// matches, keeps it: the other writer rewrites its text (and records the change for the full-text index) as
// the search starts, after the search's snapshot was taken.
TEST_F(BulkSearchLockTest, ADocumentThatStopsMatchingBeforeTheWriteIsNotDeleted) {
  add_documents(40);
  {
    std::lock_guard lock(probe().m);
    probe().edit =
        "INSERT INTO search_index_changes (inserted, removed) "
        "SELECT '[]', json_array(json_array(rowid, title, text)) FROM documents WHERE id = 'doc-100000';"
        "UPDATE documents SET text = 'a kingfisher on the bank', version = version + 1 "
        "WHERE id = 'doc-100000';";
  }
  const auto res = bulk_delete_herons();
  ASSERT_EQ(res.status, 200) << res.body;
  const auto body = boost::json::parse(res.body);
  EXPECT_EQ(body.at("deleted").as_int64(), 39) << res.body;
  for (const auto& item : body.at("results").as_array()) {
    EXPECT_NE(item.at("id").as_string(), "doc-100000") << res.body;
  }
  std::lock_guard lock(probe().m);
  EXPECT_TRUE(probe().edit.empty()) << "the search did not start: the test proves nothing";
  for (const auto& r : probe().refused) {
    ADD_FAILURE() << r;
  }
  EXPECT_EQ(number("SELECT count(*) FROM documents WHERE id = 'doc-100000'"), 1);
  EXPECT_EQ(number("SELECT count(*) FROM documents"), 2);  // it and the kingfisher
}

// More than 1,000 matches start a tracked job: the search that finds out, and the count that
// sets the job's total, both run before the write transaction that creates the job.
TEST_F(BulkSearchLockTest, AnotherWriterIsNotLockedOutWhileALargeFilteredBulkJobCounts) {
  add_documents(1500);
  const auto res = bulk_delete_herons();
  ASSERT_EQ(res.status, 202) << res.body;
  EXPECT_EQ(boost::json::parse(res.body).at("totalItems").as_int64(), 1500);
  std::lock_guard lock(probe().m);
  ASSERT_GE(probe().searches, 2) << "the hook did not see both the search and the count";
  for (const auto& r : probe().refused) {
    ADD_FAILURE() << "another writer was refused: " << r;
  }
  EXPECT_EQ(number("SELECT count(*) FROM settings WHERE key LIKE 'probe-%'"), probe().searches);
}

// The job then searches each batch's documents before it takes the write lock: the other
// program's writes go through during every search, and under the lock the job only checks a
// slice (at most 256 documents) of what it found against the filter again.
TEST_F(BulkSearchLockTest, ARunningFilteredBulkJobSearchesOutsideTheWriteLock) {
  add_documents(1500);
  std::mutex m;
  std::condition_variable cv;
  std::optional<domain::Job> finished;
  engine_->set_listener([&](const domain::Job& job, bool) {
    if (domain::is_finished(job.status)) {
      std::lock_guard lock(m);
      finished = job;
      cv.notify_all();
    }
  });
  engine_->start();
  struct Stop {  // before the listener's state goes, whatever the test's outcome
    sync::Engine& engine;
    ~Stop() { engine.stop(); }
  } stop{*engine_};
  arm(true);
  const auto res = bulk_delete_herons();
  ASSERT_EQ(res.status, 202) << res.body;
  arm(true);  // bulk_delete_herons disarms when the request ends; the job goes on
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return finished.has_value(); }))
        << "the job did not finish";
  }
  arm(false);
  EXPECT_EQ(finished->status, domain::JobStatus::completed) << finished->failure_reason;
  EXPECT_EQ(finished->counters.synced, 1500);
  std::lock_guard lock(probe().m);
  ASSERT_GE(probe().searches, 3) << "the hook did not see the job's searches";
  ASSERT_GE(probe().rechecks, 6) << "1,500 documents in slices of at most 256";
  EXPECT_LE(probe().largest_recheck, 256u);
  for (const auto& r : probe().refused) {
    ADD_FAILURE() << "another writer was refused: " << r;
  }
  EXPECT_EQ(number("SELECT count(*) FROM settings WHERE key LIKE 'probe-%'"), probe().searches);
  EXPECT_EQ(number("SELECT count(*) FROM documents"), 1);  // the kingfisher
}

}  // namespace
}  // namespace mladmin::api

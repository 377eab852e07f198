// The sync engine driven directly over a real SQLite store: claim, batches, pause, resume, cancel,
// retry, a restart in the middle of a job, and the counters every listener call carries
// (docs/sync-engine.md).
#include "sync/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "domain/error.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::sync {
namespace {

using namespace std::chrono_literals;
using domain::Job;
using domain::JobStatus;

constexpr auto kWait = 20s;  ///< the longest any condition is waited for (a failing test ends then)

class FixedClock final : public domain::Clock {
 public:
  domain::TimestampMs now_ms() const override { return now.load(); }
  std::atomic<domain::TimestampMs> now{1'800'000'000'000};
};

/// Holds the worker that commits a job's checkpoint inside the listener until the test lets it
/// go on: the test then knows exactly how far the job got.
class Gate {
 public:
  void arm() {
    std::lock_guard lock(m_);
    armed_ = true;
  }
  /// Lets every held and later worker through.
  void open() {
    {
      std::lock_guard lock(m_);
      armed_ = false;
    }
    cv_.notify_all();
  }
  /// Called by the listener: waits while armed and no step is allowed.
  void pass() {
    std::unique_lock lock(m_);
    if (!armed_) {
      return;
    }
    ++arrivals_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !armed_ || allowed_ > 0; });
    if (armed_) {
      --allowed_;
    }
  }
  /// Waits until a worker is held (true), up to kWait.
  bool wait_held() {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, kWait, [&] { return arrivals_ > 0; });
  }
  /// Lets the held worker go one step, then waits until it is held again (true) or end() was
  /// called (false).
  bool step() {
    std::unique_lock lock(m_);
    const int before = arrivals_;
    ++allowed_;
    cv_.notify_all();
    cv_.wait_for(lock, kWait, [&] { return arrivals_ > before || ended_; });
    return arrivals_ > before;
  }
  /// Tells step() that no worker will come again.
  void end() {
    {
      std::lock_guard lock(m_);
      ended_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool ended_ = false;
  int allowed_ = 0;
  int arrivals_ = 0;
};

struct Event {
  Job job;
  bool status_changed = false;
};

class EngineTest : public store::sqlite::TempStoreTest {
 protected:
  void SetUp() override {
    TempStoreTest::SetUp();
    options_.workers = 2;
    options_.batch_items = 100;
    options_.batch_time = 10s;      // batches end by count: the checkpoints are predictable
    options_.control_wait = 100ms;  // a control call returns soon even while the test holds a worker
  }
  void TearDown() override {
    gate_.open();
    engine_.reset();
    TempStoreTest::TearDown();
    EXPECT_TRUE(problems_.empty()) << problems_.front();
  }

  Engine& start_engine() {
    gate_.open();
    engine_.reset();
    engine_ = std::make_unique<Engine>(*store_, clock_, ids_, options_);
    engine_->set_listener([this](const Job& job, bool changed) { on_event(job, changed); });
    engine_->start();
    return *engine_;
  }

  /// Checks what every listener call must carry, records it, and holds the worker at a checkpoint
  /// while the gate is armed.
  void on_event(const Job& job, bool changed) {
    {
      std::lock_guard lock(m_);
      auto problem = [&](const std::string& what) {
        problems_.push_back("job " + job.id + " (" + std::string(domain::to_string(job.status)) +
                            "): " + what);
      };
      const auto& c = job.counters;
      if (c.synced < 0 || c.skipped < 0 || c.failed < 0 || c.processed() > c.total) {
        problem("counters do not add up: total " + std::to_string(c.total) + ", synced " +
                std::to_string(c.synced) + ", skipped " + std::to_string(c.skipped) + ", failed " +
                std::to_string(c.failed));
      }
      const int progress = domain::progress_percent(c, job.status);
      if (progress == 100 && job.status != JobStatus::completed && !domain::is_finished(job.status)) {
        problem("progress 100 before the job finished");
      }
      if (job.status == JobStatus::completed && progress != 100) {
        problem("a completed job at " + std::to_string(progress) + " %");
      }
      const auto last = last_status_.find(job.id);
      const bool expected_change = last == last_status_.end() || last->second != job.status;
      if (changed != expected_change) {
        problem(std::string("status_changed is ") + (changed ? "true" : "false") + " for a move from " +
                (last == last_status_.end() ? "nothing" : std::string(domain::to_string(last->second))));
      }
      if (last != last_status_.end() && job.attempt == last_attempt_[job.id] &&
          job.counters.processed() < last_processed_[job.id]) {
        problem("processed went back within one attempt");
      }
      // Counters count only committed work: a fresh store holds exactly the documents the
      // jobs of this test have synced so far (checked where each test has a single writer).
      if (check_documents_) {
        const auto docs =
            store_->read_value([](store::Reader& r) { return r.count_documents(std::nullopt); });
        if (docs != job.counters.synced) {
          problem("the store holds " + std::to_string(docs) + " documents, the job counts " +
                  std::to_string(job.counters.synced) + " synced");
        }
      }
      last_status_[job.id] = job.status;
      last_attempt_[job.id] = job.attempt;
      last_processed_[job.id] = job.counters.processed();
      events_.push_back({job, changed});
    }
    cv_.notify_all();
    if (job.status == JobStatus::running && !changed && gated_(job)) {
      gate_.pass();
    }
  }

  /// Waits until an event of `job_id` satisfies `pred`; returns it (or fails the test).
  Job wait_event(const std::string& job_id, const std::function<bool(const Job&)>& pred) {
    std::unique_lock lock(m_);
    std::optional<Job> found;
    cv_.wait_for(lock, kWait, [&] {
      for (const auto& e : events_) {
        if (e.job.id == job_id && pred(e.job)) {
          found = e.job;
          return true;
        }
      }
      return false;
    });
    if (!found) {
      ADD_FAILURE() << "no event of job " << job_id << " came that satisfies the condition";
      return Job{};
    }
    return *found;
  }
  Job wait_status(const std::string& job_id, JobStatus status) {
    return wait_event(job_id, [&](const Job& j) { return j.status == status; });
  }

  std::vector<Event> events_of(const std::string& job_id) {
    std::lock_guard lock(m_);
    std::vector<Event> out;
    for (const auto& e : events_) {
      if (e.job.id == job_id) {
        out.push_back(e);
      }
    }
    return out;
  }

  Job stored(const std::string& id) {
    return *store_->read_value([&](store::Reader& r) { return r.find_job(id); });
  }

  /// `n` valid journal entries, e0…e(n-1), of two owners.
  std::vector<std::string> seed(int n, int from = 0) {
    std::vector<domain::JournalEntry> records;
    for (int i = from; i < from + n; ++i) {
      domain::JournalEntry e;
      e.id = "e" + std::to_string(i);
      e.user_id = i % 2 == 0 ? "alice" : "bob";
      e.title = "title " + std::to_string(i);
      e.body = "body of entry " + std::to_string(i);
      e.mood = 3;
      e.created_at = e.updated_at = 1'700'000'000'000 + i;
      records.push_back(std::move(e));
    }
    store_->write([&](store::Writer& w) { w.save_journal_entries(records); });
    std::vector<std::string> ids;
    for (const auto& r : records) {
      ids.push_back(r.id);
    }
    return ids;
  }

  void save(domain::JournalEntry e) {
    store_->write([&](store::Writer& w) { w.save_journal_entry(e); });
  }
  domain::JournalEntry entry(const std::string& id) {
    return *store_->read_value([&](store::Reader& r) { return r.find_journal_entry(id); });
  }

  /// The number of documents, and whether every one of `ids` has one.
  std::int64_t documents() {
    return store_->read_value([](store::Reader& r) { return r.count_documents(std::nullopt); });
  }
  bool all_present(const std::vector<std::string>& ids) {
    const auto found = store_->read_value(
        [&](store::Reader& r) { return r.document_hashes(domain::SourceType::journal_entries, ids); });
    return found.size() == ids.size();
  }

  StartRequest all_users(domain::SyncMode mode = domain::SyncMode::incremental) {
    StartRequest req;
    req.scope = domain::JobScope::all;
    req.mode = mode;
    req.started_by = "admin";
    return req;
  }

  FixedClock clock_;
  domain::SystemClock id_clock_;
  domain::UuidV7Generator ids_{id_clock_};
  EngineOptions options_;
  Gate gate_;
  std::function<bool(const Job&)> gated_ = [](const Job&) { return true; };  ///< jobs the gate holds
  std::atomic<bool> check_documents_ = true;

  std::mutex m_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::vector<std::string> problems_;
  std::map<std::string, JobStatus> last_status_;
  std::map<std::string, int> last_attempt_;
  std::map<std::string, std::int64_t> last_processed_;

  std::unique_ptr<Engine> engine_;  // last: destroyed (stopped) first
};

TEST_F(EngineTest, AnEmptySyncCompletesAtFullProgress) {
  auto& engine = start_engine();
  const auto job = engine.start_sync(all_users());
  EXPECT_EQ(job.status, JobStatus::queued);
  const auto done = wait_status(job.id, JobStatus::completed);
  EXPECT_EQ(done.counters.total, 0);
  EXPECT_EQ(domain::progress_percent(done.counters, done.status), 100);
  EXPECT_TRUE(done.end_time.has_value());
  std::vector<JobStatus> statuses;
  for (const auto& e : events_of(job.id)) {
    statuses.push_back(e.job.status);
  }
  EXPECT_EQ(statuses, (std::vector{JobStatus::queued, JobStatus::running, JobStatus::completed}));
}

TEST_F(EngineTest, ClaimsTheJobAndCommitsItsRecordsInBatches) {
  const auto ids = seed(450);
  auto& engine = start_engine();
  const auto job = engine.start_sync(all_users());
  const auto done = wait_status(job.id, JobStatus::completed);
  EXPECT_EQ(done.counters.total, 450);
  EXPECT_EQ(done.counters.synced, 450);
  EXPECT_EQ(done.counters.failed, 0);
  EXPECT_EQ(documents(), 450);
  EXPECT_TRUE(all_present(ids));

  const auto events = events_of(job.id);
  ASSERT_GE(events.size(), 3U);
  EXPECT_EQ(events[1].job.status, JobStatus::running);  // the claim fixes the range
  EXPECT_EQ(events[1].job.counters.total, 450);
  EXPECT_EQ(events[1].job.counters.processed(), 0);
  std::vector<std::int64_t> checkpoints;
  for (const auto& e : events) {
    if (e.job.status == JobStatus::running && !e.status_changed) {
      checkpoints.push_back(e.job.counters.processed());
    }
  }
  // A checkpoint at least every batch_items items.
  ASSERT_GE(checkpoints.size(), 4U);
  std::int64_t before = 0;
  for (auto c : checkpoints) {
    EXPECT_GT(c, before);
    EXPECT_LE(c - before, 100);
    before = c;
  }
  EXPECT_EQ(stored(job.id).status, JobStatus::completed);
}

TEST_F(EngineTest, ASecondSyncOfTheSameScopeIsRefusedWhileOneIsActive) {
  seed(300);
  auto& engine = start_engine();
  gate_.arm();
  const auto job = engine.start_sync(all_users());
  ASSERT_TRUE(gate_.wait_held());
  try {
    engine.start_sync(all_users());
    ADD_FAILURE() << "a second sync of the same scope started";
  } catch (const domain::Error& e) {
    EXPECT_EQ(e.code(), "sync_already_active");
  }
  gate_.open();
  wait_status(job.id, JobStatus::completed);
}

TEST_F(EngineTest, IncrementalSyncTakesOnlyChangesAndFullSyncSkipsUnchangedContent) {
  const auto ids = seed(250);
  auto& engine = start_engine();
  auto first = engine.start_sync(all_users());
  wait_status(first.id, JobStatus::completed);

  check_documents_ = false;  // a later job counts only its own writes
  auto changed = entry("e1");
  changed.body = "a new body";
  save(changed);
  auto same = entry("e2");
  save(same);  // a new change with the same content
  auto gone = entry("e3");
  gone.deleted_at = clock_.now_ms();
  save(gone);
  seed(2, 1000);

  const auto second = engine.start_sync(all_users());
  const auto inc = wait_status(second.id, JobStatus::completed);
  EXPECT_EQ(inc.counters.total, 5);
  EXPECT_EQ(inc.counters.synced, 4);  // e1 rewritten, e3's document removed, two new ones
  EXPECT_EQ(inc.counters.skipped, 1);
  EXPECT_EQ(documents(), 250 - 1 + 2);

  const auto third = engine.start_sync(all_users(domain::SyncMode::full));
  const auto full = wait_status(third.id, JobStatus::completed);
  EXPECT_EQ(full.counters.total, 252);
  EXPECT_EQ(full.counters.synced, 0);
  EXPECT_EQ(full.counters.skipped, 252);  // unchanged content, and a tombstone with no document
  EXPECT_EQ(documents(), 251);
}

TEST_F(EngineTest, InvalidItemsFailAndARetryOfTheCompletedJobTakesOnlyThem) {
  seed(150);
  for (const char* id : {"e7", "e70"}) {
    auto bad = entry(id);
    bad.body = "   ";
    save(bad);
  }
  auto& engine = start_engine();
  const auto job = engine.start_sync(all_users());
  const auto done = wait_status(job.id, JobStatus::completed);
  EXPECT_EQ(done.counters.total, 150);  // the bad versions replaced the first ones
  EXPECT_EQ(done.counters.synced, 148);
  EXPECT_EQ(done.counters.failed, 2);
  EXPECT_EQ(done.error_count, 2);
  ASSERT_EQ(done.errors.size(), 2U);
  EXPECT_EQ(done.errors[0].item_id, "e7");

  for (const char* id : {"e7", "e70"}) {
    auto fixed = entry(id);
    fixed.body = "fixed";
    save(fixed);
  }
  const auto again = engine.retry(job.id);
  EXPECT_EQ(again.status, JobStatus::queued);
  EXPECT_EQ(again.attempt, 2);
  EXPECT_EQ(again.counters.failed, 0);  // the two are to be processed again
  const auto redone =
      wait_event(job.id, [](const Job& j) { return j.attempt == 2 && j.status == JobStatus::completed; });
  EXPECT_EQ(redone.counters.total, 150);
  EXPECT_EQ(redone.counters.synced, 150);
  EXPECT_EQ(redone.counters.failed, 0);
  EXPECT_EQ(documents(), 150);

  try {
    engine.retry(job.id);
    ADD_FAILURE() << "a completed job without failed items was retried";
  } catch (const domain::Error& e) {
    EXPECT_EQ(e.code(), "nothing_to_retry");
  }
}

TEST_F(EngineTest, PauseHoldsTheJobAtACheckpointAndResumeFinishesIt) {
  const auto ids = seed(500);
  auto& engine = start_engine();
  gate_.arm();
  const auto job = engine.start_sync(all_users());
  ASSERT_TRUE(gate_.wait_held());  // the worker holds its first checkpoint's event
  // pause() asks, then waits control_wait for the held worker; once it returned, the request
  // is in place, and the worker takes it at its next step.
  engine.pause(job.id);
  gate_.open();
  const auto paused = wait_status(job.id, JobStatus::paused);
  EXPECT_GT(paused.counters.processed(), 0);
  EXPECT_LT(paused.counters.processed(), 500);
  EXPECT_EQ(stored(job.id).status, JobStatus::paused);
  EXPECT_EQ(documents(), paused.counters.synced);

  try {
    engine.pause(job.id);
    ADD_FAILURE() << "a paused job was paused again";
  } catch (const domain::Error& e) {
    EXPECT_EQ(e.code(), "illegal_transition");
  }

  const auto resumed = engine.resume(job.id);
  EXPECT_NE(resumed.status, JobStatus::paused);
  const auto done = wait_status(job.id, JobStatus::completed);
  EXPECT_EQ(done.counters.synced, 500);
  EXPECT_EQ(documents(), 500);
  EXPECT_TRUE(all_present(ids));
}

TEST_F(EngineTest, CancelEndsTheJobAndARetryGoesOnFromItsCheckpoint) {
  const auto ids = seed(500);
  auto& engine = start_engine();
  gate_.arm();
  const auto job = engine.start_sync(all_users());
  ASSERT_TRUE(gate_.wait_held());
  engine.cancel(job.id);
  gate_.open();
  const auto cancelled = wait_status(job.id, JobStatus::cancelled);
  EXPECT_TRUE(cancelled.cancel_requested);
  EXPECT_TRUE(cancelled.end_time.has_value());
  EXPECT_GT(cancelled.counters.processed(), 0);
  EXPECT_LT(cancelled.counters.processed(), 500);
  EXPECT_EQ(documents(), cancelled.counters.synced);

  try {
    engine.resume(job.id);
    ADD_FAILURE() << "a cancelled job was resumed";
  } catch (const domain::Error& e) {
    EXPECT_EQ(e.code(), "illegal_transition");
  }

  const auto again = engine.retry(job.id);
  EXPECT_EQ(again.attempt, 2);
  const auto done =
      wait_event(job.id, [](const Job& j) { return j.attempt == 2 && j.status == JobStatus::completed; });
  EXPECT_EQ(done.counters.total, 500);
  EXPECT_EQ(done.counters.synced, 500);  // the first attempt's items were not taken again
  EXPECT_EQ(documents(), 500);
  EXPECT_TRUE(all_present(ids));
}

TEST_F(EngineTest, AJobStoppedMidwayResumesFromItsCheckpointInANewEngine) {
  const auto ids = seed(1000);
  auto& engine = start_engine();
  gate_.arm();
  const auto job = engine.start_sync(all_users());
  ASSERT_TRUE(gate_.wait_held());
  // stop() from another thread; the test lets the held worker go one batch at a time until
  // stop() returns, so the job is interrupted within a few batches of where it was.
  auto stopped = std::async(std::launch::async, [&] {
    engine.stop();
    gate_.end();
  });
  while (gate_.step()) {
  }
  stopped.get();
  const auto interrupted = stored(job.id);
  EXPECT_EQ(interrupted.status, JobStatus::interrupted);
  EXPECT_LT(interrupted.counters.processed(), 1000);
  EXPECT_EQ(documents(), interrupted.counters.synced);

  start_engine();  // a new process: the job is requeued and goes on from its checkpoint
  const auto done = wait_status(job.id, JobStatus::completed);
  EXPECT_EQ(done.counters.total, 1000);
  EXPECT_EQ(done.counters.synced, 1000);
  EXPECT_EQ(documents(), 1000);
  EXPECT_TRUE(all_present(ids));
}

}  // namespace
}  // namespace mladmin::sync

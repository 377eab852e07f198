// A filtered bulk job over a real SQLite store (docs/security.md, "Limits"): each batch's search
// runs before the write lock (JobStep::prepare) and the write acts only on the candidates that
// still match then; a search past [search] bulk_deadline_ms fails the job with a reason a person
// can act on, having changed nothing.
#include "sync/bulk.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "domain/ids.hpp"
#include "domain/testing/fixed_clock.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"
#include "sync/engine.hpp"

namespace mladmin::sync {
namespace {

using namespace std::chrono_literals;

class BulkStepTest : public store::sqlite::TempStoreTest {
 protected:
  /// Writes (or rewrites: same source id, same seq) the document of source id `source_id`.
  void put(const std::string& source_id, const std::string& text) {
    store::DocumentWrite d;
    d.id = "doc-" + source_id;
    d.user_id = "u1";
    d.source_id = source_id;
    d.title = "Entry " + source_id;
    d.text = text;
    d.metadata_json = "{}";
    d.content_hash = "h-" + text;
    d.synced_at = 1'000'000;
    d.source_created_at = 1'000'000;
    d.job_id = "sync";
    store_->write([&](store::Writer& w) { w.upsert_documents(domain::SourceType::journal_entries, {d}); });
  }

  /// `n` documents whose text holds "heron", in one transaction.
  void put_herons(int n) {
    std::vector<store::DocumentWrite> docs;
    for (int i = 0; i < n; ++i) {
      store::DocumentWrite d;
      d.id = "doc-s" + std::to_string(i);
      d.user_id = "u1";
      d.source_id = "s" + std::to_string(i);
      d.title = "Entry " + std::to_string(i);
      d.text = "heron number " + std::to_string(i);
      d.metadata_json = "{}";
      d.content_hash = "h" + std::to_string(i);
      d.synced_at = d.source_created_at = 1'000'000 + i;
      d.job_id = "sync";
      docs.push_back(std::move(d));
    }
    store_->write([&](store::Writer& w) { w.upsert_documents(domain::SourceType::journal_entries, docs); });
  }

  bool exists(const std::string& source_id) {
    return store_->read_value([&](store::Reader& r) { return r.find_document("doc-" + source_id); })
        .has_value();
  }

  /// A bulk delete job of the documents matching "heron", as Engine::start_bulk makes it.
  domain::Job heron_job() {
    domain::Job job;
    job.id = "bulk-1";
    job.type = domain::JobType::bulk_delete;
    job.status = domain::JobStatus::running;
    domain::DocumentFilterSpec spec;
    spec.q = "heron";
    job.bulk = domain::BulkParams{spec, 0};
    job.target_seq = store_->read_value([](store::Reader& r) { return r.max_document_seq(); });
    job.counters.total = 3;
    return job;
  }

  domain::FixedClock clock_{1'800'000'000'000};
  domain::SystemClock id_clock_;
  domain::UuidV7Generator ids_{id_clock_};
};

// The race the re-check closes: the search (outside the write lock) finds three documents, a sync
// then rewrites one so that it no longer matches, and the batch's write deletes only the two that
// still match.
TEST_F(BulkStepTest, ADocumentThatStoppedMatchingBetweenTheSearchAndTheWriteIsLeftAlone) {
  put("a", "a grey heron by the river");
  put("b", "another heron on the bank");
  put("c", "a heron again");
  put("d", "a kingfisher");
  auto job = heron_job();
  auto step = make_bulk_step(job, clock_, ids_, 10s);
  BatchLimits limits;
  limits.max_items = 100;
  limits.interrupted = [] { return false; };

  store_->read([&](store::Reader& r) { step->prepare(r, job, limits); });
  put("b", "another kingfisher on the bank");  // a sync changed it after the search
  bool done = false;
  std::vector<domain::ItemError> errors;
  store_->write([&](store::Writer& w) {
    limits.deadline = std::chrono::steady_clock::now() + 1h;
    done = step->batch(w, job, limits, errors);
  });
  EXPECT_FALSE(done);
  EXPECT_FALSE(exists("a"));
  EXPECT_TRUE(exists("b")) << "a document that no longer matches the filter was deleted";
  EXPECT_FALSE(exists("c"));
  EXPECT_TRUE(exists("d"));
  EXPECT_EQ(job.counters.synced, 2);
  EXPECT_TRUE(errors.empty());

  // The next search finds nothing more: the job completes, the changed document counted skipped.
  store_->read([&](store::Reader& r) { step->prepare(r, job, limits); });
  store_->write([&](store::Writer& w) {
    done = step->batch(w, job, limits, errors);
    if (done) {
      step->completed(w, job);
    }
  });
  EXPECT_TRUE(done);
  EXPECT_EQ(job.counters.synced, 2);
  EXPECT_EQ(job.counters.skipped, 1);
  EXPECT_TRUE(exists("b"));
}

// A batch never searches under the write lock without its search having run first.
TEST_F(BulkStepTest, AFilteredBatchRefusesToRunWithoutItsSearch) {
  put("a", "a grey heron");
  auto job = heron_job();
  auto step = make_bulk_step(job, clock_, ids_, 10s);
  BatchLimits limits;
  limits.interrupted = [] { return false; };
  std::vector<domain::ItemError> errors;
  EXPECT_THROW(store_->write([&](store::Writer& w) {
    limits.deadline = std::chrono::steady_clock::now() + 1h;
    step->batch(w, job, limits, errors);
  }),
               std::logic_error);
  EXPECT_TRUE(exists("a"));
}

// The count that fixes a new job's total has the deadline too: past it, start_bulk answers
// query_timeout and creates no job.
TEST_F(BulkStepTest, ACountPastTheDeadlineCreatesNoJob) {
  put_herons(3000);
  EngineOptions options;
  options.bulk_search_deadline = 1us;
  Engine engine(*store_, clock_, ids_, options);  // not started
  BulkStartRequest req;
  domain::DocumentFilterSpec spec;
  spec.q = "heron";
  req.target.filter = spec;
  req.started_by = "ml";
  bool audited = false;
  req.on_created = [&](store::Writer&, const domain::Job&) { audited = true; };
  try {
    engine.start_bulk(req);
    ADD_FAILURE() << "the count ran past its deadline";
  } catch (const domain::Error& e) {
    EXPECT_EQ(e.code(), "query_timeout");
    EXPECT_EQ(e.kind(), domain::ErrorKind::unavailable);
  }
  EXPECT_FALSE(audited);
  EXPECT_TRUE(store_->read_value([](store::Reader& r) { return r.list_jobs({}); }).items.empty());
}

// A running job whose search passes its deadline fails with a reason naming the setting, and the
// batch it was searching for deletes nothing. The job is created by an engine without a deadline
// (its count at creation runs to the end) and run by one with a deadline of 1 µs, over before
// SQLite first asks (every 1,000 virtual machine steps).
TEST_F(BulkStepTest, ARunningJobWhoseSearchPassesItsDeadlineFailsAndDeletesNothing) {
  put_herons(3000);
  EngineOptions creating;
  creating.bulk_search_deadline = 0us;
  std::string job_id;
  {
    Engine engine(*store_, clock_, ids_, creating);  // never started: it only creates the job
    BulkStartRequest req;
    req.action = BulkAction::remove;
    domain::DocumentFilterSpec spec;
    spec.q = "heron";
    req.target.filter = spec;
    req.started_by = "ml";
    const auto job = engine.start_bulk(req);
    ASSERT_EQ(job.counters.total, 3000);
    job_id = job.id;
  }

  std::mutex m;
  std::condition_variable cv;
  std::optional<domain::Job> finished;
  EngineOptions running;
  running.workers = 1;
  running.bulk_search_deadline = 1us;
  Engine engine(*store_, clock_, ids_, running);
  engine.set_listener([&](const domain::Job& job, bool) {
    if (job.id == job_id && domain::is_finished(job.status)) {
      std::lock_guard lock(m);
      finished = job;
      cv.notify_all();
    }
  });
  engine.start();
  struct Stop {  // before the listener's state goes, whatever the test's outcome
    Engine& engine;
    ~Stop() { engine.stop(); }
  } stop{engine};
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return finished.has_value(); })) << "the job did not finish";
  }
  EXPECT_EQ(finished->status, domain::JobStatus::failed);
  const auto& reason = finished->failure_reason;
  EXPECT_NE(reason.find("bulk_deadline_ms"), std::string::npos) << reason;
  EXPECT_NE(reason.find("retry the job"), std::string::npos) << reason;
  EXPECT_EQ(finished->counters.processed(), 0);
  EXPECT_EQ(store_->read_value([](store::Reader& r) { return r.count_documents(std::nullopt); }), 3000);
}

}  // namespace
}  // namespace mladmin::sync

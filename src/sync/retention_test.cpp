#include "sync/retention.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "domain/testing/eventually.hpp"
#include "domain/testing/fixed_clock.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::sync {
namespace {

using namespace std::chrono_literals;

constexpr domain::TimestampMs kDay = 24LL * 3600 * 1000;
constexpr domain::TimestampMs kNow = 20000 * kDay;

class RetentionTest : public store::sqlite::TempStoreTest {
 protected:
  /// A finished job (or an active one when `status` says so) that ended `days_ago`.
  void add_job(const std::string& id, domain::JobStatus status, int days_ago) {
    domain::Job j;
    j.id = id;
    j.user_id = "starter";
    j.status = status;
    j.scope_user_id = "owner-" + id;
    j.created_at = j.updated_at = kNow - days_ago * kDay - 1000;
    if (domain::is_finished(status)) {
      j.end_time = kNow - days_ago * kDay;
    }
    store_->write([&](store::Writer& w) {
      ASSERT_TRUE(w.insert_job(j));
      w.append_job_errors(id, 1, {{"item", "body is empty", j.created_at}});
    });
  }

  bool exists(const std::string& id) {
    return store_->read_value([&](store::Reader& r) { return r.find_job(id).has_value(); });
  }

  domain::FixedClock clock_{kNow};
};

TEST_F(RetentionTest, ASweepDeletesEveryFinishedJobPastTheRetentionAcrossChunks) {
  for (int i = 0; i < 25; ++i) {
    add_job("old-" + std::to_string(i),
            i % 2 == 0 ? domain::JobStatus::completed : domain::JobStatus::cancelled, 91 + i);
  }
  add_job("recent", domain::JobStatus::failed, 89);
  add_job("stuck", domain::JobStatus::interrupted, 400);
  RetentionOptions options;
  options.jobs_per_chunk = 10;
  RetentionSweeper sweeper(*store_, clock_, options);
  EXPECT_EQ(sweeper.sweep(), 25);
  for (int i = 0; i < 25; ++i) {
    EXPECT_FALSE(exists("old-" + std::to_string(i))) << i;
  }
  EXPECT_TRUE(exists("recent"));
  EXPECT_TRUE(exists("stuck"));
  EXPECT_EQ(sweeper.sweep(), 0);

  // A day later the job that ended 89 days ago is still within 90; at 91 days it goes.
  clock_.now = kNow + kDay;
  EXPECT_EQ(sweeper.sweep(), 0);
  clock_.now = kNow + 2 * kDay;
  EXPECT_EQ(sweeper.sweep(), 1);
  EXPECT_FALSE(exists("recent"));
  EXPECT_TRUE(exists("stuck"));
}

TEST_F(RetentionTest, ZeroDaysKeepsEveryJob) {
  add_job("ancient", domain::JobStatus::completed, 10000);
  RetentionOptions options;
  options.days = 0;
  RetentionSweeper sweeper(*store_, clock_, options);
  EXPECT_EQ(sweeper.sweep(), 0);
  sweeper.start();  // no thread at all
  sweeper.stop();
  EXPECT_TRUE(exists("ancient"));
}

TEST_F(RetentionTest, TheBackgroundThreadSweepsEveryIntervalAndStopsPromptly) {
  RetentionOptions options;
  options.interval = 20ms;
  RetentionSweeper sweeper(*store_, clock_, options);
  sweeper.start();
  add_job("old", domain::JobStatus::completed, 200);
  // The sweeper's thread announces nothing: look until the row is gone, with a deadline.
  EXPECT_TRUE(domain::eventually([&] { return !exists("old"); }, 10s, 5ms));
  sweeper.stop();

  // A sweeper waiting for its hourly turn stops at once.
  RetentionSweeper hourly(*store_, clock_, RetentionOptions{});
  hourly.start();
  const auto before = std::chrono::steady_clock::now();
  hourly.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

}  // namespace
}  // namespace mladmin::sync

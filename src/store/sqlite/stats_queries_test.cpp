#include "store/sqlite/stats_queries.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::store::sqlite {

namespace {

using domain::SourceType;
using CountMap = std::map<std::tuple<std::string, std::string>, std::int64_t>;

constexpr domain::TimestampMs kHour = domain::kHourMs;
// 2026-03-04T00:00:00Z: a day boundary, so that hour and day buckets are easy to read.
constexpr domain::TimestampMs kT0 = 1772582400000;

class StatsQueriesTest : public TempStoreTest {
 protected:
  /// Opens the store's file again (after store_.reset()).
  void open() {
    store_ = std::make_unique<SqliteStore>(path(), 2);
    store_->migrate();
  }
  std::string path() const { return (dir_ / "t.db").string(); }

  static DocumentWrite doc(const std::string& source_id, const std::string& user_id, SourceType type,
                           const std::string& text = "some text") {
    DocumentWrite d;
    d.id = "doc-" + source_id + "-" + text;  // a new id per write, as the engine does
    d.user_id = user_id;
    d.source_type = type;
    d.source_id = source_id;
    d.title = "t";
    d.text = text;
    d.metadata_json = "{}";
    d.content_hash = "h-" + text;
    d.synced_at = 1;
    return d;
  }

  void upsert(SourceType type, const std::vector<DocumentWrite>& docs) {
    store_->write([&](Writer& w) { w.upsert_documents(type, docs); });
  }
  std::int64_t remove(SourceType type, const std::vector<std::string>& ids) {
    return store_->write_value([&](Writer& w) { return w.delete_documents(type, ids); });
  }

  /// The counters table, and what a full GROUP BY over the documents says it should hold.
  CountMap counters() { return group(path(), "SELECT user_id, source_type, count FROM document_counts"); }
  CountMap truth() {
    return group(path(),
                 "SELECT user_id, source_type, count(*) FROM documents GROUP BY user_id, source_type");
  }
  static CountMap group(const std::string& file, const std::string& sql) {
    Connection c(file);
    auto st = c.prepare(sql);
    CountMap out;
    while (st.step()) {
      out[{st.text(0), st.text(1)}] = st.int64(2);
    }
    return out;
  }
  void exec(const std::string& sql) {
    Connection c(path());
    c.exec(sql);
  }

  StatsReport stats(domain::TimestampMs from, domain::TimestampMs to,
                    domain::StatsBucket bucket = domain::StatsBucket::hour, std::size_t top = 10) {
    StatsQuery q;
    q.from = from;
    q.to = to;
    q.bucket = bucket;
    q.top_users = top;
    return store_->read_value([&](Reader& r) { return r.read_stats(q); });
  }

  /// A finished sync job with the given figures, written as the engine leaves it.
  void finished_job(const std::string& id, domain::JobStatus status, domain::TimestampMs start,
                    domain::TimestampMs end, std::int64_t synced, std::int64_t skipped, std::int64_t failed,
                    const std::string& reason = "", domain::JobType type = domain::JobType::journal_entries) {
    domain::Job j;
    j.id = id;
    j.user_id = "starter";
    j.type = type;
    j.status = domain::JobStatus::running;
    j.scope = domain::JobScope::user;
    j.scope_user_id = "owner-" + id;
    j.created_at = j.updated_at = start;
    store_->write([&](Writer& w) { ASSERT_TRUE(w.insert_job(j)); });
    j.status = status;
    j.start_time = start;
    j.end_time = end;
    j.running_ms = end - start;
    j.counters = {synced + skipped + failed, synced, skipped, failed};
    j.failure_reason = reason;
    store_->write([&](Writer& w) { w.save_job(j); });
  }
};

}  // namespace

TEST_F(StatsQueriesTest, CountersFollowInsertsButNotUpdates) {
  upsert(SourceType::journal_entries,
         {doc("j1", "alice", SourceType::journal_entries), doc("j2", "alice", SourceType::journal_entries),
          doc("j3", "bob", SourceType::journal_entries)});
  upsert(SourceType::goals, {doc("g1", "alice", SourceType::goals)});
  EXPECT_EQ(counters(), truth());
  EXPECT_EQ((counters()[{"alice", "journal_entries"}]), 2);

  // New content for existing documents (a re-sync), and one new document in the same call.
  upsert(SourceType::journal_entries, {doc("j1", "alice", SourceType::journal_entries, "changed"),
                                       doc("j3", "bob", SourceType::journal_entries, "changed"),
                                       doc("j4", "bob", SourceType::journal_entries)});
  EXPECT_EQ(counters(), truth());
  EXPECT_EQ((counters()[{"alice", "journal_entries"}]), 2);
  EXPECT_EQ((counters()[{"bob", "journal_entries"}]), 2);
  // The same source id twice in one call: one document.
  upsert(SourceType::goals,
         {doc("g2", "carol", SourceType::goals, "a"), doc("g2", "carol", SourceType::goals, "b")});
  EXPECT_EQ(counters(), truth());
  EXPECT_EQ((counters()[{"carol", "goals"}]), 1);
}

TEST_F(StatsQueriesTest, CountersFollowDeletesAndAReSyncAfterThem) {
  upsert(SourceType::journal_entries,
         {doc("j1", "alice", SourceType::journal_entries), doc("j2", "alice", SourceType::journal_entries),
          doc("j3", "bob", SourceType::journal_entries)});
  // Source ids of the other type, unknown ones and repeated ones remove nothing more.
  EXPECT_EQ(remove(SourceType::goals, {"j1"}), 0);
  EXPECT_EQ(remove(SourceType::journal_entries, {"j1", "j1", "nope"}), 1);
  EXPECT_EQ(counters(), truth());
  EXPECT_EQ((counters()[{"alice", "journal_entries"}]), 1);

  // Bob's last document goes: his row goes with it rather than staying at 0.
  EXPECT_EQ(remove(SourceType::journal_entries, {"j3"}), 1);
  EXPECT_EQ(counters(), truth());
  EXPECT_FALSE(counters().contains({"bob", "journal_entries"}));

  // The record comes back (a tombstone undone, synced again).
  upsert(SourceType::journal_entries, {doc("j1", "alice", SourceType::journal_entries)});
  upsert(SourceType::journal_entries, {doc("j3", "bob", SourceType::journal_entries)});
  EXPECT_EQ(counters(), truth());
  const auto report = stats(kT0, kT0 + kHour);
  EXPECT_EQ(report.documents.journal_entries, 3);
  EXPECT_EQ(report.documents.goals, 0);
}

TEST_F(StatsQueriesTest, CountersRollBackWithTheirTransaction) {
  upsert(SourceType::journal_entries, {doc("j1", "alice", SourceType::journal_entries)});
  EXPECT_THROW(store_->write([&](Writer& w) {
    w.upsert_documents(SourceType::journal_entries, {doc("j2", "alice", SourceType::journal_entries)});
    w.delete_documents(SourceType::journal_entries, {"j1"});
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(counters(), truth());
  EXPECT_EQ((counters()[{"alice", "journal_entries"}]), 1);
}

TEST_F(StatsQueriesTest, MigrationBackfillsCountersOfAnExistingDatabase) {
  // A database as it was before migration 0009: documents and item errors, no counters.
  upsert(SourceType::journal_entries,
         {doc("j1", "alice", SourceType::journal_entries), doc("j2", "alice", SourceType::journal_entries),
          doc("j3", "bob", SourceType::journal_entries)});
  upsert(SourceType::goals, {doc("g1", "bob", SourceType::goals)});
  store_.reset();
  exec(
      "DROP TABLE document_counts; DROP TABLE job_error_counts; DROP INDEX jobs_stats_by_end_time;"
      "CREATE INDEX jobs_by_end_time ON jobs (end_time) WHERE slot IS NULL;"
      // 0011 runs again too: the jobs table as it was before it.
      "ALTER TABLE jobs ADD COLUMN params TEXT;"
      "ALTER TABLE jobs DROP COLUMN bulk_target; ALTER TABLE jobs DROP COLUMN bulk_id_count;"
      "ALTER TABLE jobs DROP COLUMN bulk_filter_q; ALTER TABLE jobs DROP COLUMN bulk_filter_type;"
      "ALTER TABLE jobs DROP COLUMN bulk_filter_user_id; ALTER TABLE jobs DROP COLUMN bulk_filter_from;"
      "ALTER TABLE jobs DROP COLUMN bulk_filter_to; ALTER TABLE jobs DROP COLUMN bulk_filter_date_field;"
      "DELETE FROM schema_migrations WHERE version >= 9;"  // 0009 and the later ones run again
      "INSERT INTO job_errors (job_id, seq, item_id, reason, at) VALUES"
      " ('job1', 1, 'a', 'mood 7 is outside 1-5', 1772582400000),"
      " ('job1', 2, 'b', 'mood 0 is outside 1-5', 1772582400001),"
      " ('job1', 3, 'c', 'status ''it''s'' is neither open nor done', 1772582400002),"
      " ('job1', 4, 'd', 'body is empty', 1772586000000);");
  open();
  EXPECT_EQ(counters(), truth());
  EXPECT_EQ((counters()[{"alice", "journal_entries"}]), 2);
  const auto report = stats(kT0, kT0 + 2 * kHour);
  EXPECT_EQ(report.documents.journal_entries, 3);
  EXPECT_EQ(report.documents.goals, 1);
  // The SQL backfill groups as domain::failure_kind does.
  ASSERT_EQ(report.item_failures.size(), 3u);
  EXPECT_EQ(report.item_failures[0].reason, domain::failure_kind("mood 7 is outside 1-5"));
  EXPECT_EQ(report.item_failures[0].count, 2);
  EXPECT_EQ(report.item_failures[1].reason, "body is empty");
  EXPECT_EQ(report.item_failures[2].reason, domain::failure_kind("status 'it's' is neither open nor done"));
  EXPECT_EQ(report.item_failures[2].count, 1);
}

TEST_F(StatsQueriesTest, TopUsersAreOrderedByDocumentsAndNameDeletedUsersAsNull) {
  domain::User u;
  u.id = "alice";
  u.email = "alice@stats.test";
  u.name = "Alice";
  u.password_hash = "x";
  store_->write([&](Writer& w) { ASSERT_TRUE(w.insert_user(u)); });
  upsert(SourceType::journal_entries,
         {doc("j1", "alice", SourceType::journal_entries), doc("j2", "ghost", SourceType::journal_entries),
          doc("j3", "ghost", SourceType::journal_entries), doc("j4", "bob", SourceType::journal_entries)});
  upsert(SourceType::goals, {doc("g1", "alice", SourceType::goals), doc("g2", "alice", SourceType::goals)});
  const auto report = stats(kT0, kT0 + kHour, domain::StatsBucket::hour, 2);
  ASSERT_EQ(report.top_users.size(), 2u);
  EXPECT_EQ(report.top_users[0].user_id, "alice");
  EXPECT_EQ(report.top_users[0].email, "alice@stats.test");
  EXPECT_EQ(report.top_users[0].name, "Alice");
  EXPECT_EQ(report.top_users[0].documents.journal_entries, 1);
  EXPECT_EQ(report.top_users[0].documents.goals, 2);
  EXPECT_EQ(report.top_users[1].user_id, "ghost");  // no users row: deleted
  EXPECT_FALSE(report.top_users[1].email.has_value());
  EXPECT_FALSE(report.top_users[1].name.has_value());
  EXPECT_EQ(report.documents.total(), 6);
}

TEST_F(StatsQueriesTest, PendingCountsChangesAfterTheAllUsersWatermark) {
  std::vector<domain::JournalEntry> entries(5);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    entries[i].id = "e" + std::to_string(i);
    entries[i].user_id = "alice";
    entries[i].title = entries[i].body = "x";
  }
  store_->write([&](Writer& w) { w.save_journal_entries(entries); });
  EXPECT_EQ(stats(kT0, kT0 + kHour).pending.journal_entries, 5);
  store_->write([&](Writer& w) {
    w.set_watermark("all|journal_entries", entries[2].change_seq);
    w.set_watermark("user:alice|journal_entries", entries[4].change_seq);  // another scope: no effect
  });
  auto report = stats(kT0, kT0 + kHour);
  EXPECT_EQ(report.pending.journal_entries, 2);
  EXPECT_EQ(report.pending.goals, 0);
  // A tombstone is a change too.
  entries[0].deleted_at = 5;
  store_->write([&](Writer& w) { w.save_journal_entry(entries[0]); });
  EXPECT_EQ(stats(kT0, kT0 + kHour).pending.journal_entries, 3);
}

TEST_F(StatsQueriesTest, JobFiguresCountJobsThatEndedInTheRangeInTheirBucket) {
  using S = domain::JobStatus;
  finished_job("a", S::completed, kT0 + 10 * 60000, kT0 + 20 * 60000, 90, 5, 5);  // 00:20, 10 min
  finished_job("b", S::failed, kT0 + 50 * 60000, kT0 + 70 * 60000, 10, 0, 0, "sink answered 503");  // 01:10
  finished_job("c", S::cancelled, kT0 + 3 * kHour, kT0 + 3 * kHour + 1000, 0, 0, 0);  // 03:00:01
  finished_job("d", S::completed, kT0 - 2000, kT0 - 1000, 7, 0, 0);                   // before the range
  finished_job("e", S::completed, kT0 + 4 * kHour, kT0 + 4 * kHour + 1, 1, 0, 0);     // at `to`: after it
  finished_job("f", S::failed, kT0 + 3 * kHour, kT0 + 3 * kHour + 500, 0, 0, 0, "sink answered 502",
               domain::JobType::goals);
  finished_job("g", S::completed, kT0, kT0 + 1000, 3, 0, 0, "", domain::JobType::bulk_delete);  // not a sync
  // An active job has no end time and no place in the figures.
  domain::Job running;
  running.id = "r";
  running.status = S::running;
  running.scope_user_id = "owner-r";
  store_->write([&](Writer& w) { ASSERT_TRUE(w.insert_job(running)); });

  const auto r = stats(kT0, kT0 + 4 * kHour + 1);
  ASSERT_EQ(r.series.size(), 5u);  // 00:00 … 04:00, the last one only to 04:00:00.001
  EXPECT_EQ(r.series[0].start, kT0);
  EXPECT_EQ(r.series[4].start, kT0 + 4 * kHour);
  EXPECT_EQ(r.series[0].jobs, 1);
  EXPECT_EQ(r.series[0].completed, 1);
  EXPECT_EQ(r.series[0].items(), 100);
  EXPECT_EQ(r.series[0].running_ms, 10 * 60000);
  EXPECT_EQ(r.series[0].max_duration_ms, 10 * 60000);
  EXPECT_EQ(r.series[1].failed, 1);
  EXPECT_EQ(r.series[2].jobs, 0);  // an empty bucket is there, with zeros
  EXPECT_EQ(r.series[3].jobs, 2);
  EXPECT_EQ(r.series[3].cancelled, 1);
  EXPECT_EQ(r.series[3].failed, 1);
  EXPECT_EQ(r.series[3].duration_ms, 1500);
  EXPECT_EQ(r.series[3].max_duration_ms, 1000);
  EXPECT_EQ(r.series[4].jobs, 0);

  EXPECT_EQ(r.jobs.jobs, 4);
  EXPECT_EQ(r.jobs.completed, 1);
  EXPECT_EQ(r.jobs.failed, 2);
  EXPECT_EQ(r.jobs.cancelled, 1);
  EXPECT_EQ(r.jobs.synced_items, 100);
  EXPECT_EQ(r.jobs.skipped_items, 5);
  EXPECT_EQ(r.jobs.failed_items, 5);
  ASSERT_EQ(r.job_failures.size(), 1u);  // two reasons, one kind
  EXPECT_EQ(r.job_failures[0].reason, "sink answered N");
  EXPECT_EQ(r.job_failures[0].count, 2);

  const auto days = stats(kT0, kT0 + domain::kDayMs, domain::StatsBucket::day);
  ASSERT_EQ(days.series.size(), 1u);
  EXPECT_EQ(days.series[0].jobs, 5);  // e too, now inside
}

TEST_F(StatsQueriesTest, ItemFailuresAreCountedByKindAndHourAndPrunedByRetention) {
  const std::vector<domain::ItemError> errors{
      {"a", "mood 7 is outside 1-5", kT0 + 1},
      {"b", "mood 9 is outside 1-5", kT0 + 2},
      {"c", "body is empty", kT0 + 3},
      {"d", "mood 0 is outside 1-5", kT0 + kHour + 5},
      {"e", "status 'x' is neither open nor done", kT0 + 5 * kHour},
  };
  store_->write([&](Writer& w) { w.append_job_errors("job", 1, errors); });
  store_->write([&](Writer& w) { w.append_job_errors("job", 1, {{"f", "body is empty", kT0 + 10}}); });

  auto r = stats(kT0, kT0 + 2 * kHour);
  ASSERT_EQ(r.item_failures.size(), 2u);
  EXPECT_EQ(r.item_failures[0].reason, "mood N is outside 1-5");
  EXPECT_EQ(r.item_failures[0].count, 3);
  EXPECT_EQ(r.item_failures[0].example.substr(0, 5), "mood ");
  EXPECT_EQ(r.item_failures[1].reason, "body is empty");
  EXPECT_EQ(r.item_failures[1].count, 2);
  // The range is rounded out to whole hours: 00:30-01:00 takes the whole 00:00 hour.
  r = stats(kT0 + 30 * 60000, kT0 + kHour);
  ASSERT_EQ(r.item_failures.size(), 2u);
  EXPECT_EQ(r.item_failures[0].count, 2);

  // A retry that deletes the errors it re-processes leaves what was recorded.
  store_->write([&](Writer& w) { w.delete_job_errors("job", {1, 2}); });
  EXPECT_EQ(stats(kT0, kT0 + 2 * kHour).item_failures[0].count, 3);

  // Retention with a cut-off at 01:30 removes the 00:00 hour only.
  store_->write([&](Writer& w) { w.delete_expired_jobs(kT0 + kHour + kHour / 2, 100, 100); });
  r = stats(kT0, kT0 + 6 * kHour);
  ASSERT_EQ(r.item_failures.size(), 2u);
  EXPECT_EQ(r.item_failures[0].count, 1);
  EXPECT_EQ(r.item_failures[1].reason, "status '…' is neither open nor done");
}

}  // namespace mladmin::store::sqlite

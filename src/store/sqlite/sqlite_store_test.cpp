#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace mladmin::store::sqlite {

namespace {

class SqliteStoreTest : public TempStoreTest {
 protected:
  static domain::User user(const std::string& id, const std::string& email, domain::TimestampMs created) {
    domain::User u;
    u.id = id;
    u.email = email;
    u.name = "N " + id;
    u.password_hash = "$argon2id$placeholder";
    u.created_at = u.updated_at = created;
    return u;
  }

  static domain::Job job(const std::string& id, domain::JobStatus status,
                         std::optional<domain::TimestampMs> end_time) {
    domain::Job j;
    j.id = id;
    j.user_id = "starter";
    j.status = status;
    j.scope = domain::JobScope::user;
    j.scope_user_id = "owner-" + id;  // a slot of its own, so that active jobs do not collide
    j.created_at = j.updated_at = 1000;
    j.end_time = end_time;
    return j;
  }

  static std::vector<domain::ItemError> errors(const std::string& prefix, int count) {
    std::vector<domain::ItemError> out;
    for (int i = 0; i < count; ++i) {
      out.push_back({prefix + std::to_string(i), "body is empty", 1000 + i});
    }
    return out;
  }

  std::int64_t count(const std::string& sql) {
    Connection c((dir_ / "t.db").string());
    auto st = c.prepare(sql);
    st.step();
    return st.int64(0);
  }
};

constexpr domain::TimestampMs kDay = 24LL * 3600 * 1000;

}  // namespace

TEST_F(SqliteStoreTest, MigrateIsIdempotentAndReportsTheVersion) {
  const int v = store_->schema_version();
  EXPECT_GE(v, 1);
  EXPECT_EQ(store_->migrate(), v);
  SqliteStore again((dir_ / "t.db").string(), 1);
  EXPECT_EQ(again.migrate(), v);
}

TEST_F(SqliteStoreTest, EmailIsUniqueIgnoringCase) {
  EXPECT_TRUE(store_->write_value([](Writer& w) { return w.insert_user(user("a", "Ana@Example.com", 1)); }));
  EXPECT_FALSE(store_->write_value([](Writer& w) { return w.insert_user(user("b", "ana@example.COM", 2)); }));
  auto found = store_->read_value([](Reader& r) { return r.find_user_by_email("ana@example.com"); });
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, "a");
  EXPECT_EQ(found->email, "Ana@Example.com");
}

TEST_F(SqliteStoreTest, ThrowingWriteLeavesNothingBehind) {
  EXPECT_THROW(store_->write([](Writer& w) {
    w.insert_user(user("a", "a@example.com", 1));
    throw std::runtime_error("changed my mind");
  }),
               std::runtime_error);
  EXPECT_FALSE(store_->read_value([](Reader& r) { return r.find_user("a"); }));
}

TEST_F(SqliteStoreTest, KeysetPagingVisitsEveryRowOnceInOrder) {
  store_->write([](Writer& w) {
    for (int i = 0; i < 23; ++i) {
      // Several users share a created_at so that the id tie-break matters.
      w.insert_user(user("id" + std::to_string(100 + i), "u" + std::to_string(i) + "@example.com", i / 3));
    }
  });
  for (bool desc : {false, true}) {
    UserQuery q;
    q.limit = 5;
    q.descending = desc;
    std::vector<std::string> seen;
    for (int pages = 0; pages < 10; ++pages) {
      auto page = store_->read_value([&](Reader& r) { return r.list_users(q); });
      for (const auto& u : page.items) {
        seen.push_back(u.id);
      }
      if (!page.has_more) {
        break;
      }
      q.after = UserCursor{page.items.back().created_at, page.items.back().id};
    }
    EXPECT_EQ(seen.size(), 23u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 23u);
    EXPECT_TRUE(desc ? std::is_sorted(seen.rbegin(), seen.rend()) : std::is_sorted(seen.begin(), seen.end()));
  }
}

TEST_F(SqliteStoreTest, TextFilterTreatsLikeWildcardsLiterally) {
  store_->write([](Writer& w) {
    w.insert_user(user("a", "100%@example.com", 1));
    w.insert_user(user("b", "100x@example.com", 2));
  });
  UserQuery q;
  q.text = "100%";
  auto page = store_->read_value([&](Reader& r) { return r.list_users(q); });
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].id, "a");
}

TEST_F(SqliteStoreTest, FirstStoredSettingWins) {
  EXPECT_EQ(store_->write_value([](Writer& w) { return w.put_setting_if_absent("k", "one"); }), "one");
  EXPECT_EQ(store_->write_value([](Writer& w) { return w.put_setting_if_absent("k", "two"); }), "one");
}

TEST_F(SqliteStoreTest, ExpiredJobsGoChunkByChunkWithTheirErrorsWhileRecentAndActiveJobsStay) {
  using S = domain::JobStatus;
  const domain::TimestampMs cutoff = 1000 * kDay;
  constexpr int kExpired = 2500;
  store_->write([&](Writer& w) {
    const S finished[] = {S::completed, S::failed, S::cancelled};
    for (int i = 0; i < kExpired; ++i) {
      const auto id = "old-" + std::to_string(i);
      ASSERT_TRUE(w.insert_job(job(id, finished[i % 3], cutoff - 1 - i)));
      w.append_job_errors(id, 1, errors("item-", 2));
    }
    ASSERT_TRUE(w.insert_job(job("ended-at-cutoff", S::completed, cutoff)));
    ASSERT_TRUE(w.insert_job(job("recent", S::failed, cutoff + kDay)));
    w.append_job_errors("recent", 1, errors("item-", 3));
    // Active jobs stay whatever their times say (an end time on an active job is not even
    // possible through the engine: the status decides).
    for (const S active : {S::queued, S::running, S::paused, S::interrupted}) {
      ASSERT_TRUE(w.insert_job(
          job(std::string("active-") + std::string(domain::to_string(active)), active, cutoff - 100 * kDay)));
    }
  });
  ASSERT_EQ(count("SELECT count(*) FROM job_errors"), 2 * kExpired + 3);

  std::vector<std::pair<std::int64_t, std::int64_t>> chunks;
  for (int i = 0; i < 10; ++i) {
    const auto chunk =
        store_->write_value([&](Writer& w) { return w.delete_expired_jobs(cutoff, 1000, 100000); });
    chunks.emplace_back(chunk.jobs, chunk.errors);
    if (chunk.jobs < 1000) {
      break;
    }
  }
  const std::vector<std::pair<std::int64_t, std::int64_t>> expected{{1000, 2000}, {1000, 2000}, {500, 1000}};
  EXPECT_EQ(chunks, expected);
  EXPECT_EQ(store_->write_value([&](Writer& w) { return w.delete_expired_jobs(cutoff, 1000, 100000); }).jobs,
            0);

  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE id LIKE 'old-%'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM job_errors WHERE job_id LIKE 'old-%'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 6);
  EXPECT_EQ(count("SELECT count(*) FROM job_errors WHERE job_id = 'recent'"), 3);
  store_->read([](Reader& r) {
    for (const char* id : {"ended-at-cutoff", "recent", "active-queued", "active-running", "active-paused",
                           "active-interrupted"}) {
      EXPECT_TRUE(r.find_job(id).has_value()) << id;
    }
  });
}

TEST_F(SqliteStoreTest, AnExpiredJobWithManyErrorsGoesOnceTheLastChunkOfThemIsGone) {
  const domain::TimestampMs cutoff = 1000 * kDay;
  store_->write([&](Writer& w) {
    ASSERT_TRUE(w.insert_job(job("old", domain::JobStatus::completed, cutoff - kDay)));
    w.append_job_errors("old", 1, errors("item-", 25));
  });
  std::vector<std::pair<std::int64_t, std::int64_t>> chunks;
  for (int i = 0; i < 5; ++i) {
    const auto chunk =
        store_->write_value([&](Writer& w) { return w.delete_expired_jobs(cutoff, 1000, 10); });
    chunks.emplace_back(chunk.jobs, chunk.errors);
  }
  const std::vector<std::pair<std::int64_t, std::int64_t>> expected{{0, 10}, {0, 10}, {1, 5}, {0, 0}, {0, 0}};
  EXPECT_EQ(chunks, expected);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM job_errors"), 0);
}

TEST_F(SqliteStoreTest, ErrorsOfAttemptsBeforeAFailedItemsRetryAreToRetryNotCurrent) {
  auto j = job("j", domain::JobStatus::completed, 5000);
  store_->write([&](Writer& w) {
    ASSERT_TRUE(w.insert_job(j));
    w.append_job_errors("j", 1, errors("a", 3));  // seq 1-3
  });
  auto current = [&] { return store_->read_value([](Reader& r) { return r.list_job_errors("j", 0, 50); }); };
  auto to_retry = [&](std::size_t limit) {
    return store_->read_value([&](Reader& r) { return r.job_errors_to_retry("j", limit); });
  };
  EXPECT_EQ(current().size(), 3u);
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.count_job_errors("j"); }), 3);
  EXPECT_TRUE(to_retry(50).empty());

  // The retry of its failed items: attempt 2, and the errors of attempt 1 become items to redo.
  j.status = domain::JobStatus::queued;
  j.attempt = 2;
  j.retry_before_attempt = 2;
  store_->write([&](Writer& w) { w.save_job(j); });
  EXPECT_TRUE(current().empty());
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.count_job_errors("j"); }), 0);
  const auto first = to_retry(2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].error.item_id, "a0");
  EXPECT_EQ(first[0].seq, 1);
  EXPECT_EQ(first[1].error.item_id, "a1");
  EXPECT_EQ(first[1].attempt, 1);

  // a0 fails again, a1 is fixed: both rows go, a0's new error is numbered after every other.
  store_->write([&](Writer& w) {
    w.append_job_errors("j", 2, {{"a0", "title is empty", 9000}});
    w.delete_job_errors("j", {first[0].seq, first[1].seq});
  });
  const auto now_current = current();
  ASSERT_EQ(now_current.size(), 1u);
  EXPECT_EQ(now_current[0].error.item_id, "a0");
  EXPECT_EQ(now_current[0].error.reason, "title is empty");
  EXPECT_EQ(now_current[0].seq, 4);
  EXPECT_EQ(now_current[0].attempt, 2);
  const auto rest = to_retry(50);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].error.item_id, "a2");
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.find_job("j"); })->retry_before_attempt, 2);
}

TEST_F(SqliteStoreTest, WatermarkOnlyMovesForward) {
  store_->write([](Writer& w) { w.set_watermark("all|goals", 50); });
  store_->write([](Writer& w) { w.set_watermark("all|goals", 20); });
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.get_watermark("all|goals"); }), 50);
  store_->write([](Writer& w) { w.set_watermark("all|goals", 70); });
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.get_watermark("all|goals"); }), 70);
}

TEST_F(SqliteStoreTest, BatchSaveNumbersChangesAfterTheHighestAndTheLastOfAnIdWins) {
  auto entry = [](const std::string& id, const std::string& title) {
    domain::JournalEntry e;
    e.id = id;
    e.user_id = "u";
    e.title = title;
    e.body = "b";
    return e;
  };
  store_->write([&](Writer& w) {
    auto e = entry("a", "first");
    w.save_journal_entry(e);
  });
  std::vector<domain::JournalEntry> batch = {entry("b", "one"), entry("a", "second"), entry("b", "two")};

  store_->write([&](Writer& w) { w.save_journal_entries(batch); });

  EXPECT_EQ(batch[0].change_seq, 2);
  EXPECT_EQ(batch[1].change_seq, 3);
  EXPECT_EQ(batch[2].change_seq, 4);
  const auto changes =
      store_->read_value([](Reader& r) { return r.journal_changes(std::nullopt, 0, 100, 100); });
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].id, "a");
  EXPECT_EQ(changes[0].title, "second");
  EXPECT_EQ(changes[1].id, "b");
  EXPECT_EQ(changes[1].title, "two");
  EXPECT_EQ(
      store_->read_value([](Reader& r) { return r.max_change_seq(domain::SourceType::journal_entries); }), 4);
}

TEST_F(SqliteStoreTest, BulkJobsKeepTheirParamsAndTargetsInOrderAndNeverShareASlot) {
  auto bulk = [](const std::string& id) {
    domain::Job j;
    j.id = id;
    j.user_id = "ml";
    j.type = domain::JobType::bulk_delete;
    j.scope = domain::JobScope::all;
    j.created_at = j.updated_at = 1000;
    j.bulk = domain::BulkParams{std::nullopt, 3};
    return j;
  };
  store_->write([&](Writer& w) {
    ASSERT_TRUE(w.insert_job(bulk("b1")));
    ASSERT_TRUE(w.insert_job(bulk("b2")));  // two active bulk jobs of one type at once
    domain::Job sync = job("s1", domain::JobStatus::queued, std::nullopt);
    sync.scope = domain::JobScope::all;
    ASSERT_TRUE(w.insert_job(sync));
    w.insert_bulk_targets("b1", {"doc-c", "doc-a", "doc-b"});
    w.insert_bulk_targets("b2", {"doc-z"});
  });
  const auto read = store_->read_value([](Reader& r) { return r.find_job("b1"); });
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(read->bulk.has_value());
  EXPECT_FALSE(read->bulk->filter.has_value());
  EXPECT_EQ(read->bulk->id_count, 3);
  EXPECT_FALSE(store_->read_value([](Reader& r) { return r.find_job("s1"); })->bulk.has_value());
  using Targets = std::vector<std::pair<std::int64_t, std::string>>;
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.bulk_targets_after("b1", 0, 10); }),
            (Targets{{1, "doc-c"}, {2, "doc-a"}, {3, "doc-b"}}));
  EXPECT_EQ(store_->read_value([](Reader& r) { return r.bulk_targets_after("b1", 1, 1); }),
            (Targets{{2, "doc-a"}}));
  EXPECT_TRUE(store_->read_value([](Reader& r) { return r.bulk_targets_after("b1", 3, 10); }).empty());
}

TEST_F(SqliteStoreTest, ABulkJobsFilterIsKeptFieldByFieldAsTheClientWroteIt) {
  domain::Job j = job("bf", domain::JobStatus::queued, std::nullopt);
  j.type = domain::JobType::bulk_resync;
  domain::DocumentFilterSpec filter;
  filter.q = "tag:work \"a b\"";
  filter.user_id = "u1";
  filter.to = "2026-01-01";
  j.bulk = domain::BulkParams{filter, 0};
  store_->write([&](Writer& w) { ASSERT_TRUE(w.insert_job(j)); });
  auto read = store_->read_value([](Reader& r) { return r.find_job("bf"); });
  ASSERT_TRUE(read && read->bulk && read->bulk->filter);
  const auto& f = *read->bulk->filter;
  EXPECT_EQ(f.q, filter.q);
  EXPECT_EQ(f.user_id, "u1");
  EXPECT_EQ(f.to, "2026-01-01");
  EXPECT_FALSE(f.type || f.from || f.date_field);
  // An empty filter (every document) stays a filter, not "no target".
  read->bulk->filter = domain::DocumentFilterSpec{};
  store_->write([&](Writer& w) { w.save_job(*read); });
  read = store_->read_value([](Reader& r) { return r.find_job("bf"); });
  ASSERT_TRUE(read && read->bulk && read->bulk->filter);
  EXPECT_FALSE(read->bulk->filter->q.has_value());
}

TEST_F(SqliteStoreTest, MigrationMovesTheParamsOfExistingBulkJobsIntoTheirColumns) {
  // Jobs as a database before migration 0011 holds them: a JSON `params` string.
  store_->write([&](Writer& w) {
    for (const char* id : {"by-filter", "by-ids", "unreadable", "a-sync"}) {
      auto j = job(id, domain::JobStatus::queued, std::nullopt);
      j.type = std::string_view(id) == "a-sync" ? domain::JobType::goals : domain::JobType::bulk_delete;
      ASSERT_TRUE(w.insert_job(j));
    }
  });
  store_.reset();
  {
    Connection c((dir_ / "t.db").string());
    c.exec(
        "ALTER TABLE jobs ADD COLUMN params TEXT;"
        "ALTER TABLE jobs DROP COLUMN bulk_target; ALTER TABLE jobs DROP COLUMN bulk_id_count;"
        "ALTER TABLE jobs DROP COLUMN bulk_filter_q; ALTER TABLE jobs DROP COLUMN bulk_filter_type;"
        "ALTER TABLE jobs DROP COLUMN bulk_filter_user_id; ALTER TABLE jobs DROP COLUMN bulk_filter_from;"
        "ALTER TABLE jobs DROP COLUMN bulk_filter_to; ALTER TABLE jobs DROP COLUMN bulk_filter_date_field;"
        "DELETE FROM schema_migrations WHERE version >= 11;"
        "UPDATE jobs SET params = '{\"action\":\"delete\",\"filter\":{\"q\":\"it''s\",\"dateField\":"
        "\"source\"}}' WHERE id = 'by-filter';"
        "UPDATE jobs SET params = '{\"action\":\"delete\",\"idCount\":7}' WHERE id = 'by-ids';"
        "UPDATE jobs SET params = 'not json' WHERE id = 'unreadable';");
  }
  store_ = std::make_unique<SqliteStore>((dir_ / "t.db").string(), 2);
  store_->migrate();
  const auto find = [&](const char* id) {
    return *store_->read_value([&](Reader& r) { return r.find_job(id); });
  };
  const auto by_filter = find("by-filter");
  ASSERT_TRUE(by_filter.bulk && by_filter.bulk->filter);
  EXPECT_EQ(by_filter.bulk->filter->q, "it's");
  EXPECT_EQ(by_filter.bulk->filter->date_field, "source");
  EXPECT_FALSE(by_filter.bulk->filter->type.has_value());
  const auto by_ids = find("by-ids");
  ASSERT_TRUE(by_ids.bulk);
  EXPECT_FALSE(by_ids.bulk->filter.has_value());
  EXPECT_EQ(by_ids.bulk->id_count, 7);
  EXPECT_FALSE(find("unreadable").bulk.has_value()) << "fails when claimed rather than taking every document";
  EXPECT_FALSE(find("a-sync").bulk.has_value());
}

TEST_F(SqliteStoreTest, AnExpiredBulkJobGoesWithItsTargetsInTheErrorBudget) {
  const domain::TimestampMs cutoff = 1000 * kDay;
  store_->write([&](Writer& w) {
    auto j = job("old-bulk", domain::JobStatus::completed, cutoff - kDay);
    j.type = domain::JobType::bulk_delete;
    ASSERT_TRUE(w.insert_job(j));
    w.append_job_errors("old-bulk", 1, errors("item-", 4));
    std::vector<std::string> ids;
    for (int i = 0; i < 12; ++i) {
      ids.push_back("doc-" + std::to_string(i));
    }
    w.insert_bulk_targets("old-bulk", ids);
    auto active = job("active-bulk", domain::JobStatus::running, std::nullopt);
    active.type = domain::JobType::bulk_delete;
    ASSERT_TRUE(w.insert_job(active));
    w.insert_bulk_targets("active-bulk", {"doc-x"});
  });
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> chunks;
  for (int i = 0; i < 3; ++i) {
    const auto chunk =
        store_->write_value([&](Writer& w) { return w.delete_expired_jobs(cutoff, 1000, 10); });
    chunks.emplace_back(chunk.jobs, chunk.errors, chunk.targets);
  }
  const std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> expected{
      {0, 4, 6}, {1, 0, 6}, {0, 0, 0}};
  EXPECT_EQ(chunks, expected);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM bulk_targets WHERE job_id = 'old-bulk'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM bulk_targets WHERE job_id = 'active-bulk'"), 1);
}

}  // namespace mladmin::store::sqlite

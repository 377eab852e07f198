// The owner index (migration 0015) on a real SQLite file: a user's documents are found through
// owner_recent (written since the last merge) and owner_documents (merged), whichever holds
// them, and every write keeps each document in exactly one of the two under its current owner and
// sync time. The store here merges past 5 recent rows, so that every test crosses merges; the
// last tests merge as the store does by default, when the writes pause.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "domain/search_query.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::store::sqlite {
namespace {

using domain::SourceType;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr std::size_t kRecentRows = 5;

class OwnerIndexTest : public TempStoreTest {
 protected:
  void SetUp() override {
    TempStoreTest::SetUp();
    open();
  }

  /// (Re)opens the store on the test's file: by default every write that leaves kRecentRows rows
  /// or more in owner_recent merges kRecentRows of them, and the store never finds its writes
  /// paused long enough to merge on its own.
  void open() {
    StoreOptions options;
    options.owner_recent_rows = kRecentRows;
    options.owner_recent_max_rows = kRecentRows;
    options.owner_merge_quiet = std::chrono::hours(1);
    open(options);
  }
  void open(const StoreOptions& options) {
    store_.reset();
    store_ = std::make_unique<SqliteStore>(path(), 2, CheckpointOptions{}, options);
    store_->migrate();
  }

  static StoreOptions merging(std::size_t step, std::size_t bound, std::chrono::milliseconds quiet) {
    StoreOptions options;
    options.owner_recent_rows = step;
    options.owner_recent_max_rows = bound;
    options.owner_merge_quiet = quiet;
    return options;
  }

  std::string path() const { return (dir_ / "t.db").string(); }

  /// Document `n` of `user`, synced at `at` (default: 1,000 + n).
  static DocumentWrite doc(int n, const std::string& user, std::int64_t at = 0) {
    DocumentWrite d;
    d.id = "doc-" + std::to_string(n);
    d.user_id = user;
    d.source_type = SourceType::journal_entries;
    d.source_id = "src-" + std::to_string(n);
    d.title = "title " + std::to_string(n);
    d.text = "river number" + std::to_string(n);
    d.metadata_json = "{}";
    d.content_hash = "h" + std::to_string(n) + user + std::to_string(at);
    d.synced_at = at != 0 ? at : 1000 + n;
    d.source_created_at = 1000 + n;
    d.job_id = "job";
    return d;
  }

  void write(const std::vector<DocumentWrite>& docs) {
    store_->write([&](Writer& w) { w.upsert_documents(SourceType::journal_entries, docs); });
  }

  void remove(const std::vector<std::string>& source_ids) {
    store_->write([&](Writer& w) { w.delete_documents(SourceType::journal_entries, source_ids); });
  }

  /// The source ids of `user`'s documents by sync date, read page by page (pages of 2).
  std::vector<std::string> listed(const std::string& user, DocumentSort sort = DocumentSort::newest,
                                  std::optional<std::int64_t> from = std::nullopt) {
    DocumentQuery q;
    q.filter.user_id = user;
    q.filter.from = from;
    q.sort = sort;
    q.limit = 2;
    std::vector<std::string> out;
    for (int guard = 0; guard < 100; ++guard) {
      const auto page = store_->read_value([&](Reader& r) { return r.search_documents(q); });
      for (const auto& h : page.items) {
        out.push_back(h.doc.source_id);
      }
      if (!page.has_more) {
        break;
      }
      q.after = DocumentQuery::After{page.items.back().doc.synced_at, 0, page.items.back().doc.seq};
    }
    return out;
  }

  /// The source ids of `user`'s documents whose text holds `word`, by relevance.
  std::set<std::string> found(const std::string& user, const std::string& word) {
    DocumentQuery q;
    q.filter.user_id = user;
    q.filter.match = domain::SearchQuery::parse(word).query->to_fts5();
    q.sort = DocumentSort::relevance;
    q.limit = 100;
    std::set<std::string> out;
    for (const auto& h : store_->read_value([&](Reader& r) { return r.search_documents(q); }).items) {
      out.insert(h.doc.source_id);
    }
    return out;
  }

  std::int64_t counted(const std::string& user) {
    DocumentFilter f;
    f.user_id = user;
    return store_->read_value([&](Reader& r) { return r.count_matching_documents(f); });
  }

  std::int64_t scalar(const std::string& sql) {
    Connection c(path());
    auto st = c.prepare(sql);
    st.step();
    return st.int64(0);
  }

  /// Each document is in exactly one level, under its own owner and sync time, and nothing else
  /// is in either.
  void expect_consistent() {
    const auto documents = scalar("SELECT count(*) FROM documents");
    EXPECT_EQ(scalar("SELECT (SELECT count(*) FROM owner_recent) + (SELECT count(*) FROM owner_documents)"),
              documents)
        << "an entry too many or missing";
    EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT user_id, synced_at, doc FROM owner_recent UNION "
                     "SELECT user_id, synced_at, doc FROM owner_documents) o JOIN documents d ON d.rowid = "
                     "o.doc AND d.user_id = o.user_id AND d.synced_at = o.synced_at"),
              documents)
        << "an entry under another owner or time than its document's";
  }
};

TEST_F(OwnerIndexTest, AUsersDocumentsAreListedInDateOrderWhicheverLevelHoldsThem) {
  // 13 documents, one transaction each, alternating owners: merges at 5 recent rows leave some in
  // owner_documents and the newest in owner_recent.
  std::vector<std::string> u1;
  std::vector<std::string> u2;
  for (int n = 1; n <= 13; ++n) {
    const std::string user = n % 2 == 0 ? "u2" : "u1";
    write({doc(n, user)});
    (n % 2 == 0 ? u2 : u1).insert((n % 2 == 0 ? u2 : u1).begin(), "src-" + std::to_string(n));
  }
  ASSERT_GT(scalar("SELECT count(*) FROM owner_documents"), 0) << "no merge happened";
  ASSERT_GT(scalar("SELECT count(*) FROM owner_recent"), 0) << "nothing left to merge";
  EXPECT_THAT(listed("u1"), ElementsAreArray(u1));
  EXPECT_THAT(listed("u2"), ElementsAreArray(u2));
  EXPECT_THAT(listed("u1", DocumentSort::oldest), ElementsAreArray(std::vector(u1.rbegin(), u1.rend())));
  EXPECT_THAT(listed("u1", DocumentSort::newest, 1009), ElementsAre("src-13", "src-11", "src-9"));
  EXPECT_THAT(listed("nobody"), ElementsAre());
  EXPECT_EQ(counted("u1"), 7);
  EXPECT_EQ(counted("u2"), 6);
  EXPECT_EQ(found("u2", "river").size(), 6u);
  EXPECT_EQ(found("u1", "number3"), std::set<std::string>{"src-3"}) << "merged long ago";
  EXPECT_EQ(found("u1", "number13"), std::set<std::string>{"src-13"}) << "written last";
  EXPECT_TRUE(found("u2", "number13").empty()) << "another user's document";
  expect_consistent();
}

TEST_F(OwnerIndexTest, ADocumentThatChangesOwnerMovesToItsNewOwnersList) {
  for (int n = 1; n <= 6; ++n) {
    write({doc(n, "u1")});
  }
  // src-1 was merged; rewritten for u2, twice in one transaction, it leaves u1's list.
  ASSERT_EQ(scalar("SELECT count(*) FROM owner_documents WHERE doc = (SELECT rowid FROM documents WHERE "
                   "source_id = 'src-1')"),
            1);
  write({doc(1, "u2", 2000), doc(1, "u2", 2001)});
  EXPECT_THAT(listed("u1"), ElementsAre("src-6", "src-5", "src-4", "src-3", "src-2"));
  EXPECT_THAT(listed("u2"), ElementsAre("src-1"));
  expect_consistent();
  // src-6 is in owner_recent; it moves too, and a write that keeps owner and time moves nothing.
  write({doc(6, "u2", 2002)});
  write({doc(6, "u2", 2002)});
  EXPECT_THAT(listed("u2"), ElementsAre("src-6", "src-1"));
  EXPECT_THAT(listed("u1"), ElementsAre("src-5", "src-4", "src-3", "src-2"));
  EXPECT_EQ(counted("u2"), 2);
  expect_consistent();
}

TEST_F(OwnerIndexTest, ADeletedDocumentLeavesEitherLevel) {
  for (int n = 1; n <= 7; ++n) {
    write({doc(n, "u1")});
  }
  remove({"src-1", "src-7", "src-never"});  // one merged, one recent, one that never was
  EXPECT_THAT(listed("u1"), ElementsAre("src-6", "src-5", "src-4", "src-3", "src-2"));
  EXPECT_EQ(counted("u1"), 5);
  expect_consistent();
}

TEST_F(OwnerIndexTest, WritesLetOwnerRecentGrowToItsBoundAndThenEachMergesOneStep) {
  open(merging(4, 10, std::chrono::hours(1)));
  for (int n = 1; n <= 9; ++n) {
    write({doc(n, n % 2 == 0 ? "u2" : "u1")});
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_documents"), 0) << "a write merged below the bound";
  EXPECT_EQ(store_->owner_recent_rows(), 9);
  EXPECT_EQ(store_->owner_merges(), 0u);
  // The tenth reaches the bound: its transaction moves the four oldest.
  write({doc(10, "u2")});
  EXPECT_EQ(store_->owner_merges(), 1u);
  EXPECT_EQ(store_->owner_recent_rows(), 6);
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_documents"), 4);
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_documents o JOIN documents d ON d.rowid = o.doc WHERE "
                   "d.source_id IN ('src-1', 'src-2', 'src-3', 'src-4')"),
            4)
      << "not the oldest four";
  EXPECT_THAT(listed("u1"), ElementsAre("src-9", "src-7", "src-5", "src-3", "src-1"));
  EXPECT_THAT(listed("u2"), ElementsAre("src-10", "src-8", "src-6", "src-4", "src-2"));
  expect_consistent();
}

TEST_F(OwnerIndexTest, OnceTheWritesPauseTheStoreMergesOwnerRecentAStepATimeAndListsTheSame) {
  open(merging(4, 1000, std::chrono::seconds(2)));
  std::vector<DocumentWrite> docs;
  for (int n = 1; n <= 11; ++n) {
    docs.push_back(doc(n, n % 2 == 0 ? "u2" : "u1"));
  }
  write(docs);  // one transaction: the pause starts at its commit
  ASSERT_EQ(store_->owner_recent_rows(), 11);
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_documents"), 0) << "merged while the writes had not paused";
  const auto u1 = listed("u1");
  const auto u2 = listed("u2");
  ASSERT_THAT(u1, ElementsAre("src-11", "src-9", "src-7", "src-5", "src-3", "src-1"));
  ASSERT_TRUE(store_->wait_owner_merged(std::chrono::steady_clock::now() + std::chrono::seconds(30)))
      << "owner_recent still holds " << store_->owner_recent_rows() << " rows";
  EXPECT_EQ(store_->owner_merges(), 2u) << "11 rows, steps of 4, until fewer than 4 are left";
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_recent"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_documents"), 8);
  EXPECT_THAT(listed("u1"), ElementsAreArray(u1));
  EXPECT_THAT(listed("u2"), ElementsAreArray(u2));
  EXPECT_EQ(found("u1", "number1"), std::set<std::string>{"src-1"});
  expect_consistent();
}

TEST_F(OwnerIndexTest, AStoreOpenedOnWhatAnotherLeftInOwnerRecentMergesItOnceIdle) {
  open(merging(4, 1000, std::chrono::hours(1)));
  for (int n = 1; n <= 9; ++n) {
    write({doc(n, "u1")});
  }
  ASSERT_EQ(scalar("SELECT count(*) FROM owner_recent"), 9);
  open(merging(4, 1000, std::chrono::milliseconds(50)));  // a restart
  ASSERT_TRUE(store_->wait_owner_merged(std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_recent"), 1);
  EXPECT_THAT(listed("u1"),
              ElementsAre("src-9", "src-8", "src-7", "src-6", "src-5", "src-4", "src-3", "src-2", "src-1"));
  expect_consistent();
}

TEST_F(OwnerIndexTest, MigrationBuildsTheIndexFromTheDocumentsOfAnExistingDatabase) {
  for (int n = 1; n <= 8; ++n) {
    write({doc(n, n <= 3 ? "u1" : "u2")});
  }
  store_.reset();
  {
    // The database as it was before 0015: documents_by_user, no owner tables.
    Connection c(path());
    c.exec(
        "DROP TABLE owner_documents; DROP TABLE owner_recent; "
        "CREATE INDEX documents_by_user ON documents (user_id, synced_at); "
        "DELETE FROM schema_migrations WHERE version >= 15");
  }
  open();
  EXPECT_EQ(scalar("SELECT count(*) FROM owner_documents"), 8);
  EXPECT_EQ(scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'documents_by_user'"), 0);
  EXPECT_THAT(listed("u1"), ElementsAre("src-3", "src-2", "src-1"));
  EXPECT_EQ(counted("u2"), 5);
  expect_consistent();
}

}  // namespace
}  // namespace mladmin::store::sqlite

#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace mladmin::store::sqlite {

namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mladmin-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "t.db").string(), 2);
    store_->migrate();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  static domain::User user(const std::string& id, const std::string& email, domain::TimestampMs created) {
    domain::User u;
    u.id = id;
    u.email = email;
    u.name = "N " + id;
    u.password_hash = "$argon2id$placeholder";
    u.created_at = u.updated_at = created;
    return u;
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

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

}  // namespace mladmin::store::sqlite

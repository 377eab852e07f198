// The rights cache against a real SQLite file, with a second store on the same file standing for
// another process (the CLI opens its own store the same way): what moves the rights version
// (migration 0012's triggers), what the cache sees and when (docs/performance.md, "The request
// path").
#include "accounts/rights_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::accounts {
namespace {

using namespace std::chrono_literals;

domain::User make_user(const std::string& id, domain::Role role) {
  domain::User u;
  u.id = id;
  u.email = id + "@rights.test";
  u.name = "Rights Test";
  u.role = role;
  u.password_hash = "not-a-hash";
  u.created_at = u.updated_at = 1;
  return u;
}

class RightsCacheUnitTest : public store::sqlite::TempStoreTest {
 protected:
  void SetUp() override {
    TempStoreTest::SetUp();
    other_ = std::make_unique<store::sqlite::SqliteStore>((dir_ / "t.db").string(), 1);
    store_->write([](store::Writer& w) { ASSERT_TRUE(w.insert_user(make_user("ann", domain::Role::user))); });
  }
  void TearDown() override {
    other_.reset();
    TempStoreTest::TearDown();
  }

  /// Changes ann through the other store (another connection, as another process would).
  void change_ann(const std::function<void(domain::User&)>& change) {
    other_->write([&](store::Writer& w) {
      auto u = w.find_user("ann");
      ASSERT_TRUE(u);
      change(*u);
      ASSERT_TRUE(w.update_user(*u));
    });
  }

  std::unique_ptr<store::sqlite::SqliteStore> other_;
};

TEST_F(RightsCacheUnitTest, EveryChangeToAUsersRightsMovesTheVersionAndNothingElseDoes) {
  auto v = store_->rights_version();
  const auto moved = [&] {
    const auto now = store_->rights_version();
    const bool changed = now != v;
    v = now;
    return changed;
  };
  change_ann([](domain::User& u) { u.role = domain::Role::ml_admin; });
  EXPECT_TRUE(moved()) << "role";
  change_ann([](domain::User& u) { u.status = domain::UserStatus::disabled; });
  EXPECT_TRUE(moved()) << "status";
  change_ann([](domain::User& u) { ++u.token_version; });
  EXPECT_TRUE(moved()) << "token version";
  other_->write([](store::Writer& w) { w.insert_user(make_user("bob", domain::Role::user)); });
  EXPECT_TRUE(moved()) << "insert";
  other_->write([](store::Writer& w) { w.delete_user("bob"); });
  EXPECT_TRUE(moved()) << "delete";

  change_ann([](domain::User& u) { u.name = "Another Name"; });
  EXPECT_FALSE(moved()) << "name only";
  other_->write([](store::Writer& w) { w.set_last_login("ann", 42); });
  EXPECT_FALSE(moved()) << "last sign-in";
  other_->write([](store::Writer& w) { w.put_setting_if_absent("rights-test", "1"); });
  EXPECT_FALSE(moved()) << "a commit that touches no user";
}

TEST_F(RightsCacheUnitTest, AChangeByAnotherConnectionIsSeenAtTheNextCheck) {
  RightsCache cache(*store_, 0ms);  // every lookup checks
  ASSERT_EQ(cache.find("ann")->role, domain::Role::user);
  ASSERT_EQ(cache.find_cached("ann")->role, domain::Role::user);

  change_ann([](domain::User& u) { u.role = domain::Role::admin; });
  EXPECT_FALSE(cache.find_cached("ann")) << "emptied by the check";
  EXPECT_EQ(cache.find("ann")->role, domain::Role::admin);

  change_ann([](domain::User& u) { ++u.token_version; });
  EXPECT_EQ(cache.find("ann")->token_version, 1);
}

TEST_F(RightsCacheUnitTest, CommitsThatTouchNoUsersRightsLeaveTheCacheAsItIs) {
  RightsCache cache(*store_, 0ms);
  ASSERT_TRUE(cache.find("ann"));
  const auto before = cache.stats();

  other_->write([](store::Writer& w) { w.put_setting_if_absent("rights-test", "1"); });
  store_->write([](store::Writer& w) { w.put_setting_if_absent("rights-test-2", "1"); });
  other_->write([](store::Writer& w) { w.set_last_login("ann", 42); });

  EXPECT_TRUE(cache.find_cached("ann"));
  EXPECT_TRUE(cache.find("ann"));
  const auto after = cache.stats();
  EXPECT_EQ(after.emptied, before.emptied);
  EXPECT_EQ(after.user_reads, before.user_reads);
  EXPECT_GT(after.checks, before.checks);
}

TEST_F(RightsCacheUnitTest, TheVersionIsReadAtMostOncePerInterval) {
  RightsCache cache(*store_, 1h);
  ASSERT_TRUE(cache.find("ann"));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(cache.find_cached("ann"));
  }
  EXPECT_EQ(cache.stats().checks, 1u);
}

TEST_F(RightsCacheUnitTest, InvalidateEmptiesAtOnce) {
  RightsCache cache(*store_, 1h);
  ASSERT_TRUE(cache.find("ann"));
  // Through this process's own store, as Accounts writes, which then calls invalidate().
  store_->write([](store::Writer& w) {
    auto u = w.find_user("ann");
    u->status = domain::UserStatus::disabled;
    w.update_user(*u);
  });
  cache.invalidate();
  EXPECT_FALSE(cache.find_cached("ann"));
  EXPECT_EQ(cache.find("ann")->status, domain::UserStatus::disabled);
}

}  // namespace
}  // namespace mladmin::accounts

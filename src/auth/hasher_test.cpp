#include "auth/hasher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "auth/password.hpp"

namespace mladmin::auth {
namespace {

TEST(PasswordHasherTest, HashAndVerifyReturnResults) {
  PasswordHasher hasher(2, 4);
  const auto hash = hasher.hash("correct horse battery staple");
  ASSERT_TRUE(hash);
  EXPECT_NE(hash->find("$m=19456,t=2,p=1$"), std::string::npos);
  EXPECT_EQ(hasher.verify(*hash, "correct horse battery staple"), std::optional<bool>(true));
  EXPECT_EQ(hasher.verify(*hash, "wrong"), std::optional<bool>(false));
  EXPECT_EQ(hasher.verify("not a hash", "wrong"), std::optional<bool>(false));
}

TEST(PasswordHasherTest, ConcurrentCallersWithinCapacityAllGetAnswers) {
  const std::string hash = hash_password("pw");
  PasswordHasher hasher(2, 8);
  std::vector<std::optional<bool>> results(6);
  std::vector<std::thread> callers;
  for (std::size_t i = 0; i < results.size(); ++i) {
    callers.emplace_back([&, i] { results[i] = hasher.verify(hash, i % 2 == 0 ? "pw" : "nope"); });
  }
  for (auto& caller : callers) {
    caller.join();
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i], std::optional<bool>(i % 2 == 0)) << i;
  }
}

TEST(PasswordHasherTest, IdleWorkerAcceptsWorkEvenWithNoRoomToWait) {
  PasswordHasher hasher(1, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(hasher.verify("not a hash", "pw"), std::optional<bool>(false)) << i;
  }
}

TEST(PasswordHasherTest, RefusesWhenWorkerAndQueueAreFull) {
  // One hash runs and one waits; four callers calling again and again must find the pool full.
  // They stop at the first refusal, so the test waits for that event rather than for a time; the
  // cap on accepted calls only turns a pool that never refuses into a failure instead of a hang.
  const std::string hash = hash_password("pw");
  PasswordHasher hasher(1, 1);
  std::atomic<bool> refused{false};
  std::atomic<int> accepted{0};
  std::atomic<int> wrong_answers{0};
  std::latch start(4);
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      start.arrive_and_wait();
      while (!refused.load() && accepted.load() < 200) {
        const auto result = hasher.verify(hash, "pw");
        if (!result) {
          refused.store(true);
          continue;
        }
        accepted.fetch_add(1);
        if (!*result) {
          wrong_answers.fetch_add(1);
        }
      }
    });
  }
  for (auto& caller : callers) {
    caller.join();
  }
  EXPECT_TRUE(refused.load());
  EXPECT_EQ(wrong_answers.load(), 0);
}

TEST(PasswordHasherTest, DestructorFinishesAcceptedWork) {
  // Three callers, one call each, into a pool that holds two (one running, one waiting). A refused
  // caller knows that both others are inside the pool and that nobody will submit again, so it
  // destroys the pool there and then: the waiting caller must still get its answer.
  const std::string hash = hash_password("pw");
  std::atomic<bool> destroyed_while_full{false};
  for (int round = 0; round < 20 && !destroyed_while_full; ++round) {
    auto hasher = std::make_unique<PasswordHasher>(1, 1);
    PasswordHasher* pool = hasher.get();
    std::atomic<int> answered{0};
    std::atomic<int> failures{0};
    std::latch start(3);
    std::vector<std::thread> callers;
    for (int i = 0; i < 3; ++i) {
      callers.emplace_back([&] {
        start.arrive_and_wait();
        try {
          const auto result = pool->verify(hash, "pw");
          if (!result) {
            hasher.reset();
            destroyed_while_full = true;
          } else if (*result) {
            answered.fetch_add(1);
          } else {
            failures.fetch_add(1);
          }
        } catch (...) {
          failures.fetch_add(1);
        }
      });
    }
    for (auto& caller : callers) {
      caller.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(answered.load(), destroyed_while_full.load() ? 2 : 3);
  }
  EXPECT_TRUE(destroyed_while_full.load()) << "no round filled the pool; the scheduler serialised every call";
}

}  // namespace
}  // namespace mladmin::auth

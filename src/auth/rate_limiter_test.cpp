#include "auth/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mladmin::auth {
namespace {

using TimeMs = LoginRateLimiter::TimeMs;

constexpr TimeMs kSecond = 1000;
constexpr TimeMs kWindow = 900 * kSecond;

TEST(LoginRateLimiterTest, TenFailuresPerEmailThenRefusedWithRetryAfter) {
  LoginRateLimiter limiter({});
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", i * kSecond).allowed) << i;
  }
  const auto refused = limiter.begin_attempt("ann@example.org", "10.0.0.2", 10 * kSecond);
  EXPECT_FALSE(refused.allowed);
  // The first attempt, at 0 s, leaves the 900 s window at 900 s: 890 s from now.
  EXPECT_EQ(refused.retry_after_seconds, 890);
}

TEST(LoginRateLimiterTest, RetryAfterRoundsUpToWholeSeconds) {
  LoginRateLimiter limiter({.per_email = 1});
  ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "a", 0).allowed);
  EXPECT_EQ(limiter.begin_attempt("ann@example.org", "a", 1).retry_after_seconds, 900);
  EXPECT_EQ(limiter.begin_attempt("ann@example.org", "a", kWindow - 1).retry_after_seconds, 1);
  EXPECT_EQ(limiter.begin_attempt("ann@example.org", "a", kWindow - 1001).retry_after_seconds, 2);
}

TEST(LoginRateLimiterTest, EmailIsComparedCaseInsensitively) {
  LoginRateLimiter limiter({.per_email = 2});
  EXPECT_TRUE(limiter.begin_attempt("Ann@Example.org", "a", 0).allowed);
  EXPECT_TRUE(limiter.begin_attempt("ANN@EXAMPLE.ORG", "b", 0).allowed);
  EXPECT_FALSE(limiter.begin_attempt("ann@example.org", "c", 0).allowed);
}

TEST(LoginRateLimiterTest, FiftyPerAddressAcrossDifferentEmails) {
  LoginRateLimiter limiter({});
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(limiter.begin_attempt("user" + std::to_string(i) + "@example.org", "10.0.0.1", i).allowed)
        << i;
  }
  const auto refused = limiter.begin_attempt("someone-new@example.org", "10.0.0.1", 50);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 900);
  EXPECT_TRUE(limiter.begin_attempt("someone-new@example.org", "10.0.0.2", 50).allowed);
}

TEST(LoginRateLimiterTest, RefusedAttemptsAreNotCounted) {
  LoginRateLimiter limiter({.per_email = 1});
  ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "a", 0).allowed);
  for (int i = 0; i < 100; ++i) {
    ASSERT_FALSE(limiter.begin_attempt("ann@example.org", "a", kWindow / 2).allowed);
  }
  EXPECT_TRUE(limiter.begin_attempt("ann@example.org", "a", kWindow).allowed);
}

TEST(LoginRateLimiterTest, AttemptsLeavingTheWindowFreeTheKey) {
  LoginRateLimiter limiter({});
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", i * kSecond).allowed);
  }
  EXPECT_FALSE(limiter.begin_attempt("ann@example.org", "10.0.0.1", kWindow - 1).allowed);
  EXPECT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", kWindow).allowed);
  // Only the first attempt left; the second one, at 1 s, is still counted.
  EXPECT_FALSE(limiter.begin_attempt("ann@example.org", "10.0.0.1", kWindow).allowed);
}

TEST(LoginRateLimiterTest, SuccessUncountsItselfAndClearsTheEmail) {
  LoginRateLimiter limiter({.per_email = 3, .per_address = 4});
  ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", 0).allowed);
  ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", 1).allowed);
  ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", 2).allowed);
  ASSERT_FALSE(limiter.begin_attempt("ann@example.org", "10.0.0.1", 3).allowed);

  // The third attempt succeeded: the email starts afresh, the address keeps two failures.
  limiter.succeeded("ANN@example.org", "10.0.0.1", 2);
  EXPECT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", 4).allowed);
  EXPECT_TRUE(limiter.begin_attempt("bob@example.org", "10.0.0.1", 5).allowed);
  EXPECT_FALSE(limiter.begin_attempt("carl@example.org", "10.0.0.1", 6).allowed);
}

TEST(LoginRateLimiterTest, AbandonedAttemptIsUncounted) {
  LoginRateLimiter limiter({.per_email = 1, .per_address = 1});
  ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", 0).allowed);
  limiter.abandoned("ann@example.org", "10.0.0.1", 0);
  EXPECT_TRUE(limiter.begin_attempt("ann@example.org", "10.0.0.1", 1).allowed);
}

TEST(LoginRateLimiterTest, UncountingAnUnknownAttemptChangesNothing) {
  LoginRateLimiter limiter({.per_email = 1});
  ASSERT_TRUE(limiter.begin_attempt("ann@example.org", "a", 0).allowed);
  limiter.abandoned("ann@example.org", "a", 12345);
  limiter.abandoned("nobody@example.org", "z", 0);
  limiter.succeeded("nobody@example.org", "z", 0);
  EXPECT_FALSE(limiter.begin_attempt("ann@example.org", "a", 1).allowed);
}

TEST(LoginRateLimiterTest, MaxKeysForgetsTheLeastRecentlyUsedKey) {
  LoginRateLimiter limiter({.per_email = 1, .per_address = 1000, .max_keys = 2});
  ASSERT_TRUE(limiter.begin_attempt("a@example.org", "x", 0).allowed);
  ASSERT_TRUE(limiter.begin_attempt("b@example.org", "x", 1).allowed);
  ASSERT_FALSE(limiter.begin_attempt("a@example.org", "x", 2).allowed);  // a is now more recent than b
  ASSERT_TRUE(limiter.begin_attempt("c@example.org", "x", 3).allowed);   // a third key: b is forgotten
  EXPECT_FALSE(limiter.begin_attempt("a@example.org", "x", 4).allowed);
  EXPECT_TRUE(limiter.begin_attempt("b@example.org", "x", 5).allowed);
}

TEST(LoginRateLimiterTest, MaxKeysBoundsAddressesToo) {
  LoginRateLimiter limiter({.per_email = 1000, .per_address = 1, .max_keys = 100});
  ASSERT_TRUE(limiter.begin_attempt("a@example.org", "10.0.0.1", 0).allowed);
  ASSERT_FALSE(limiter.begin_attempt("a@example.org", "10.0.0.1", 1).allowed);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter.begin_attempt("a" + std::to_string(i), "192.168.0." + std::to_string(i), 2).allowed);
  }
  // A hundred newer addresses pushed the first one out: it is forgotten, not remembered forever.
  EXPECT_TRUE(limiter.begin_attempt("a@example.org", "10.0.0.1", 3).allowed);
}

TEST(LoginRateLimiterTest, FloodOfDistinctKeysKeepsRecentOnesCounted) {
  LoginRateLimiter limiter({.per_email = 1, .per_address = 1000000, .max_keys = 1000});
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(limiter.begin_attempt("flood" + std::to_string(i), "x", i).allowed);
  }
  // The most recent keys survive any eviction, and still count.
  for (int i = 19900; i < 20000; ++i) {
    EXPECT_FALSE(limiter.begin_attempt("flood" + std::to_string(i), "x", 20000).allowed) << i;
  }
  // The oldest ones were forgotten.
  EXPECT_TRUE(limiter.begin_attempt("flood0", "x", 20000).allowed);
}

}  // namespace
}  // namespace mladmin::auth

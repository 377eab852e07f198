#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/role.hpp"
#include "domain/user.hpp"
#include "store/store.hpp"

namespace mladmin::accounts {

/// What a request's token check needs of its user: the rest of the account stays in the database.
struct UserRights {
  std::string id;
  std::string email;
  domain::Role role = domain::Role::user;
  domain::UserStatus status = domain::UserStatus::active;
  std::int64_t token_version = 0;
};

/// Users' rights (role, status, token version) kept in memory, so that checking a token reads no
/// table. What it holds is trusted only while no account changed (docs/performance.md, "The
/// request path"):
/// - changes made through Accounts call invalidate() after their commit: the next request sees
///   them;
/// - any change to a user's rights, by this process or another one on the same database (the
///   CLI), moves the store's rights_version(); at most once per `check_interval` (process-wide) a
///   lookup reads it first and empties the cache when it moved, so such a change is seen by every
///   lookup that starts `check_interval` after its commit or later (plus the few microseconds of
///   a check another thread is running at that moment).
/// Other commits (a sync's batches, jobs, documents) leave the cache as it is. Thread-safe.
class RightsCache final {
 public:
  /// At most this many users are held; one more empties the cache.
  static constexpr std::size_t kMaxUsers = 100000;
  /// How often, at most, a lookup reads the store's rights_version().
  static constexpr std::chrono::milliseconds kCheckInterval{20};

  explicit RightsCache(store::Store& store, std::chrono::milliseconds check_interval = kCheckInterval)
      : store_(store), check_interval_ns_(std::chrono::nanoseconds(check_interval).count()) {}

  /// The user's rights as the database says now (within the bound above for changes made
  /// outside Accounts); nothing for an unknown id (never cached).
  std::optional<UserRights> find(std::string_view id);

  /// The user's rights when they are held; nothing otherwise. It reads no table except, at most
  /// once per check interval, the rights version: a request on an I/O thread asks this first and
  /// goes to the handler pool, where find() reads the user, when it answers nothing.
  std::optional<UserRights> find_cached(std::string_view id);

  /// Forgets everything; call after committing any change to an account.
  void invalidate();

  /// What the cache did since the process started (for /metrics and tests).
  struct Stats {
    std::uint64_t emptied = 0;     ///< times it was emptied: invalidate(), a rights version that moved
    std::uint64_t user_reads = 0;  ///< users read from the database by find() (not held)
    std::uint64_t checks = 0;      ///< rights versions read
  };
  Stats stats() const;

 private:
  /// When the check interval has passed since the last check and no other thread is checking:
  /// reads the store's rights version and empties the cache when it moved.
  void check_version();
  /// Under mutex_: forgets every entry; a read that began before does not store what it read.
  void empty_locked();

  store::Store& store_;
  const std::int64_t check_interval_ns_;
  /// The steady clock's time (ns) from which a lookup checks the rights version again; a lookup
  /// that moves it forward (compare-exchange) is the one that checks.
  std::atomic<std::int64_t> next_check_ns_{0};
  std::atomic<std::uint64_t> checks_{0};
  std::atomic<std::uint64_t> user_reads_{0};

  /// Hashes a std::string and a std::string_view alike, so that a lookup builds no string.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  mutable std::mutex mutex_;
  std::unordered_map<std::string, UserRights, KeyHash, std::equal_to<>> users_;
  /// Bumped by every emptying: a lookup that read the database before one does not store what it
  /// read, since the change that emptied the cache may have come after its read began.
  std::uint64_t generation_ = 0;
  std::uint64_t emptied_ = 0;
  std::optional<std::uint64_t> seen_version_;  ///< the rights version the last check read
};

}  // namespace mladmin::accounts

#pragma once

#include <cstddef>
#include <cstdint>
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
/// table. What it holds is trusted only while the database is unchanged: every lookup first asks
/// the store for its data version (SQLite's `PRAGMA data_version`, which any commit changes, also
/// one made by another process such as the CLI) and forgets everything when it moved; changes made
/// through Accounts also call invalidate() after their commit. See docs/performance.md.
/// Thread-safe.
class RightsCache final {
 public:
  /// At most this many users are held; one more empties the cache.
  static constexpr std::size_t kMaxUsers = 100000;

  explicit RightsCache(store::Store& store) : store_(store) {}

  /// The user's rights as the database says now; nothing for an unknown id (never cached).
  std::optional<UserRights> find(std::string_view id);

  /// The user's rights when they are held and the database has not changed since they were
  /// read; nothing otherwise (it reads no table: a request on an I/O thread asks this first and
  /// goes to the handler pool, where find() reads the user, when it answers nothing).
  std::optional<UserRights> find_cached(std::string_view id);

  /// Forgets everything; call after committing any change to an account.
  void invalidate();

 private:
  /// Under mutex_: empties the cache when the database's data version is no longer the one its
  /// entries were read under (`version` is the current one), then looks `id` up in it.
  std::optional<UserRights> cached_locked(std::string_view id, std::uint64_t version);

  store::Store& store_;
  std::mutex mutex_;
  std::unordered_map<std::string, UserRights> users_;
  /// Bumped by every emptying: a lookup that read the database before one does not store what it
  /// read, since the change that emptied the cache may have come after its read began.
  std::uint64_t generation_ = 0;
  std::optional<std::uint64_t> seen_version_;  ///< the data version the entries were read under
};

}  // namespace mladmin::accounts

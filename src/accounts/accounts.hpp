#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts/rights_cache.hpp"
#include "auth/hasher.hpp"
#include "auth/password.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "domain/ids.hpp"
#include "domain/user.hpp"
#include "store/store.hpp"

namespace mladmin::accounts {

/// Who performs an admin action, for the audit log.
struct Actor {
  std::optional<std::string> id;  ///< null for the command line
  std::string label;              ///< the admin's email, or "cli"
};

struct NewUser {
  std::string email;
  std::string name;
  std::string password;
  domain::Role role = domain::Role::user;
  domain::UserStatus status = domain::UserStatus::active;
};

struct UserChange {
  std::optional<std::string> name;
  std::optional<domain::Role> role;
  std::optional<domain::UserStatus> status;
  std::optional<std::string> password;
};

enum class BulkAction { set_role, disable, enable, remove };

struct BulkOutcome {
  std::string id;
  std::optional<domain::Error> error;  ///< null when the action succeeded for this id
};

/// User management shared by the HTTP API and the command line: validation, the rule that the
/// last active admin cannot be removed, token revocation on role/status/password changes, and
/// the audit log. Every method throws domain::Error for what a client got wrong. Thread-safe;
/// blocking (database and argon2id).
class Accounts final {
 public:
  Accounts(store::Store& store, auth::PasswordHasher& hasher, const domain::Clock& clock,
           domain::IdGenerator& ids, auth::PasswordPolicy policy)
      : store_(store), hasher_(hasher), clock_(clock), ids_(ids), policy_(policy), rights_(store) {}

  /// The user's role, status and token version as the database says now, from memory when
  /// nothing changed since they were read (RightsCache); nothing for an unknown id.
  std::optional<UserRights> rights(std::string_view id) { return rights_.find(id); }
  /// The same when it is held in memory, without reading the database; nothing otherwise
  /// (RightsCache::find_cached).
  std::optional<UserRights> cached_rights(std::string_view id) { return rights_.find_cached(id); }
  /// What the rights cache did so far (/metrics, tests).
  RightsCache::Stats rights_cache_stats() const { return rights_.stats(); }

  /// 400 for a bad field, 409 "email_taken", 429 when the hashing pool is full.
  domain::User create(const NewUser& user, const Actor& actor);
  /// 404 for an unknown id, 409 "last_admin" when it would leave no active admin.
  domain::User update(std::string_view id, const UserChange& change, const Actor& actor);
  void remove(std::string_view id, const Actor& actor);
  /// Applies `action` to each id in one transaction; per-id outcomes in input order.
  std::vector<BulkOutcome> bulk(const std::vector<std::string>& ids, BulkAction action,
                                std::optional<domain::Role> role, const Actor& actor);

  /// Called, after the commit, with the id of each user whose rights changed: role, status or
  /// password (their tokens are revoked) or deleted. The server ends that user's open event
  /// streams at once (docs/security.md). Set it before serving; it must not throw.
  using RightsListener = std::function<void(const std::string& user_id)>;
  void set_rights_listener(RightsListener listener) { rights_listener_ = std::move(listener); }

 private:
  std::string hash(const std::string& password);
  void audit(store::Writer& w, const Actor& actor, std::string action, std::optional<std::string> target,
             std::string details_json);

  store::Store& store_;
  auth::PasswordHasher& hasher_;
  const domain::Clock& clock_;
  domain::IdGenerator& ids_;
  auth::PasswordPolicy policy_;
  RightsListener rights_listener_;
  RightsCache rights_;

  void rights_changed(const std::string& user_id) const {
    if (rights_listener_) {
      rights_listener_(user_id);
    }
  }
};

}  // namespace mladmin::accounts

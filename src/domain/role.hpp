#pragma once

#include <optional>
#include <string_view>

namespace mladmin::domain {

/// Roles are ordered: every right of `user` is also `ml_admin`'s, and every right of
/// `ml_admin` is also `admin`'s (docs/security.md).
enum class Role { user = 0, ml_admin = 1, admin = 2 };

enum class UserStatus { active, disabled };

std::string_view to_string(Role role);
std::optional<Role> parse_role(std::string_view text);
std::string_view to_string(UserStatus status);
std::optional<UserStatus> parse_user_status(std::string_view text);

/// True when `have` grants at least what `need` does.
inline bool at_least(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace mladmin::domain

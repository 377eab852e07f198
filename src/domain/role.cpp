#include "domain/role.hpp"

namespace mladmin::domain {

std::string_view to_string(Role role) {
  switch (role) {
    case Role::user:
      return "user";
    case Role::ml_admin:
      return "ml_admin";
    case Role::admin:
      return "admin";
  }
  return "user";
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "user") {
    return Role::user;
  }
  if (text == "ml_admin") {
    return Role::ml_admin;
  }
  if (text == "admin") {
    return Role::admin;
  }
  return std::nullopt;
}

std::string_view to_string(UserStatus status) {
  return status == UserStatus::active ? "active" : "disabled";
}

std::optional<UserStatus> parse_user_status(std::string_view text) {
  if (text == "active") {
    return UserStatus::active;
  }
  if (text == "disabled") {
    return UserStatus::disabled;
  }
  return std::nullopt;
}

}  // namespace mladmin::domain

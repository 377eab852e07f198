#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/clock.hpp"
#include "domain/role.hpp"

namespace mladmin::domain {

/// An account (docs/jobs.md). `password_hash` never leaves the server.
struct User {
  std::string id;
  std::string email;  ///< as the user typed it; uniqueness is on normalize_email(email)
  std::string name;
  Role role = Role::user;
  UserStatus status = UserStatus::active;
  std::string password_hash;
  std::int64_t token_version = 0;  ///< bumped by any change that must revoke issued tokens
  TimestampMs created_at = 0;
  TimestampMs updated_at = 0;
  std::optional<TimestampMs> last_login_at;
};

/// Trims surrounding white space and lowercases ASCII letters: the key that makes emails unique
/// case-insensitively.
std::string normalize_email(std::string_view email);

/// A pragmatic check for something that can receive mail: one '@', a non-empty local part of at
/// most 64 bytes, a domain with a dot and no empty label, no spaces or control characters, at
/// most 254 bytes in all. Returns the problem, or nullopt when it is fine.
std::optional<std::string> email_problem(std::string_view email);

/// Names are 1 to 200 characters of valid UTF-8 without control characters.
std::optional<std::string> name_problem(std::string_view name);

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates).
bool valid_utf8(std::string_view text);

}  // namespace mladmin::domain

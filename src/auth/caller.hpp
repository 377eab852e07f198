#pragma once

#include <cstdint>
#include <string>

#include "domain/error.hpp"
#include "domain/role.hpp"

namespace mladmin::auth {

/// The authenticated user behind a request, as the database says now (not as the token said).
struct Caller {
  std::string id;
  std::string email;
  domain::Role role = domain::Role::user;
  std::int64_t token_expires_at = 0;  ///< the token's exp, seconds since the epoch
  std::int64_t token_version = 0;     ///< the token's ver (equal to the user's when it was accepted)
};

/// Throws a 403 domain::Error unless the caller's role grants `need` (docs/security.md table).
inline void require_role(const Caller& caller, domain::Role need) {
  if (!domain::at_least(caller.role, need)) {
    throw domain::Error(domain::ErrorKind::forbidden, "forbidden",
                        "this action needs the " + std::string(domain::to_string(need)) + " role");
  }
}

}  // namespace mladmin::auth

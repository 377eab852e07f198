#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mladmin::auth {

/// The rules a new password must meet (docs/security.md): a length in Unicode code points, no
/// composition rules, and no common or dictionary-based password.
struct PasswordPolicy {
  std::size_t min_chars = 8;
  std::size_t max_chars = 256;
  bool dictionary_check = true;
};

/// Checks a password someone wants to set. Throws domain::Error (bad_request, code
/// "weak_password", details field=password and rule=min_length|max_length|invalid_utf8|common|
/// contains_identity) whose message names the rule, e.g. "field 'password': must be at least 8
/// characters". `email` and `name` are refused as (part of) the password. Thread-safe.
void check_new_password(std::string_view password, std::string_view email, std::string_view name,
                        const PasswordPolicy& policy = {});

/// An argon2id hash in libsodium's encoded ("$argon2id$v=19$m=19456,t=2,p=1$…") form, at the
/// docs/security.md parameters: m = 19 MiB, t = 2, p = 1. Slow on purpose (tens of ms): call it from
/// PasswordHasher's pool, never from an I/O thread. Throws std::runtime_error when out of memory.
std::string hash_password(std::string_view password);

/// Constant-time verification against an encoded hash; false for a malformed hash.
bool verify_password(std::string_view encoded_hash, std::string_view password);

/// A valid hash of a random password, made once: verifying an unknown user's login against it
/// costs the same time as a real verification.
const std::string& dummy_hash();

}  // namespace mladmin::auth

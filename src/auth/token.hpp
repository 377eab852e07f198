#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "domain/role.hpp"

namespace mladmin::auth {

/// What a token says (docs/security.md). Times are Unix seconds.
struct TokenClaims {
  std::string sub;  ///< user id
  domain::Role role = domain::Role::user;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::int64_t ver = 0;  ///< the user's token version when issued; a bump revokes the token
};

enum class TokenError {
  malformed,        ///< not three base64url parts of JSON, or a claim missing or of the wrong type
  unsupported_alg,  ///< header alg is anything but "HS256" (none, HS512, RS256, …)
  bad_signature,
  expired,        ///< now >= exp
  not_yet_valid,  ///< iat or nbf later than now + leeway
};

std::string_view describe(TokenError error);

struct TokenCheck {
  std::optional<TokenClaims> claims;  ///< set when valid
  TokenError error = TokenError::malformed;
};

/// JWT HS256 signing and verification with libsodium's HMAC-SHA256. Thread-safe.
class TokenCodec final {
 public:
  /// `secret` must hold at least 32 bytes (the caller checks and explains; this asserts).
  explicit TokenCodec(std::string secret, std::int64_t future_leeway_seconds = 30);

  /// Header {"alg":"HS256","typ":"JWT"}, payload {"sub","role","iat","exp","ver"}.
  std::string sign(const TokenClaims& claims) const;

  /// Verifies signature, alg, expiry (no leeway: a token is refused from its exp second on) and
  /// iat/nbf (not later than now + leeway), and the claims' types. A token that passed is kept
  /// (at most kMaxVerified of them; one more empties the set), so that the next verification of
  /// the same bytes checks only the times: the rest depends on nothing but the bytes and the
  /// secret (docs/performance.md, "The request path").
  TokenCheck verify(std::string_view token, std::int64_t now_seconds) const;

  static constexpr std::size_t kMaxVerified = 10000;

  /// Signs arbitrary header and payload JSON texts; for tests that need odd tokens.
  std::string sign_raw(std::string_view header_json, std::string_view payload_json) const;

 private:
  /// A token whose bytes passed: its claims, and nbf when it had one.
  struct Verified {
    TokenClaims claims;
    std::optional<std::int64_t> nbf;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::string mac(std::string_view signing_input) const;
  TokenCheck check_time(const Verified& v, std::int64_t now_seconds) const;

  std::string secret_;
  std::int64_t future_leeway_;
  mutable std::mutex verified_mutex_;
  mutable std::unordered_map<std::string, Verified, Hash, std::equal_to<>> verified_;
};

/// base64url without padding (RFC 4648 §5), as JWT uses it.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace mladmin::auth

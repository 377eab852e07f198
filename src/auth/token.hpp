#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
  /// iat/nbf (not later than now + leeway), and the claims' types.
  TokenCheck verify(std::string_view token, std::int64_t now_seconds) const;

  /// Signs arbitrary header and payload JSON texts; for tests that need odd tokens.
  std::string sign_raw(std::string_view header_json, std::string_view payload_json) const;

 private:
  std::string mac(std::string_view signing_input) const;

  std::string secret_;
  std::int64_t future_leeway_;
};

/// base64url without padding (RFC 4648 §5), as JWT uses it.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace mladmin::auth

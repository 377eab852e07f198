#include "api/auth.hpp"

#include <boost/json/object.hpp>

#include "accounts/accounts.hpp"
#include "api/json.hpp"
#include "auth/hasher.hpp"
#include "auth/token.hpp"
#include "domain/clock.hpp"
#include "domain/error.hpp"
#include "store/store.hpp"

namespace mladmin::api {

using domain::Error;
using domain::ErrorKind;

namespace {

/// The longest email an account can have (domain::email_problem).
constexpr std::size_t kMaxEmailBytes = 254;

Error invalid_credentials() {
  // One body for an unknown email and for a wrong password, so that the answer does not tell
  // which emails have accounts.
  return Error(ErrorKind::unauthorized, "invalid_credentials", "the email or password is incorrect");
}

Error unauthorized(std::string code, std::string message) {
  return Error(ErrorKind::unauthorized, std::move(code), std::move(message));
}

}  // namespace

namespace {

/// The bearer token's claims, checked (signature, expiry); throws 401 domain::Error.
auth::TokenClaims verified_claims(const http::Request& req, ApiContext& ctx) {
  const auto header = req.header("authorization");
  if (!header) {
    throw unauthorized("missing_token", "sign in first: send 'Authorization: Bearer <token>'");
  }
  std::string_view value = *header;
  constexpr std::string_view kBearer = "bearer ";
  bool is_bearer = value.size() > kBearer.size();
  for (std::size_t i = 0; is_bearer && i < kBearer.size(); ++i) {
    is_bearer = (value[i] | 0x20) == kBearer[i];
  }
  if (!is_bearer) {
    throw unauthorized("invalid_token", "the Authorization header must be 'Bearer <token>'");
  }
  value.remove_prefix(kBearer.size());
  auto check = ctx.tokens.verify(value, ctx.clock.now_ms() / 1000);
  if (!check.claims) {
    const bool expired = check.error == auth::TokenError::expired;
    throw unauthorized(expired ? "token_expired" : "invalid_token",
                       std::string(auth::describe(check.error)) + (expired ? "; sign in again" : ""));
  }
  return std::move(*check.claims);
}

/// The caller, once the user's current rights are known; throws 401 when they revoke the token.
auth::Caller caller_of(const auth::TokenClaims& claims, const std::optional<accounts::UserRights>& user) {
  if (!user || user->status != domain::UserStatus::active || user->token_version != claims.ver) {
    throw unauthorized("token_revoked", "this token is no longer valid; sign in again");
  }
  return auth::Caller{user->id, user->email, user->role, claims.exp, claims.ver};
}

}  // namespace

auth::Caller authenticate(const http::Request& req, ApiContext& ctx) {
  const auto claims = verified_claims(req, ctx);
  // From memory unless an account changed since (accounts/rights_cache.hpp).
  return caller_of(claims, ctx.accounts.rights(claims.sub));
}

std::optional<auth::Caller> authenticate_from_memory(const http::Request& req, ApiContext& ctx) {
  const auto claims = verified_claims(req, ctx);
  auto user = ctx.accounts.cached_rights(claims.sub);
  if (!user) {
    return std::nullopt;
  }
  return caller_of(claims, user);
}

http::Response login(http::Request& req, ApiContext& ctx) {
  JsonBody body(req);
  body.allow({"email", "password"});
  const std::string email = body.required_string("email");
  const std::string password = body.required_string("password");
  // No account has a longer email (domain/user.cpp), and the email is a key of the rate limiter:
  // refuse it before anything else, so that no key of unbounded size is stored and no hash is
  // computed for it (docs/security.md).
  if (email.size() > kMaxEmailBytes) {
    throw invalid_credentials();
  }
  const std::string email_key = domain::normalize_email(email);

  const auto started = ctx.clock.now_ms();
  // Behind a trusted proxy, the client's own address (docs/security.md); IPv6 by its /64.
  const auto address = auth::address_key(ctx.trusted_proxies.client_address(
      req.remote_address, req.header("forwarded"), req.header("x-forwarded-for")));
  const auto decision = ctx.login_limiter.begin_attempt(email_key, address, started);
  if (!decision.allowed) {
    throw std::move(Error(ErrorKind::too_many_requests, "too_many_attempts",
                          "too many failed sign-ins; try again in " +
                              std::to_string(decision.retry_after_seconds) + " seconds")
                        .retry_after(decision.retry_after_seconds));
  }

  const auto user = ctx.store.read_value([&](store::Reader& r) { return r.find_user_by_email(email_key); });
  // An unknown email is verified against a dummy hash so that it costs the same time as a
  // wrong password.
  const auto verified = ctx.hasher.verify(user ? user->password_hash : auth::dummy_hash(), password);
  if (!verified) {
    ctx.login_limiter.abandoned(email_key, address, started);
    throw std::move(Error(ErrorKind::too_many_requests, "login_busy",
                          "the server is busy checking other sign-ins; try again in a second")
                        .retry_after(1));
  }
  // A disabled account answers as a wrong password does (and counts as a failure), so that the
  // answer does not tell who knows its password (docs/security.md).
  if (!*verified || !user || user->status != domain::UserStatus::active) {
    throw invalid_credentials();
  }
  ctx.login_limiter.succeeded(email_key, address, started);

  const auto now = ctx.clock.now_ms();
  ctx.store.write([&](store::Writer& w) { w.set_last_login(user->id, now); });
  auth::TokenClaims claims;
  claims.sub = user->id;
  claims.role = user->role;
  claims.iat = now / 1000;
  claims.exp = claims.iat + ctx.token_ttl_seconds;
  claims.ver = user->token_version;

  domain::User shown = *user;
  shown.last_login_at = now;
  boost::json::object out;
  out["token"] = ctx.tokens.sign(claims);
  out["expiresAt"] = domain::format_iso8601(claims.exp * 1000);
  out["user"] = user_json(shown);
  return json_response(200, out);
}

http::Response me(http::Request&, const auth::Caller& caller, ApiContext& ctx) {
  const auto user = ctx.store.read_value([&](store::Reader& r) { return r.find_user(caller.id); });
  if (!user) {
    throw domain::not_found("user");
  }
  return json_response(200, user_json(*user));
}

}  // namespace mladmin::api

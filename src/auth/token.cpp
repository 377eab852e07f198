#include "auth/token.hpp"

#include <sodium.h>

#include <boost/json.hpp>

#include <cassert>
#include <limits>
#include <stdexcept>
#include <utility>

namespace mladmin::auth {
namespace {

namespace json = boost::json;

// Far more than any token we issue; bounds the work an unauthenticated request can cause.
constexpr std::size_t kMaxTokenBytes = 8 * 1024;
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

void ensure_sodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) {
    throw std::runtime_error("libsodium could not be initialised");
  }
}

TokenCheck fail(TokenError error) {
  return TokenCheck{std::nullopt, error};
}

std::optional<json::object> parse_object(std::string_view part) {
  const auto text = base64url_decode(part);
  if (!text) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  return std::move(value.as_object());
}

// Integers only: 1.0 or "1" is a claim of the wrong type, and so is a number beyond int64.
std::optional<std::int64_t> integer_claim(const json::object& payload, std::string_view name) {
  const auto* value = payload.if_contains(name);
  if (!value) {
    return std::nullopt;
  }
  if (value->is_int64()) {
    return value->get_int64();
  }
  if (value->is_uint64() &&
      value->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(value->get_uint64());
  }
  return std::nullopt;
}

// now + leeway without overflowing: `now` comes from our clock, but nothing stops a caller from
// passing extreme values.
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
  }
  return sum;
}

}  // namespace

std::string_view describe(TokenError error) {
  switch (error) {
    case TokenError::malformed:
      return "the token is malformed";
    case TokenError::unsupported_alg:
      return "the token uses an unsupported signing algorithm";
    case TokenError::bad_signature:
      return "the token's signature is invalid";
    case TokenError::expired:
      return "the token has expired";
    case TokenError::not_yet_valid:
      return "the token is not valid yet";
  }
  return "the token is invalid";
}

TokenCodec::TokenCodec(std::string secret, std::int64_t future_leeway_seconds)
    : secret_(std::move(secret)), future_leeway_(future_leeway_seconds) {
  assert(secret_.size() >= 32);
  assert(future_leeway_ >= 0);
  ensure_sodium();
}

std::string TokenCodec::sign(const TokenClaims& claims) const {
  json::object payload;
  payload["sub"] = claims.sub;
  payload["role"] = domain::to_string(claims.role);
  payload["iat"] = claims.iat;
  payload["exp"] = claims.exp;
  payload["ver"] = claims.ver;
  return sign_raw(kHeader, json::serialize(payload));
}

std::string TokenCodec::sign_raw(std::string_view header_json, std::string_view payload_json) const {
  std::string token = base64url_encode(header_json);
  token += '.';
  token += base64url_encode(payload_json);
  const std::string signature = mac(token);
  token += '.';
  token += base64url_encode(signature);
  return token;
}

TokenCheck TokenCodec::verify(std::string_view token, std::int64_t now_seconds) const {
  if (token.size() > kMaxTokenBytes) {
    return fail(TokenError::malformed);
  }
  {
    std::lock_guard lock(verified_mutex_);
    if (const auto it = verified_.find(token); it != verified_.end()) {
      return check_time(it->second, now_seconds);
    }
  }
  const auto first_dot = token.find('.');
  const auto second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos) {
    return fail(TokenError::malformed);
  }
  const std::string_view header_part = token.substr(0, first_dot);
  const std::string_view payload_part = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = token.substr(second_dot + 1);

  const auto header = parse_object(header_part);
  if (!header) {
    return fail(TokenError::malformed);
  }
  // The alg is judged before the signature so that "none" or an RS256 token is named for what it
  // is; whatever it says, nothing below ever skips the HS256 check.
  const auto* alg = header->if_contains("alg");
  if (!alg || !alg->is_string() || alg->get_string() != "HS256") {
    return fail(TokenError::unsupported_alg);
  }
  // RFC 7515 §4.1.11: extensions listed in "crit" must be understood, and we understand none.
  if (header->contains("crit")) {
    return fail(TokenError::malformed);
  }

  const auto signature = base64url_decode(signature_part);
  if (!signature) {
    return fail(TokenError::malformed);
  }
  const std::string expected = mac(token.substr(0, second_dot));
  if (signature->size() != expected.size() ||
      sodium_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return fail(TokenError::bad_signature);
  }

  // Only now, with the signature checked, is the payload worth parsing.
  const auto payload = parse_object(payload_part);
  if (!payload) {
    return fail(TokenError::malformed);
  }
  const auto* sub = payload->if_contains("sub");
  const auto* role_text = payload->if_contains("role");
  if (!sub || !sub->is_string() || sub->get_string().empty() || !role_text || !role_text->is_string()) {
    return fail(TokenError::malformed);
  }
  const auto role = domain::parse_role(role_text->get_string());
  const auto iat = integer_claim(*payload, "iat");
  const auto exp = integer_claim(*payload, "exp");
  const auto ver = integer_claim(*payload, "ver");
  if (!role || !iat || !exp || !ver) {
    return fail(TokenError::malformed);
  }
  std::optional<std::int64_t> nbf;
  if (payload->contains("nbf")) {
    nbf = integer_claim(*payload, "nbf");
    if (!nbf) {
      return fail(TokenError::malformed);
    }
  }

  Verified verified;
  verified.claims.sub = std::string(sub->get_string());
  verified.claims.role = *role;
  verified.claims.iat = *iat;
  verified.claims.exp = *exp;
  verified.claims.ver = *ver;
  verified.nbf = nbf;
  auto check = check_time(verified, now_seconds);
  if (check.claims) {
    // What the bytes say is settled: the next verification of the same token checks only the time.
    std::lock_guard lock(verified_mutex_);
    if (verified_.size() >= kMaxVerified) {
      verified_.clear();
    }
    verified_.emplace(std::string(token), std::move(verified));
  }
  return check;
}

TokenCheck TokenCodec::check_time(const Verified& v, std::int64_t now_seconds) const {
  if (now_seconds >= v.claims.exp) {
    return fail(TokenError::expired);
  }
  const std::int64_t latest = saturating_add(now_seconds, future_leeway_);
  if (v.claims.iat > latest || (v.nbf && *v.nbf > latest)) {
    return fail(TokenError::not_yet_valid);
  }
  return TokenCheck{v.claims, TokenError::malformed};
}

std::string TokenCodec::mac(std::string_view signing_input) const {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret_.data()), secret_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signing_input.data()),
                                signing_input.size());
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, out);
  // The state holds key-derived pads.
  sodium_memzero(&state, sizeof state);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string base64url_encode(std::string_view bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), kVariant);
  out.resize(out.size() - 1);  // the encoded length counts the terminating NUL
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  // With b64_end null, libsodium fails on any character outside the alphabet instead of stopping
  // there; it also refuses non-zero trailing bits, so each byte string has exactly one encoding.
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                        nullptr, &length, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

}  // namespace mladmin::auth

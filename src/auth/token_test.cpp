#include "auth/token.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mladmin::auth {
namespace {

constexpr std::int64_t kNow = 1'750'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

TokenClaims sample_claims() {
  TokenClaims claims;
  claims.sub = "u_42";
  claims.role = domain::Role::ml_admin;
  claims.iat = kNow;
  claims.exp = kNow + 12 * 3600;
  claims.ver = 3;
  return claims;
}

// A valid payload issued at kNow, plus `extra` fields (",\"nbf\":1").
std::string payload_with(std::string_view extra = "") {
  return R"({"sub":"u_42","role":"user","iat":1750000000,"exp":1750043200,"ver":1)" + std::string(extra) +
         "}";
}

struct Parts {
  std::string header;
  std::string payload;
  std::string signature;
};

Parts split(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  return {token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
}

class TokenCodecTest : public ::testing::Test {
 protected:
  TokenError error_of(const std::string& token, std::int64_t now = kNow) const {
    const TokenCheck check = codec_.verify(token, now);
    EXPECT_FALSE(check.claims) << token;
    return check.error;
  }

  bool accepts(const std::string& token, std::int64_t now = kNow) const {
    return codec_.verify(token, now).claims.has_value();
  }

  TokenCodec codec_{kSecret, 30};
};

TEST_F(TokenCodecTest, SignedTokenVerifiesWithItsClaims) {
  const TokenCheck check = codec_.verify(codec_.sign(sample_claims()), kNow);
  ASSERT_TRUE(check.claims);
  EXPECT_EQ(check.claims->sub, "u_42");
  EXPECT_EQ(check.claims->role, domain::Role::ml_admin);
  EXPECT_EQ(check.claims->iat, kNow);
  EXPECT_EQ(check.claims->exp, kNow + 12 * 3600);
  EXPECT_EQ(check.claims->ver, 3);
}

TEST_F(TokenCodecTest, SignEmitsTheStandardHeaderAndPayload) {
  const Parts parts = split(codec_.sign(sample_claims()));
  EXPECT_EQ(base64url_decode(parts.header), std::string(kHeader));
  EXPECT_EQ(base64url_decode(parts.payload),
            R"({"sub":"u_42","role":"ml_admin","iat":1750000000,"exp":1750043200,"ver":3})");
  EXPECT_EQ(base64url_decode(parts.signature)->size(), 32U);
}

TEST_F(TokenCodecTest, SignatureMatchesAnIndependentHs256Implementation) {
  // Computed with Python's hmac/hashlib over the same header and payload.
  EXPECT_EQ(
      codec_.sign(sample_claims()),
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiJ1XzQyIiwicm9sZSI6Im1sX2FkbWluIiwiaWF0IjoxNzUwMDAwMDAwLCJleHAiOjE3NTAwNDMyMDAsInZlciI6M30."
      "V0gbs2N8RjD-pDunNg2BwZUDTwd3QnNyvAQTYYbVC7c");
}

TEST_F(TokenCodecTest, TamperedPayloadIsBadSignature) {
  const Parts parts = split(codec_.sign(sample_claims()));
  const std::string forged =
      base64url_encode(R"({"sub":"u_42","role":"admin","iat":1750000000,"exp":1750043200,"ver":3})");
  EXPECT_EQ(error_of(parts.header + "." + forged + "." + parts.signature), TokenError::bad_signature);
}

TEST_F(TokenCodecTest, TamperedSignatureIsBadSignature) {
  const Parts parts = split(codec_.sign(sample_claims()));
  std::string signature = *base64url_decode(parts.signature);
  signature[7] = static_cast<char>(signature[7] ^ 0x01);
  EXPECT_EQ(error_of(parts.header + "." + parts.payload + "." + base64url_encode(signature)),
            TokenError::bad_signature);
}

TEST_F(TokenCodecTest, TruncatedOrMissingSignatureIsBadSignature) {
  const Parts parts = split(codec_.sign(sample_claims()));
  const std::string signature = *base64url_decode(parts.signature);
  EXPECT_EQ(error_of(parts.header + "." + parts.payload + "." + base64url_encode(signature.substr(0, 31))),
            TokenError::bad_signature);
  EXPECT_EQ(error_of(parts.header + "." + parts.payload + "."), TokenError::bad_signature);
}

TEST_F(TokenCodecTest, TokenFromAnotherSecretIsBadSignature) {
  const TokenCodec other(std::string(32, 'x'));
  EXPECT_EQ(error_of(other.sign(sample_claims())), TokenError::bad_signature);
}

TEST_F(TokenCodecTest, AlgNoneIsUnsupportedEvenWhenSigned) {
  EXPECT_EQ(error_of(codec_.sign_raw(R"({"alg":"none","typ":"JWT"})", payload_with())),
            TokenError::unsupported_alg);
}

TEST_F(TokenCodecTest, UnsignedAlgNoneTokenIsUnsupported) {
  const std::string payload = payload_with();
  const std::string token =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(payload) + ".";
  EXPECT_EQ(error_of(token), TokenError::unsupported_alg);
}

TEST_F(TokenCodecTest, OtherAlgorithmsAreUnsupported) {
  const std::string payload = payload_with();
  for (const char* header : {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256"})", R"({"alg":"hs256"})",
                             R"({"typ":"JWT"})", R"({"alg":256})"}) {
    EXPECT_EQ(error_of(codec_.sign_raw(header, payload)), TokenError::unsupported_alg) << header;
  }
}

TEST_F(TokenCodecTest, HeaderWithoutTypIsAccepted) {
  const std::string payload = payload_with();
  EXPECT_TRUE(accepts(codec_.sign_raw(R"({"alg":"HS256"})", payload)));
}

TEST_F(TokenCodecTest, CriticalHeaderExtensionIsRefused) {
  const std::string payload = payload_with();
  EXPECT_EQ(error_of(codec_.sign_raw(R"({"alg":"HS256","crit":["b64"],"b64":false})", payload)),
            TokenError::malformed);
}

TEST_F(TokenCodecTest, ExpiredByOneSecondIsRefused) {
  TokenClaims claims = sample_claims();
  const std::string token = codec_.sign(claims);
  EXPECT_EQ(error_of(token, claims.exp), TokenError::expired);
  EXPECT_EQ(error_of(token, claims.exp + 1), TokenError::expired);
}

TEST_F(TokenCodecTest, OneSecondBeforeExpiryIsValid) {
  TokenClaims claims = sample_claims();
  EXPECT_TRUE(accepts(codec_.sign(claims), claims.exp - 1));
}

TEST_F(TokenCodecTest, IssuedBeyondTheLeewayIsNotYetValid) {
  TokenClaims claims = sample_claims();
  claims.iat = kNow + 31;
  EXPECT_EQ(error_of(codec_.sign(claims)), TokenError::not_yet_valid);
  claims.iat = kNow + 30;
  EXPECT_TRUE(accepts(codec_.sign(claims)));
}

TEST_F(TokenCodecTest, NotBeforeBeyondTheLeewayIsNotYetValid) {
  EXPECT_EQ(error_of(codec_.sign_raw(kHeader, payload_with(R"(,"nbf":1750000031)"))),
            TokenError::not_yet_valid);
  EXPECT_TRUE(accepts(codec_.sign_raw(kHeader, payload_with(R"(,"nbf":1750000030)"))));
}

TEST_F(TokenCodecTest, ClaimsOfTheWrongTypeAreMalformed) {
  const char* payloads[] = {
      R"({"sub":42,"role":"user","iat":1750000000,"exp":1750043200,"ver":1})",
      R"({"sub":"","role":"user","iat":1750000000,"exp":1750043200,"ver":1})",
      R"({"sub":"u_1","role":"root","iat":1750000000,"exp":1750043200,"ver":1})",
      R"({"sub":"u_1","role":2,"iat":1750000000,"exp":1750043200,"ver":1})",
      R"({"sub":"u_1","role":"user","iat":1750000000.0,"exp":1750043200,"ver":1})",
      R"({"sub":"u_1","role":"user","iat":1750000000,"exp":"1750043200","ver":1})",
      R"({"sub":"u_1","role":"user","iat":1750000000,"exp":1.7500432e9,"ver":1})",
      R"({"sub":"u_1","role":"user","iat":1750000000,"exp":1750043200,"ver":true})",
      R"({"sub":"u_1","role":"user","iat":1750000000,"exp":1750043200,"ver":18446744073709551615})",
      R"({"sub":"u_1","role":"user","iat":1750000000,"exp":1750043200,"ver":1,"nbf":null})",
      R"({"role":"user","iat":1750000000,"exp":1750043200,"ver":1})",
      R"({"sub":"u_1","role":"user","iat":1750000000,"exp":1750043200})",
      R"(["sub","u_1"])",
      R"(not json)",
  };
  for (const char* payload : payloads) {
    EXPECT_EQ(error_of(codec_.sign_raw(kHeader, payload)), TokenError::malformed) << payload;
  }
}

TEST_F(TokenCodecTest, UnknownClaimsAreIgnored) {
  EXPECT_TRUE(accepts(codec_.sign_raw(kHeader, payload_with(R"(,"jti":"x")"))));
}

TEST_F(TokenCodecTest, WrongShapeIsMalformed) {
  const std::string token = codec_.sign(sample_claims());
  const Parts parts = split(token);
  EXPECT_EQ(error_of(""), TokenError::malformed);
  EXPECT_EQ(error_of("abc"), TokenError::malformed);
  EXPECT_EQ(error_of(parts.header + "." + parts.payload), TokenError::malformed);
  EXPECT_EQ(error_of(token + ".extra"), TokenError::malformed);
  EXPECT_EQ(error_of("!!." + parts.payload + "." + parts.signature), TokenError::malformed);
  EXPECT_EQ(error_of(base64url_encode("not json") + "." + parts.payload + "." + parts.signature),
            TokenError::malformed);
  EXPECT_EQ(error_of(parts.header + "." + parts.payload + "." + parts.signature + "="),
            TokenError::malformed);
}

TEST_F(TokenCodecTest, TokenLongerThan8KiBIsMalformed) {
  const std::string padding(9000, 'a');
  const std::string token = codec_.sign_raw(kHeader, payload_with(R"(,"pad":")" + padding + "\""));
  EXPECT_GT(token.size(), 8U * 1024U);
  EXPECT_EQ(error_of(token), TokenError::malformed);
}

TEST(TokenErrorTest, EveryErrorHasASentence) {
  EXPECT_EQ(describe(TokenError::expired), "the token has expired");
  for (TokenError error : {TokenError::malformed, TokenError::unsupported_alg, TokenError::bad_signature,
                           TokenError::expired, TokenError::not_yet_valid}) {
    EXPECT_FALSE(describe(error).empty());
  }
}

TEST(Base64UrlTest, EveryByteValueRoundTrips) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes += static_cast<char>(i);
  }
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    const std::string input = bytes.substr(0, length);
    const std::string encoded = base64url_encode(input);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(base64url_decode(encoded), input);
  }
}

TEST(Base64UrlTest, KnownVectorsUseTheUrlAlphabetWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
}

TEST(Base64UrlTest, InvalidInputIsRefused) {
  for (const char* text : {"Zg==", "+/8", "Zm9v Yg", "Z", "Zm9vY", "Zh", "Zg.", "Zg\n"}) {
    EXPECT_FALSE(base64url_decode(text)) << text;
  }
}

// A token that passed is kept with its claims (docs/performance.md, "The request path"): a later
// verification of the same bytes still checks its times, and any other bytes are checked in full.
TEST_F(TokenCodecTest, AKeptTokenIsStillCheckedForItsTimesAndOtherBytesInFull) {
  const TokenCodec codec(kSecret);
  const auto token = codec.sign(sample_claims());
  ASSERT_TRUE(codec.verify(token, kNow + 1).claims);
  const auto again = codec.verify(token, kNow + 2);
  ASSERT_TRUE(again.claims);
  EXPECT_EQ(again.claims->sub, "u_42");
  EXPECT_EQ(again.claims->ver, 3);

  const auto late = codec.verify(token, kNow + 12 * 3600);
  EXPECT_FALSE(late.claims);
  EXPECT_EQ(late.error, TokenError::expired);
  const auto early = codec.verify(token, kNow - 31);
  EXPECT_FALSE(early.claims);
  EXPECT_EQ(early.error, TokenError::not_yet_valid);

  auto tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(codec.verify(tampered, kNow + 1).error, TokenError::bad_signature);
  const TokenCodec other("another-secret-of-at-least-32-bytes-long!!");
  EXPECT_EQ(other.verify(token, kNow + 1).error, TokenError::bad_signature);
}

}  // namespace
}  // namespace mladmin::auth

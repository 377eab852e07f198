#include "auth/password.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "domain/error.hpp"

namespace mladmin::auth {
namespace {

// The rule a refused password broke, or "" when it was accepted.
std::string refused_rule(std::string_view password, std::string_view email = "ann@example.org",
                         std::string_view name = "Ann Example", const PasswordPolicy& policy = {}) {
  try {
    check_new_password(password, email, name, policy);
    return "";
  } catch (const domain::Error& error) {
    for (const auto& [key, value] : error.details()) {
      if (key == "rule") {
        return value;
      }
    }
    return "(no rule detail)";
  }
}

std::string random_ascii(std::size_t length) {
  std::mt19937 rng(20240611);  // fixed seed: the same "random" password on every run
  std::uniform_int_distribution<int> printable(0x21, 0x7E);
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    out += static_cast<char>(printable(rng));
  }
  return out;
}

TEST(PasswordHashTest, HashUsesArgon2idAtSpecParameters) {
  const std::string hash = hash_password("correct horse battery staple");
  EXPECT_EQ(hash.rfind("$argon2id$v=19$", 0), 0U) << hash;
  EXPECT_NE(hash.find("$m=19456,t=2,p=1$"), std::string::npos) << hash;
}

TEST(PasswordHashTest, RightPasswordVerifiesAndWrongOneDoesNot) {
  const std::string hash = hash_password("correct horse battery staple");
  EXPECT_TRUE(verify_password(hash, "correct horse battery staple"));
  EXPECT_FALSE(verify_password(hash, "correct horse battery stapler"));
  EXPECT_FALSE(verify_password(hash, ""));
}

TEST(PasswordHashTest, SamePasswordHashesDifferentlyEachTime) {
  EXPECT_NE(hash_password("same password"), hash_password("same password"));
}

TEST(PasswordHashTest, MalformedHashNeverVerifies) {
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("not a hash", "not a hash"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=19456,t=2,p=1$", ""));
  std::string hash = hash_password("pw");
  hash.back() = hash.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_password(hash, "pw"));
  EXPECT_FALSE(verify_password(std::string(1000, 'a'), "pw"));
}

TEST(PasswordHashTest, NonAsciiPasswordRoundTrips) {
  const std::string hash = hash_password("пароль-для-теста-Ω");
  EXPECT_TRUE(verify_password(hash, "пароль-для-теста-Ω"));
  EXPECT_FALSE(verify_password(hash, "пароль-для-теста-ω"));
}

TEST(PasswordHashTest, DummyHashIsStableValidAndMatchesNoGuess) {
  const std::string& first = dummy_hash();
  EXPECT_EQ(&first, &dummy_hash());
  EXPECT_NE(first.find("$m=19456,t=2,p=1$"), std::string::npos);
  EXPECT_FALSE(verify_password(first, ""));
  EXPECT_FALSE(verify_password(first, "password"));
}

TEST(PasswordPolicyTest, SevenCharactersAreTooShort) {
  EXPECT_EQ(refused_rule("Xq9#vLp"), "min_length");
}

TEST(PasswordPolicyTest, EightUncommonCharactersAreAccepted) {
  EXPECT_EQ(refused_rule("Xq9#vLp2"), "");
}

TEST(PasswordPolicyTest, LengthCountsCodePointsNotBytes) {
  // Seven Cyrillic letters are fourteen bytes but only seven characters.
  EXPECT_EQ(refused_rule("жщфыйцу"), "min_length");
  EXPECT_EQ(refused_rule("жщфыйцуё"), "");
}

TEST(PasswordPolicyTest, MoreThan256CharactersAreTooLong) {
  EXPECT_EQ(refused_rule(random_ascii(257)), "max_length");
  EXPECT_EQ(refused_rule(random_ascii(256)), "");
}

TEST(PasswordPolicyTest, MaximumCountsCodePoints) {
  std::string long_text;
  for (int i = 0; i < 256; ++i) {
    long_text += "Ω";  // 512 bytes, 256 characters
  }
  EXPECT_NE(refused_rule(long_text), "max_length");
  EXPECT_EQ(refused_rule(long_text + "Ω"), "max_length");
}

TEST(PasswordPolicyTest, RandomSixtyFourCharacterPasswordIsAccepted) {
  EXPECT_EQ(refused_rule(random_ascii(64)), "");
}

TEST(PasswordPolicyTest, NonAsciiPasswordIsAccepted) {
  EXPECT_EQ(refused_rule("пароль-для-теста-Ω"), "");
}

TEST(PasswordPolicyTest, NoCompositionRules) {
  EXPECT_EQ(refused_rule("correcthorsebatterystaple"), "");  // lower case only
  EXPECT_EQ(refused_rule("ZEBRA LANTERN OBOE"), "");         // no digit, no symbol
}

TEST(PasswordPolicyTest, InvalidUtf8IsRefused) {
  EXPECT_EQ(refused_rule("abcdefgh\xff"), "invalid_utf8");
  EXPECT_EQ(refused_rule("abcdefgh\xc0\xaf"), "invalid_utf8");          // overlong '/'
  EXPECT_EQ(refused_rule("abcdefgh\xed\xa0\x80"), "invalid_utf8");      // UTF-16 surrogate
  EXPECT_EQ(refused_rule("abcdefgh\xf4\x90\x80\x80"), "invalid_utf8");  // above U+10FFFF
  EXPECT_EQ(refused_rule("abcdefgh\xd0"), "invalid_utf8");              // truncated sequence
}

TEST(PasswordPolicyTest, CommonPasswordsAreRefused) {
  for (const char* password : {"password", "password1", "12345678", "qwertyuiop", "iloveyou", "abcdefgh"}) {
    EXPECT_EQ(refused_rule(password), "common") << password;
  }
}

TEST(PasswordPolicyTest, PalindromesAreJudgedByTheirFirstHalf) {
  EXPECT_EQ(refused_rule("aaaaaaaa"), "common");
  EXPECT_EQ(refused_rule("abcddcba"), "common");
  EXPECT_EQ(refused_rule("password1drowssap"), "common");
  EXPECT_EQ(refused_rule("Xq9#vLp22pLv#9qX"), "");
}

TEST(PasswordPolicyTest, DictionaryCheckCanBeTurnedOff) {
  PasswordPolicy policy;
  policy.dictionary_check = false;
  EXPECT_EQ(refused_rule("password", "ann@example.org", "Ann Example", policy), "");
}

TEST(PasswordPolicyTest, PasswordContainingEmailLocalPartIsRefused) {
  EXPECT_EQ(refused_rule("my-Jdoe1970-xq", "jdoe1970@example.org", ""), "contains_identity");
}

TEST(PasswordPolicyTest, ShortEmailLocalPartIsNotAnIdentityMatch) {
  EXPECT_EQ(refused_rule("bobXq9#vLp2", "bob@example.org", ""), "");
}

TEST(PasswordPolicyTest, PasswordContainingNameIsRefusedCaseInsensitively) {
  EXPECT_EQ(refused_rule("zz-ANN EXAMPLE-zz", "x@example.org", "Ann Example"), "contains_identity");
  EXPECT_EQ(refused_rule("Xq9#vLp2", "x@example.org", "Xq9#"), "contains_identity");
  EXPECT_EQ(refused_rule("Xq9#vLp2", "x@example.org", "Xq9"), "");
}

TEST(PasswordPolicyTest, RefusalIsBadRequestNamingFieldAndRule) {
  try {
    check_new_password("short", "ann@example.org", "Ann");
    FAIL() << "a 5-character password was accepted";
  } catch (const domain::Error& error) {
    EXPECT_EQ(error.kind(), domain::ErrorKind::bad_request);
    EXPECT_EQ(error.code(), "weak_password");
    EXPECT_EQ(std::string(error.what()), "field 'password': must be at least 8 characters");
    const std::vector<std::pair<std::string, std::string>> expected{{"field", "password"},
                                                                    {"rule", "min_length"}};
    EXPECT_EQ(error.details(), expected);
  }
}

TEST(PasswordPolicyTest, ChecksRunSafelyFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&results, i] { results[i] = refused_rule(i % 2 == 0 ? "password1" : "Xq9#vLp2"); });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i], i % 2 == 0 ? "common" : "") << i;
  }
}

}  // namespace
}  // namespace mladmin::auth

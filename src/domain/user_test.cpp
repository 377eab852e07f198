#include "domain/user.hpp"

#include <gtest/gtest.h>

namespace mladmin::domain {

TEST(EmailTest, NormalizedFormIgnoresCaseAndSurroundingSpace) {
  EXPECT_EQ(normalize_email("  Ada.Admin@Example.COM "), "ada.admin@example.com");
}

TEST(EmailTest, AcceptsOrdinaryAddresses) {
  for (const char* ok : {"a@b.co", "first.last+tag@sub.example.org", "ünï@exämple.de"}) {
    EXPECT_FALSE(email_problem(ok).has_value()) << ok;
  }
}

TEST(EmailTest, RefusesWhatCannotReceiveMail) {
  for (const char* bad : {"", "plain", "a@b", "@example.com", "a@@example.com", "a b@example.com",
                          "a@example..com", "a@.example.com", "a@example.com.", "a\n@example.com"}) {
    EXPECT_TRUE(email_problem(bad).has_value()) << bad;
  }
  EXPECT_TRUE(email_problem(std::string(250, 'a') + "@x.io").has_value());
  EXPECT_TRUE(email_problem("\xff@example.com").has_value());
}

TEST(NameTest, RefusesEmptyControlAndOverlong) {
  EXPECT_FALSE(name_problem("Ana Writer").has_value());
  EXPECT_FALSE(name_problem("Zoë 山田").has_value());
  EXPECT_TRUE(name_problem("   ").has_value());
  EXPECT_TRUE(name_problem("a\tb").has_value());
  EXPECT_TRUE(name_problem(std::string(201, 'x')).has_value());
}

TEST(Utf8Test, RefusesOverlongsSurrogatesAndTruncation) {
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));   // U+1F600
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // U+D800
  EXPECT_FALSE(valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

// valid_utf8 skips eight ASCII bytes at a time: what follows them, or sits inside a run of them,
// is still checked, wherever it falls against the eight-byte steps.
TEST(Utf8Test, ChecksWhatFollowsLongRunsOfAscii) {
  const std::string ascii(23, 'a');
  for (std::size_t at = 0; at <= ascii.size(); ++at) {
    const std::string head = ascii.substr(0, at);
    const std::string tail = ascii.substr(at);
    EXPECT_TRUE(valid_utf8(head + "\xC3\xA9" + tail)) << at;
    EXPECT_TRUE(valid_utf8(head + "\xF0\x9F\x98\x80" + tail)) << at;
    EXPECT_FALSE(valid_utf8(head + "\xC0\xAF" + tail)) << at;
    EXPECT_FALSE(valid_utf8(head + "\xFF" + tail)) << at;
    EXPECT_FALSE(valid_utf8(head + "\xE2\x82")) << at;     // truncated at the very end
    EXPECT_FALSE(valid_utf8(head + "\x80" + tail)) << at;  // a continuation byte alone
  }
}

}  // namespace mladmin::domain

// The client address behind trusted proxies and the login limiter's key of an address
// (docs/security.md), and the per-user window of sync starts.
#include <gtest/gtest.h>

#include <stdexcept>

#include "auth/rate_limiter.hpp"

namespace mladmin::auth {
namespace {

using std::nullopt;

TEST(TrustedProxiesTest, ParsesAddressesAndCidrsAndRefusesTheRest) {
  const TrustedProxies p({"127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1"});
  EXPECT_TRUE(p.contains("127.0.0.1"));
  EXPECT_FALSE(p.contains("127.0.0.2"));
  EXPECT_TRUE(p.contains("10.200.3.4"));
  EXPECT_FALSE(p.contains("11.0.0.1"));
  EXPECT_TRUE(p.contains("fd12:3456::1"));
  EXPECT_FALSE(p.contains("fe80::1"));
  EXPECT_TRUE(p.contains("::1"));
  EXPECT_TRUE(p.contains("::ffff:10.1.1.1"));  // IPv4 as a dual-stack socket shows it
  EXPECT_FALSE(p.contains("not-an-address"));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "::/129", "example.org", "10.0.0.0/8x", ""}) {
    EXPECT_THROW(TrustedProxies({bad}), std::invalid_argument) << bad;
  }
  EXPECT_TRUE(TrustedProxies().empty());
}

TEST(TrustedProxiesTest, AnUntrustedPeerIsTheClientWhateverItsHeadersSay) {
  const TrustedProxies p({"127.0.0.1"});
  EXPECT_EQ(p.client_address("203.0.113.9", nullopt, "198.51.100.1"), "203.0.113.9");
  EXPECT_EQ(TrustedProxies().client_address("127.0.0.1", nullopt, "198.51.100.1"), "127.0.0.1");
}

TEST(TrustedProxiesTest, TheRightmostUntrustedHopOfXForwardedForIsTheClient) {
  const TrustedProxies p({"127.0.0.1", "10.0.0.0/8"});
  EXPECT_EQ(p.client_address("127.0.0.1", nullopt, "198.51.100.1"), "198.51.100.1");
  // A client that sends its own X-Forwarded-For only adds hops to the left of the real one.
  EXPECT_EQ(p.client_address("127.0.0.1", nullopt, "1.2.3.4, 198.51.100.1, 10.0.0.5"), "198.51.100.1");
  // All hops trusted: the leftmost one.
  EXPECT_EQ(p.client_address("127.0.0.1", nullopt, "10.0.0.7, 10.0.0.5"), "10.0.0.7");
  // No header: the proxy itself.
  EXPECT_EQ(p.client_address("127.0.0.1", nullopt, nullopt), "127.0.0.1");
  // A hop that is no address stops the walk at the last address believed.
  EXPECT_EQ(p.client_address("127.0.0.1", nullopt, "198.51.100.1, garbage"), "127.0.0.1");
  EXPECT_EQ(p.client_address("127.0.0.1", nullopt, "198.51.100.1:4711"), "198.51.100.1");
}

TEST(TrustedProxiesTest, ForwardedIsPreferredAndItsForValuesAreParsed) {
  const TrustedProxies p({"127.0.0.1"});
  EXPECT_EQ(p.client_address("127.0.0.1", R"(for=192.0.2.60;proto=http;by=203.0.113.43)", "198.51.100.1"),
            "192.0.2.60");
  EXPECT_EQ(p.client_address("127.0.0.1", R"(for=192.0.2.43, For="[2001:db8:cafe::17]:4711")", nullopt),
            "2001:db8:cafe::17");
  EXPECT_EQ(p.client_address("127.0.0.1", R"(for=192.0.2.43, for=unknown)", nullopt), "127.0.0.1");
}

TEST(AddressKeyTest, Ipv6ClientsAreKeyedByTheirSlash64) {
  EXPECT_EQ(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  EXPECT_NE(address_key("2001:db8:1:3::1"), address_key("2001:db8:1:2::1"));
  EXPECT_EQ(address_key("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(address_key("::ffff:203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(address_key("unknown"), "unknown");
}

TEST(WindowLimiterTest, RefusesPastTheLimitUntilTheOldestLeavesTheWindow) {
  WindowLimiter limiter(3, std::chrono::seconds(60));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.take("ann", i * 1000).allowed) << i;
  }
  const auto refused = limiter.take("ann", 10'000);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 50);  // the first, at 0 s, leaves at 60 s
  EXPECT_TRUE(limiter.take("bob", 10'000).allowed);
  EXPECT_TRUE(limiter.take("ann", 60'000).allowed);
  EXPECT_FALSE(limiter.take("ann", 60'001).allowed);
}

}  // namespace
}  // namespace mladmin::auth

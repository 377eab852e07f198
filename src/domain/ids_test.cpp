#include "domain/ids.hpp"

#include <gtest/gtest.h>

#include <set>

#include "domain/testing/fixed_clock.hpp"

namespace mladmin::domain {

namespace {

constexpr TimestampMs kStart = 1795661353123;

}  // namespace

TEST(UuidV7Test, IdsMadeInOneMillisecondAreUniqueAndOrdered) {
  FixedClock clock(kStart);
  UuidV7Generator gen(clock);
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 10000; ++i) {  // far more than the 12-bit counter holds
    auto id = gen.next();
    ASSERT_TRUE(looks_like_uuid(id)) << id;
    EXPECT_GT(id, previous);
    EXPECT_TRUE(seen.insert(id).second);
    previous = id;
  }
}

TEST(UuidV7Test, CarriesVersionSevenAndTheTimestamp) {
  FixedClock clock(kStart);
  UuidV7Generator gen(clock);
  const auto id = gen.next();
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  EXPECT_EQ(id.substr(0, 8) + id.substr(9, 4), "01a215c1d0a3");  // 1795661353123 in hex, 48 bits
}

TEST(UuidV7Test, LaterMillisecondsSortLater) {
  FixedClock clock(kStart);
  UuidV7Generator gen(clock);
  const auto a = gen.next();
  clock.now += 1;
  EXPECT_LT(a, gen.next());
}

}  // namespace mladmin::domain

#include "domain/clock.hpp"

#include <gtest/gtest.h>

namespace mladmin::domain {

TEST(Iso8601Test, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1795661353123), "2026-11-26T02:49:13.123Z");
}

TEST(Iso8601Test, ParsesWhatItFormats) {
  for (TimestampMs ms : {0LL, 1795661353123LL, 951782400000LL /* 2000-02-29 */}) {
    EXPECT_EQ(parse_iso8601(format_iso8601(ms)), ms);
  }
}

TEST(Iso8601Test, AcceptsDatesSecondsAndOffsets) {
  EXPECT_EQ(parse_iso8601("2026-11-26"), parse_iso8601("2026-11-26T00:00:00Z"));
  EXPECT_EQ(parse_iso8601("2026-11-26T04:49:13+02:00"), parse_iso8601("2026-11-26T02:49:13Z"));
  EXPECT_EQ(parse_iso8601("2026-11-26T02:49:13.5Z"), *parse_iso8601("2026-11-26T02:49:13Z") + 500);
}

TEST(Iso8601Test, RefusesAnythingElse) {
  for (const char* bad :
       {"", "yesterday", "2026-13-01", "2026-11-26T02:49", "2026-11-26T02:49:13", "2026-11-26T25:00:00Z",
        "2026-11-26T02:49:13Zjunk", "2026-11-26T02:49:13.Z", "'; DROP TABLE users; --"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
}

}  // namespace mladmin::domain

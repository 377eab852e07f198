#include "domain/clock.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace mladmin::domain {

TEST(Iso8601Test, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1795661353123), "2026-11-26T02:49:13.123Z");
}

TEST(Iso8601Test, FormatsEveryDateAsTheCLibraryDoes) {
  // The formatter computes the civil date itself; gmtime_r is the reference, over four
  // centuries (leap days, the 100- and 400-year rules), before 1970 and around year 9999.
  const auto reference = [](TimestampMs ms) {
    const std::int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms - secs * 1000));
    return std::string(buf);
  };
  const TimestampMs day = 86400000;
  for (TimestampMs ms = -3000 * 365 * day; ms < 500 * 365 * day; ms += day * 7 + 3600007) {
    ASSERT_EQ(format_iso8601(ms), reference(ms)) << ms;
  }
  for (TimestampMs ms :
       {-1LL, -999LL, -1000LL, -1001LL, 951782399999LL, 253402300799999LL, 253402300800000LL}) {
    EXPECT_EQ(format_iso8601(ms), reference(ms)) << ms;
  }
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

#include "http/log_text.hpp"

#include <gtest/gtest.h>

namespace mladmin::http {
namespace {

TEST(LogTextTest, PrintableAsciiStaysAsItIs) {
  EXPECT_EQ(log_text("/api/ml/sync/job/abc-123?x=1"), "/api/ml/sync/job/abc-123?x=1");
}

TEST(LogTextTest, LineBreaksAndOtherControlBytesCannotForgeALogLine) {
  EXPECT_EQ(log_text("/a\nts=2026 level=info msg=forged\r"), "/a\\x0ats=2026 level=info msg=forged\\x0d");
  EXPECT_EQ(log_text(std::string("a\0b\x1b[31m\x7f", 9)), "a\\x00b\\x1b[31m\\x7f");
}

TEST(LogTextTest, QuotesAndBackslashesCannotCloseTheValue) {
  EXPECT_EQ(log_text(R"(x" status=200 y="\)"), R"(x\" status=200 y=\"\\)");
}

TEST(LogTextTest, BytesAboveAsciiAreEscapedSoNoNextLineCharacterGetsThrough) {
  // U+0085 (NEL) and U+2028 (LINE SEPARATOR) end a line in some log viewers.
  EXPECT_EQ(log_text("\xc2\x85\xe2\x80\xa8"), "\\xc2\\x85\\xe2\\x80\\xa8");
}

}  // namespace
}  // namespace mladmin::http

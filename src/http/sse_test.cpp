#include "http/sse.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace mladmin::http::sse {
namespace {

TEST(SseTest, AnEventIsItsNameItsDataAndABlankLine) {
  EXPECT_EQ(event("job", R"({"id":"a"})"), "event: job\ndata: {\"id\":\"a\"}\n\n");
}

TEST(SseTest, EachLineOfTheDataGetsItsOwnDataField) {
  // A client joins the data lines with "\n": what it reads back is the text sent, whatever line
  // breaks it had, and no line of it can pass for a field (an "id:" or "event:" of its own).
  EXPECT_EQ(event("job", "a\nid: 9\r\nb\rc"), "event: job\ndata: a\ndata: id: 9\ndata: b\ndata: c\n\n");
  EXPECT_EQ(event("snapshot", ""), "event: snapshot\ndata: \n\n");
}

TEST(SseTest, ANameOrCommentOfMoreThanOneLineIsRefused) {
  EXPECT_THROW((void)event("job\ndata: x", "{}"), std::invalid_argument);
  EXPECT_THROW((void)comment("a\rb"), std::invalid_argument);
}

TEST(SseTest, IdRetryAndCommentFields) {
  EXPECT_EQ(id_field(1764720000000001), "id: 1764720000000001\n");
  EXPECT_EQ(retry(std::chrono::milliseconds(1000)), "retry: 1000\n\n");
  EXPECT_EQ(comment("keep-alive"), ": keep-alive\n\n");
  EXPECT_EQ(heartbeat(), ": keep-alive\n\n");
}

TEST(SseTest, AnIdFieldBeforeAnEventNamesIt) {
  EXPECT_EQ(id_field(7) + event("job", "{}"), "id: 7\nevent: job\ndata: {}\n\n");
}

}  // namespace
}  // namespace mladmin::http::sse

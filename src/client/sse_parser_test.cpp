#include "client/sse_parser.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace mladmin::client {
namespace {

/// What the server of this project sends: a retry hint, a snapshot, a heartbeat, job events.
const std::string kStream =
    "retry: 1000\n\n"
    "id: 41\nevent: snapshot\ndata: {\"jobs\":[]}\n\n"
    ": keep-alive\n\n"
    "id: 42\nevent: job\ndata: {\"id\":\"a\",\"status\":\"queued\"}\n\n"
    "event: job\ndata: {\"id\":\"b\",\"status\":\"running\"}\n\n"
    "id: 43\nevent: job\ndata: {\"id\":\"a\",\"status\":\"running\"}\n\n";

std::vector<SseEvent> feed_in_pieces(const std::string& text, std::size_t piece) {
  SseParser p;
  std::vector<SseEvent> all;
  for (std::size_t i = 0; i < text.size(); i += piece) {
    for (auto& e : p.feed(std::string_view(text).substr(i, piece))) {
      all.push_back(std::move(e));
    }
  }
  return all;
}

TEST(SseParserTest, ParsesTheEventsOfTheServer) {
  SseParser p;
  const auto events = p.feed(kStream);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, "snapshot");
  EXPECT_EQ(events[0].data, "{\"jobs\":[]}");
  EXPECT_EQ(events[0].last_event_id, "41");
  EXPECT_EQ(events[1].type, "job");
  EXPECT_EQ(events[1].last_event_id, "42");
  EXPECT_EQ(events[2].data, "{\"id\":\"b\",\"status\":\"running\"}");
  EXPECT_EQ(events[2].last_event_id, "42") << "an event without id keeps the last one";
  EXPECT_EQ(events[3].last_event_id, "43");
  EXPECT_EQ(p.last_event_id(), "43");
  EXPECT_EQ(p.retry(), std::chrono::milliseconds(1000));
  EXPECT_EQ(p.comments(), 1u);
}

TEST(SseParserTest, GivesTheSameEventsHoweverTheBytesAreSplit) {
  const auto whole = feed_in_pieces(kStream, kStream.size());
  for (std::size_t piece = 1; piece < 40; ++piece) {
    const auto split = feed_in_pieces(kStream, piece);
    ASSERT_EQ(split.size(), whole.size()) << "pieces of " << piece;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(split[i].type, whole[i].type);
      EXPECT_EQ(split[i].data, whole[i].data);
      EXPECT_EQ(split[i].last_event_id, whole[i].last_event_id);
    }
  }
}

TEST(SseParserTest, AcceptsCrLfAndLoneCrAsLineEndsEvenSplitBetweenCrAndLf) {
  for (const std::string eol : {"\r\n", "\r", "\n"}) {
    const std::string text =
        "id: 7" + eol + "event: job" + eol + "data: x" + eol + eol + "data: y" + eol + eol;
    for (std::size_t piece = 1; piece <= text.size(); ++piece) {
      const auto events = feed_in_pieces(text, piece);
      ASSERT_EQ(events.size(), 2u) << "pieces of " << piece;
      EXPECT_EQ(events[0].type, "job");
      EXPECT_EQ(events[0].data, "x");
      EXPECT_EQ(events[0].last_event_id, "7");
      EXPECT_EQ(events[1].type, "message");
      EXPECT_EQ(events[1].data, "y");
    }
  }
}

TEST(SseParserTest, JoinsMultiLineDataWithNewlines) {
  SseParser p;
  const auto events = p.feed("data: first\ndata:second\ndata\ndata:  indented\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "first\nsecond\n\n indented") << "one leading space is dropped, not two";
}

TEST(SseParserTest, CommentsAndFieldsWithoutDataDispatchNothing) {
  SseParser p;
  EXPECT_TRUE(p.feed(": hello\n\nevent: job\n\nid: 9\n\nretry: soon\n\nunknown: x\n\n").empty());
  EXPECT_EQ(p.comments(), 1u);
  EXPECT_EQ(p.last_event_id(), "9") << "an id settles at the blank line even without data";
  EXPECT_FALSE(p.retry().has_value()) << "retry takes digits only";
  const auto events = p.feed("data: z\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "message") << "the event type does not carry over a dispatch";
}

TEST(SseParserTest, AnEventIsOnlyDispatchedAtItsBlankLine) {
  SseParser p;
  EXPECT_TRUE(p.feed("event: job\ndata: {\"a\":1}\n").empty());
  const auto events = p.feed("\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "{\"a\":1}");
}

TEST(SseParserTest, IgnoresAnIdWithNulAndDropsALeadingByteOrderMark) {
  SseParser p;
  std::string text = "\xEF\xBB\xBFid: 5\n\nid: 6";
  text += '\0';
  text += "x\ndata: a\n\n";
  EXPECT_EQ(p.feed(text).size(), 1u);
  EXPECT_EQ(p.last_event_id(), "5");
}

TEST(SseParserTest, ResetForgetsAHalfReceivedEventButKeepsTheLastId) {
  SseParser p;
  p.feed("id: 10\ndata: done\n\nid: 11\nevent: job\ndata: half");
  p.reset_connection();
  EXPECT_EQ(p.last_event_id(), "10");
  const auto events = p.feed("data: fresh\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "fresh");
  EXPECT_EQ(events[0].type, "message");
  EXPECT_EQ(events[0].last_event_id, "10");
}

TEST(SseParserTest, RefusesAnEventOverTheLimit) {
  SseParser p(64);
  EXPECT_THROW(p.feed("data: " + std::string(100, 'x')), std::length_error);
}

}  // namespace
}  // namespace mladmin::client

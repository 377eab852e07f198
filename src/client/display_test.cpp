#include "client/display.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace mladmin::client {
namespace {

using namespace std::chrono_literals;
using Clock = Display::Clock;

JobView job(const std::string& id, const std::string& status, std::int64_t processed,
            std::int64_t total = 100) {
  JobView j;
  j.id = id;
  j.type = "goals";
  j.status = status;
  j.total_items = total;
  j.processed_items = processed;
  j.synced_items = processed;
  j.progress = total > 0 ? static_cast<int>(100 * processed / total) : 0;
  if (status == "completed" || status == "failed" || status == "cancelled") {
    j.duration = 1500;
  }
  return j;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

class PlainDisplayTest : public ::testing::Test {
 protected:
  PlainDisplayTest() {
    DisplayOptions options;
    options.timestamp = [] { return std::string("T"); };
    display_ = make_plain_display(out_, err_, options);
  }
  std::ostringstream out_;
  std::ostringstream err_;
  std::unique_ptr<Display> display_;
  Clock::time_point t0_ = Clock::time_point{} + 1h;
};

TEST_F(PlainDisplayTest, PrintsEveryStatusChangeAtOnceAndProgressAtMostOncePerSecond) {
  display_->update(job("a", "queued", 0), t0_);
  display_->update(job("a", "running", 0), t0_ + 10ms);
  display_->update(job("a", "running", 10), t0_ + 100ms);  // too soon after the last line: held
  display_->update(job("a", "running", 20), t0_ + 500ms);  // replaces the held one
  display_->tick(t0_ + 900ms);
  EXPECT_EQ(lines(out_.str()).size(), 2u) << out_.str();
  display_->tick(t0_ + 1010ms);  // its second has come: the latest held state
  display_->update(job("a", "running", 30), t0_ + 1500ms);
  display_->update(job("a", "completed", 100), t0_ + 1600ms);
  const auto l = lines(out_.str());
  ASSERT_EQ(l.size(), 4u) << out_.str();
  EXPECT_EQ(l[0], "T job a goals queued 0% 0/100 synced=0 skipped=0 failed=0");
  EXPECT_EQ(l[1], "T job a goals running 0% 0/100 synced=0 skipped=0 failed=0 rate=0/s");
  EXPECT_EQ(l[2], "T job a goals running 20% 20/100 synced=20 skipped=0 failed=0 rate=0/s");
  EXPECT_EQ(l[3], "T job a goals completed 100% 100/100 synced=100 skipped=0 failed=0 duration=1.5s");
}

TEST_F(PlainDisplayTest, ListsTheFirstItemErrorsOfAFinishedJob) {
  auto j = job("a", "completed", 100);
  j.failed_items = 3;
  j.error_count = 3;
  j.errors = {{"e-1", "body is empty"}, {"e-2", "mood must be 1-5"}};
  display_->update(j, t0_);
  const auto l = lines(out_.str());
  ASSERT_EQ(l.size(), 4u) << out_.str();
  EXPECT_EQ(l[1], "T job a error item=e-1 reason=\"body is empty\"");
  EXPECT_EQ(l[3], "T job a errors=3 shown=2 all=\"GET /api/ml/sync/job/a/errors\"");
}

TEST_F(PlainDisplayTest, KeepsEachJobsPaceApartAndSendsNotesToTheErrorStream) {
  display_->update(job("a", "running", 0), t0_);
  display_->update(job("b", "running", 0), t0_ + 100ms);
  display_->update(job("a", "running", 5), t0_ + 1100ms);
  display_->update(job("b", "running", 5), t0_ + 1150ms);
  display_->update(job("b", "running", 5), t0_ + 2500ms);  // no news: nothing
  display_->note("event stream lost");
  EXPECT_EQ(lines(out_.str()).size(), 4u) << out_.str();
  EXPECT_EQ(err_.str(), "mladmin: event stream lost\n");
}

class TerminalDisplayTest : public ::testing::Test {
 protected:
  TerminalDisplayTest() {
    DisplayOptions options;
    options.width = [] { return std::size_t{120}; };
    options.ascii = true;
    display_ = make_terminal_display(out_, options);
  }
  /// What the terminal shows: applies CR, LF, cursor up and clear-to-end to a screen of lines.
  std::vector<std::string> screen() const {
    std::vector<std::string> rows{""};
    std::size_t row = 0;
    std::size_t col = 0;
    const std::string s = out_.str();
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\r') {
        col = 0;
      } else if (s[i] == '\n') {
        ++row;
        col = 0;
        if (rows.size() <= row) {
          rows.emplace_back();
        }
      } else if (s[i] == '\x1b') {
        std::size_t j = i + 2;  // after "\x1b["
        std::size_t n = 0;
        while (std::isdigit(static_cast<unsigned char>(s[j]))) {
          n = n * 10 + static_cast<std::size_t>(s[j] - '0');
          ++j;
        }
        if (s[j] == 'A') {
          row -= std::max<std::size_t>(n, 1);
        } else if (s[j] == 'J') {
          rows[row].resize(col);
          rows.resize(row + 1);
        }
        i = j;
      } else {
        if (rows[row].size() <= col) {
          rows[row].resize(col + 1, ' ');
        }
        rows[row][col++] = s[i];
      }
    }
    return rows;
  }
  std::ostringstream out_;
  std::unique_ptr<Display> display_;
  Clock::time_point t0_ = Clock::time_point{} + 1h;
};

TEST_F(TerminalDisplayTest, RedrawsOneLinePerJobInPlace) {
  display_->update(job("a", "running", 10), t0_);
  display_->update(job("b", "queued", 0), t0_ + 1ms);
  display_->update(job("a", "running", 40), t0_ + 200ms);
  auto rows = screen();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0].find("40/100"), std::string::npos) << rows[0];
  EXPECT_NE(rows[1].find("queued"), std::string::npos) << rows[1];
}

TEST_F(TerminalDisplayTest, RedrawsAtMostTenTimesASecond) {
  display_->update(job("a", "running", 10), t0_);
  const auto before = out_.str().size();
  display_->update(job("a", "running", 20), t0_ + 30ms);
  display_->update(job("a", "running", 30), t0_ + 60ms);
  EXPECT_EQ(out_.str().size(), before) << "held back";
  display_->tick(t0_ + 90ms);
  EXPECT_EQ(out_.str().size(), before) << "still too soon";
  display_->tick(t0_ + 110ms);
  ASSERT_EQ(screen().size(), 1u);
  EXPECT_NE(screen()[0].find("30/100"), std::string::npos) << screen()[0];
}

TEST_F(TerminalDisplayTest, AFinishedJobLeavesItsFinalLineAndErrorsAboveTheLiveOnes) {
  display_->update(job("a", "running", 10), t0_);
  display_->update(job("b", "running", 50), t0_ + 1ms);
  auto done = job("a", "completed", 100);
  done.failed_items = 1;
  done.error_count = 1;
  done.errors = {{"e-9", "title is empty"}};
  display_->update(done, t0_ + 2ms);
  display_->note("event stream lost (the server closed the connection)");
  display_->close();
  const auto rows = screen();
  ASSERT_EQ(rows.size(), 5u) << out_.str();
  EXPECT_NE(rows[0].find("completed in 1.5s"), std::string::npos) << rows[0];
  EXPECT_EQ(rows[1], "  item e-9: title is empty");
  EXPECT_EQ(rows[2], "event stream lost (the server closed the connection)");
  EXPECT_NE(rows[3].find("50/100"), std::string::npos) << rows[3];
  EXPECT_EQ(rows[4], "") << "close() leaves the cursor on a fresh line";
}

TEST_F(TerminalDisplayTest, MoreLiveJobsThanRowsEndInOneSummaryLine) {
  DisplayOptions options;
  options.height = [] { return std::size_t{5}; };
  options.ascii = true;
  auto small = make_terminal_display(out_, options);
  for (int i = 0; i < 6; ++i) {
    small->update(job("j" + std::to_string(i), "running", i), t0_ + std::chrono::milliseconds(i));
  }
  const auto rows = screen();
  ASSERT_EQ(rows.size(), 3u) << out_.str();
  EXPECT_NE(rows[1].find("1/100"), std::string::npos) << rows[1];
  EXPECT_EQ(rows[2], "… 4 more active jobs");
}

}  // namespace
}  // namespace mladmin::client

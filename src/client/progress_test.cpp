#include "client/progress.hpp"

#include <gtest/gtest.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <limits>

namespace mladmin::client {
namespace {

JobView running_job() {
  JobView j;
  j.id = "0193a5b0-7c1e-7d2f-9a8b-3f9a1c2e4d5f";
  j.type = "journal_entries";
  j.status = "running";
  j.total_items = 10000;
  j.processed_items = 5200;
  j.synced_items = 5100;
  j.skipped_items = 50;
  j.failed_items = 50;
  j.error_count = 50;
  j.progress = 52;
  j.items_per_second = 3120.4;
  j.eta_seconds = 2;
  return j;
}

JobView completed_job() {
  JobView j = running_job();
  j.status = "completed";
  j.processed_items = j.total_items;
  j.synced_items = 9900;
  j.progress = 100;
  j.eta_seconds.reset();
  j.duration = 3210;
  return j;
}

TEST(FormatTest, CountsGetThousandsSeparators) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(10000), "10,000");
  EXPECT_EQ(format_count(1234567), "1,234,567");
  EXPECT_EQ(format_count(-1234), "-1,234");
  EXPECT_EQ(format_count(std::numeric_limits<std::int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(FormatTest, SecondsReadAsAPersonWouldSayThem) {
  EXPECT_EQ(format_seconds(0), "0s");
  EXPECT_EQ(format_seconds(2), "2s");
  EXPECT_EQ(format_seconds(59), "59s");
  EXPECT_EQ(format_seconds(60), "1m 00s");
  EXPECT_EQ(format_seconds(245), "4m 05s");
  EXPECT_EQ(format_seconds(3600 * 2 + 180 + 9), "2h 03m");
  EXPECT_EQ(format_seconds(86400 * 3 + 3600 * 4), "3d 04h");
  EXPECT_EQ(format_seconds(-5), "0s");
}

TEST(FormatTest, ShortDurationsKeepOneDecimal) {
  EXPECT_EQ(format_duration_ms(0), "0.0s");
  EXPECT_EQ(format_duration_ms(420), "0.4s");
  EXPECT_EQ(format_duration_ms(3210), "3.2s");
  EXPECT_EQ(format_duration_ms(9940), "9.9s");
  EXPECT_EQ(format_duration_ms(9960), "10s");
  EXPECT_EQ(format_duration_ms(42400), "42s");
  EXPECT_EQ(format_duration_ms(245000), "4m 05s");
}

TEST(FormatTest, RatesAreRoundedAndSlowRatesKeepADecimal) {
  EXPECT_EQ(format_rate(3120.4), "3,120 items/s");
  EXPECT_EQ(format_rate(4.54), "4.5 items/s");
  EXPECT_EQ(format_rate(0), "0 items/s");
  EXPECT_EQ(format_rate(std::numeric_limits<double>::quiet_NaN()), "0 items/s");
}

TEST(FormatTest, ShortIdIsTheRandomEndOfTheId) {
  EXPECT_EQ(short_id("0193a5b0-7c1e-7d2f-9a8b-3f9a1c2e4d5f"), "1c2e4d5f");
  EXPECT_EQ(short_id("abc"), "abc");
}

TEST(ProgressBarTest, FillsItsShareOfCells) {
  EXPECT_EQ(progress_bar(0.5, 4), "\u2588\u2588\u2591\u2591");
  EXPECT_EQ(progress_bar(0.52, 10, true), "#####-----");
  EXPECT_EQ(progress_bar(1.0, 3, true), "###");
  EXPECT_EQ(progress_bar(2.0, 3, true), "###");
  EXPECT_EQ(progress_bar(-1.0, 3, true), "---");
  EXPECT_EQ(display_width(progress_bar(0.3, 20)), 20u);
}

TEST(ProgressLineTest, ShowsEveryFieldOfARunningJobOnAWideTerminal) {
  EXPECT_EQ(render_line(running_job(), {.width = 160}),
            "journal_entries  [\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2591\u2591\u2591"
            "\u2591\u2591\u2591\u2591\u2591\u2591\u2591]   52%  5,200/10,000  synced 5,100  skipped 50  "
            "failed 50  3,120 items/s  ETA 2s  running");
}

TEST(ProgressLineTest, AFinishedJobEndsWithItsStatusAndDuration) {
  EXPECT_EQ(
      render_line(completed_job(), {.width = 160, .ascii = true}),
      "journal_entries  [####################]  100%  10,000/10,000  synced 9,900  skipped 50  failed 50  "
      "completed in 3.2s");
  JobView failed = running_job();
  failed.status = "failed";
  failed.duration = 1500;
  failed.failure_reason = "the sink is down";
  const auto line = render_line(failed, {.width = 200, .ascii = true});
  EXPECT_NE(line.find("failed after 1.5s: the sink is down"), std::string::npos) << line;
  EXPECT_EQ(line.find("items/s"), std::string::npos) << "no rate once it stopped: " << line;
}

TEST(ProgressLineTest, FitsANarrowTerminalByDroppingTheLeastUsefulFieldsFirst) {
  for (std::size_t width = 1; width <= 200; ++width) {
    const auto line = render_line(running_job(), {.width = width});
    ASSERT_LE(display_width(line), width > 1 ? width - 1 : 1) << "width " << width << ": " << line;
  }
  const auto line80 = render_line(running_job(), {.width = 80});
  EXPECT_NE(line80.find("52%"), std::string::npos) << line80;
  EXPECT_NE(line80.find("failed 50"), std::string::npos) << line80;
  EXPECT_NE(line80.find("running"), std::string::npos) << line80;
  EXPECT_NE(line80.find("[\u2588"), std::string::npos) << "the bar stays: " << line80;
  EXPECT_EQ(line80.find("items/s"), std::string::npos) << "the rate goes first: " << line80;
  const auto line40 = render_line(running_job(), {.width = 40});
  EXPECT_NE(line40.find("52%"), std::string::npos) << line40;
  EXPECT_NE(line40.find("running"), std::string::npos) << line40;
}

TEST(ProgressLineTest, OfSyncedAndSkippedTheLargerStaysLonger) {
  JobView repeat = running_job();
  repeat.synced_items = 0;
  repeat.skipped_items = 5150;
  const auto line = render_line(repeat, {.width = 100});
  EXPECT_NE(line.find("skipped 5,150"), std::string::npos) << line;
  EXPECT_EQ(line.find("synced"), std::string::npos) << line;
  const auto first = render_line(running_job(), {.width = 100});
  EXPECT_NE(first.find("synced 5,100"), std::string::npos) << first;
  EXPECT_EQ(first.find("skipped"), std::string::npos) << first;
}

TEST(ProgressLineTest, ShowsTheShortIdWhenAsked) {
  const auto line = render_line(running_job(), {.width = 200, .show_id = true});
  EXPECT_NE(line.find("journal_entries  1c2e4d5f  ["), std::string::npos) << line;
}

TEST(ProgressLineTest, AJobWithNothingToDoShowsAFullBarOnceCompleted) {
  JobView j;
  j.id = "x";
  j.type = "goals";
  j.status = "completed";
  j.progress = 100;
  j.duration = 12;
  EXPECT_EQ(
      render_line(j, {.width = 200, .ascii = true}),
      "goals            [####################]  100%  0/0  synced 0  skipped 0  failed 0  completed in 0.0s");
}

TEST(PlainLineTest, NamesEveryCounterAsKeyValue) {
  EXPECT_EQ(render_plain_line(running_job(), "2026-11-26T06:00:00Z"),
            "2026-11-26T06:00:00Z job 0193a5b0-7c1e-7d2f-9a8b-3f9a1c2e4d5f journal_entries running 52% "
            "5200/10000 synced=5100 skipped=50 failed=50 rate=3120/s eta=2s");
  EXPECT_EQ(
      render_plain_line(completed_job(), "T"),
      "T job 0193a5b0-7c1e-7d2f-9a8b-3f9a1c2e4d5f journal_entries completed 100% 10000/10000 synced=9900 "
      "skipped=50 failed=50 duration=3.2s");
}

TEST(ItemErrorsTest, ShowsTheFirstFewAndWhereToFindTheRest) {
  JobView j = completed_job();
  j.errors = {{"e-1", "body is empty"}, {"e-2", "mood must be 1-5"}, {"e-3", "title is \"blank\""}};
  j.error_count = 50;
  const auto lines = render_item_errors(j, 2, false);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "  item e-1: body is empty");
  EXPECT_EQ(lines[1], "  item e-2: mood must be 1-5");
  EXPECT_EQ(lines[2], "  … 48 more item errors: GET /api/ml/sync/job/" + j.id + "/errors");
  const auto plain = render_item_errors(j, 5, true);
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_EQ(plain[2], "error item=e-3 reason=\"title is \\\"blank\\\"\"");
  EXPECT_EQ(plain[3], "errors=50 shown=3 all=\"GET /api/ml/sync/job/" + j.id + "/errors\"");
  j.errors.clear();
  j.error_count = 0;
  EXPECT_TRUE(render_item_errors(j, 5, false).empty());
}

TEST(JobTableTest, AlignsColumnsUnderAHeader) {
  JobView a = completed_job();
  a.created_at = "2026-11-26T06:00:00.123Z";
  JobView b;
  b.id = "short";
  b.type = "goals";
  b.status = "queued";
  b.created_at = "2026-11-26T06:01:00.000Z";
  const auto table = render_job_table({a, b});
  EXPECT_EQ(
      table,
      "ID                                    TYPE             STATUS     PROGRESS          ITEMS  SYNCED  "
      "SKIPPED  FAILED  CREATED               DURATION\n"
      "0193a5b0-7c1e-7d2f-9a8b-3f9a1c2e4d5f  journal_entries  completed      100%  10,000/10,000   9,900  "
      "     50      50  2026-11-26T06:00:00Z      3.2s\n"
      "short                                 goals            queued           0%            0/0       0  "
      "      0       0  2026-11-26T06:01:00Z         -\n");
}

TEST(JobViewTest, ReadsTheJobJsonOfTheServer) {
  const auto json = boost::json::parse(R"({"id":"j1","userId":"u","type":"goals","status":"running",
    "totalItems":10,"processedItems":4,"syncedItems":2,"failedItems":1,"progress":40,
    "errors":[{"itemId":"g-1","reason":"unknown status","at":"2026-01-01T00:00:00.000Z"}],
    "startTime":"2026-01-01T00:00:00.000Z","endTime":null,"duration":1200,"scope":"user",
    "scopeUserId":"u","mode":"full","skippedItems":1,"errorCount":1,"attempt":1,
    "createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:01.200Z",
    "itemsPerSecond":3.5,"etaSeconds":2,"cancelRequested":false,"futureField":[1,2]})");
  const auto job = parse_job(json);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->type, "goals");
  EXPECT_EQ(job->processed_items, 4);
  EXPECT_EQ(job->skipped_items, 1);
  EXPECT_EQ(job->progress, 40);
  EXPECT_EQ(job->eta_seconds, 2);
  EXPECT_EQ(job->duration, 1200);
  EXPECT_FALSE(job->end_time);
  EXPECT_DOUBLE_EQ(job->items_per_second, 3.5);
  ASSERT_EQ(job->errors.size(), 1u);
  EXPECT_EQ(job->errors[0].item_id, "g-1");
}

TEST(JobViewTest, SaysWhatMakesAnAnswerNotAJob) {
  std::string problem;
  EXPECT_FALSE(parse_job(boost::json::parse(R"({"status":"running"})"), &problem));
  EXPECT_EQ(problem, "it has no 'id'");
  EXPECT_FALSE(parse_job(boost::json::parse("[1]"), &problem));
  EXPECT_EQ(problem, "it is not a JSON object");
  auto json = api::write_job_json(running_job());
  json["totalItems"] = "many";
  EXPECT_FALSE(parse_job(json, &problem));
  EXPECT_EQ(problem, "its 'totalItems' is not what docs/openapi.yaml says");
}

TEST(JobViewTest, ReadsTheJobsOfASnapshot) {
  boost::json::array jobs{api::write_job_json(running_job()), boost::json::object{{"bad", 1}},
                          api::write_job_json(completed_job())};
  const auto read = parse_snapshot(boost::json::object{{"jobs", jobs}});
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[1], completed_job());
  EXPECT_TRUE(is_finished(read[1]));
  EXPECT_TRUE(parse_snapshot(boost::json::parse("{}")).empty());
}

}  // namespace
}  // namespace mladmin::client

#include "sources/import.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "domain/error.hpp"
#include "domain/testing/fixed_clock.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/temp_store_test_fixture.hpp"

namespace mladmin::sources {

namespace {

std::vector<std::pair<std::size_t, std::string>> read_all(const std::string& input, std::size_t max_bytes) {
  std::istringstream in(input);
  LineReader reader(in, max_bytes);
  std::vector<std::pair<std::size_t, std::string>> out;
  while (auto line = reader.next()) {
    out.emplace_back(line->number, line->too_long ? std::string("<too long>") : std::string(line->text));
  }
  return out;
}

/// The reason a line is refused, or "" when it parses.
template <class Parse>
std::string reason(Parse parse, const std::string& line) {
  try {
    parse(line);
    return "";
  } catch (const domain::Error& e) {
    return e.what();
  }
}

std::string entry_reason(const std::string& line) {
  return reason(parse_journal_entry_line, line);
}
std::string goal_reason(const std::string& line) {
  return reason(parse_goal_line, line);
}

}  // namespace

TEST(LineReaderTest, SplitsLinesNumberingBlankOnesAndKeepingALastLineWithoutNewline) {
  const auto lines = read_all("a\r\n\nb\nc", 100);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], std::make_pair(std::size_t{1}, std::string("a")));
  EXPECT_EQ(lines[1], std::make_pair(std::size_t{2}, std::string("")));
  EXPECT_EQ(lines[2], std::make_pair(std::size_t{3}, std::string("b")));
  EXPECT_EQ(lines[3], std::make_pair(std::size_t{4}, std::string("c")));
  EXPECT_TRUE(read_all("", 100).empty());
  EXPECT_EQ(read_all("x\n", 100).size(), 1u);
}

TEST(LineReaderTest, StripsAByteOrderMarkOnTheFirstLineOnly) {
  const auto lines = read_all("\xEF\xBB\xBFone\n\xEF\xBB\xBFtwo\n", 100);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].second, "one");
  EXPECT_EQ(lines[1].second, "\xEF\xBB\xBFtwo");
}

TEST(LineReaderTest, LineOverTheLimitIsReportedAndSkippedToItsEnd) {
  // Longer than one read chunk, so the skipping crosses buffer refills.
  const std::string huge(200 * 1024, 'x');
  const auto lines = read_all("12345\r\n123456\n" + huge + "\nnext\n" + huge, 5);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].second, "12345");  // the limit counts no line ending
  EXPECT_EQ(lines[1].second, "<too long>");
  EXPECT_EQ(lines[2].second, "<too long>");
  EXPECT_EQ(lines[3], std::make_pair(std::size_t{4}, std::string("next")));
  EXPECT_EQ(lines[4].second, "<too long>");
}

TEST(ImportLineTest, ValidJournalEntryKeepsEveryField) {
  const auto p = parse_journal_entry_line(
      R"({"userId":"u1","id":"legacy-42","title":"T","body":"B","mood":4,"tags":["a"],)"
      R"("createdAt":"2025-01-02T03:04:05Z","updatedAt":"2025-01-03T00:00:00Z"})");
  EXPECT_EQ(p.record.user_id, "u1");
  EXPECT_EQ(p.record.id, "legacy-42");
  EXPECT_TRUE(p.has_id);
  EXPECT_EQ(p.record.title, "T");
  EXPECT_EQ(p.record.mood, 4);
  EXPECT_EQ(p.record.tags, std::vector<std::string>{"a"});
  EXPECT_TRUE(p.has_created_at);
  EXPECT_EQ(domain::format_iso8601(p.record.created_at), "2025-01-02T03:04:05.000Z");
  EXPECT_TRUE(p.has_updated_at);
}

TEST(ImportLineTest, OptionalFieldsMayBeLeftOutOrNull) {
  const auto p = parse_goal_line(R"({"userId":"u1","title":"Run","id":null,"createdAt":null})");
  EXPECT_FALSE(p.has_id);
  EXPECT_FALSE(p.has_created_at);
  EXPECT_FALSE(p.has_updated_at);
  EXPECT_EQ(p.record.status, "open");
  EXPECT_FALSE(p.record.target_date);
}

TEST(ImportLineTest, RefusesWhatTheCreateRouteRefusesWithTheSameWords) {
  EXPECT_EQ(entry_reason(R"({"title":"T","body":"B"})"), "field 'userId': is required");
  EXPECT_EQ(entry_reason(R"({"userId":"u","body":"B"})"), "field 'title': is required");
  EXPECT_EQ(entry_reason(R"({"userId":"u","title":7,"body":"B"})"),
            "field 'title': must be a string, not a number");
  EXPECT_EQ(entry_reason(R"({"userId":"u","title":"T","body":"B","mood":9})"),
            "field 'mood': must be from 1 to 5, or null");
  EXPECT_EQ(entry_reason(R"({"userId":"u","title":"T","body":"B","tags":"x"})"),
            "field 'tags': must be an array of strings");
  EXPECT_EQ(entry_reason(R"({"userId":"u","title":"T","body":"B","colour":"red"})"),
            "unknown field 'colour'");
  EXPECT_EQ(entry_reason(R"({"userId":"u","title":"T","body":"   "})"),
            "the record cannot be synced: body is empty");
  EXPECT_EQ(goal_reason(R"({"userId":"u","title":"T","status":"someday"})"),
            "field 'status': must be open or done");
  EXPECT_EQ(goal_reason(R"({"userId":"u","title":"T","targetDate":"2026-02-30"})"),
            "field 'targetDate': must be a date such as 2026-12-31, or null");
  EXPECT_EQ(goal_reason(R"({"userId":"u","title":"T","body":"B"})"), "unknown field 'body'");
}

TEST(ImportLineTest, RefusesMalformedLinesAndBadImportFields) {
  EXPECT_NE(entry_reason(R"({"userId":"u",)").find("the line is not valid JSON"), std::string::npos);
  EXPECT_EQ(entry_reason("[1,2]"), "the line must be a JSON object, not an array");
  EXPECT_EQ(entry_reason(R"({"userId":"u","id":"a/b","title":"T","body":"B"})"),
            "field 'id': must be 1 to 128 letters, digits, '-', '_', '.' or ':', or null");
  EXPECT_EQ(entry_reason(R"({"userId":"u","id":"","title":"T","body":"B"})").substr(0, 11), "field 'id':");
  EXPECT_EQ(entry_reason(R"({"userId":"u","createdAt":"yesterday","title":"T","body":"B"})").substr(0, 18),
            "field 'createdAt':");
  EXPECT_EQ(entry_reason(R"({"userId":"u","title":"T","body":"B","createdAt":"2025-02-01",)"
                         R"("updatedAt":"2025-01-01"})"),
            "field 'updatedAt': must not be before createdAt");
}

class CountingIds final : public domain::IdGenerator {
 public:
  std::string next() override { return "gen-" + std::to_string(++n_); }

 private:
  int n_ = 0;
};

class NdjsonImportTest : public store::sqlite::TempStoreTest {
 protected:
  void SetUp() override {
    TempStoreTest::SetUp();
    store_->write([](store::Writer& w) {
      for (const char* id : {"ann", "bob"}) {
        domain::User u;
        u.id = id;
        u.email = std::string(id) + "@example.com";
        u.name = id;
        u.password_hash = "$argon2id$placeholder";
        w.insert_user(u);
      }
    });
  }
  ImportReport run(const std::string& input, domain::SourceType type = domain::SourceType::journal_entries) {
    std::istringstream in(input);
    return import_ndjson(in, type, *store_, clock_, ids_, options_);
  }

  std::vector<domain::JournalEntry> entries() {
    return store_->read_value(
        [](store::Reader& r) { return r.journal_changes(std::nullopt, 0, 1 << 30, 1000); });
  }

  domain::FixedClock clock_;
  CountingIds ids_;
  ImportOptions options_;
};

TEST_F(NdjsonImportTest, StoresGoodLinesAndReportsEachBadOneWithItsNumber) {
  options_.batch_records = 2;  // several batches, so errors found at write time interleave
  const auto r = run(R"({"userId":"ann","title":"One","body":"First"})"
                     "\n\n"
                     R"({"userId":"nobody","title":"Two","body":"Second"})"
                     "\n"
                     R"({"userId":"ann","title":"","body":"x"})"
                     "\n"
                     "not json\n"
                     R"({"userId":"bob","title":"Five","body":"Fifth","mood":5})"
                     "\n   \n");

  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.imported, 2u);
  EXPECT_EQ(r.created, 2u);
  EXPECT_EQ(r.failed, 3u);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 3u);
  EXPECT_EQ(r.errors[0].reason, "field 'userId': no user has this id");
  EXPECT_EQ(r.errors[1].line, 4u);
  EXPECT_EQ(r.errors[1].reason, "the record cannot be synced: title is empty");
  EXPECT_EQ(r.errors[2].line, 5u);
  const auto stored = entries();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].title, "One");
  EXPECT_EQ(stored[0].user_id, "ann");
  EXPECT_EQ(stored[0].created_at, clock_.now_ms());
  EXPECT_EQ(stored[1].title, "Five");
  EXPECT_EQ(stored[1].change_seq, stored[0].change_seq + 1);
}

TEST_F(NdjsonImportTest, ReimportingTheSameIdsUpdatesInsteadOfDuplicating) {
  const std::string file = R"({"userId":"ann","id":"e1","title":"A","body":"x","createdAt":"2024-05-01"})"
                           "\n"
                           R"({"userId":"ann","id":"e2","title":"B","body":"y"})"
                           "\n";
  ASSERT_EQ(run(file).created, 2u);
  const auto first = entries();
  clock_.now += 1000;

  const auto again = run(file);

  EXPECT_EQ(again.imported, 2u);
  EXPECT_EQ(again.updated, 2u);
  EXPECT_EQ(again.created, 0u);
  const auto second = entries();
  ASSERT_EQ(second.size(), 2u);
  // Each change gets a new change_seq, so that the next incremental sync sees it.
  EXPECT_GT(second[0].change_seq, first[1].change_seq);
  // createdAt is kept from the first import when a line does not give it.
  for (const auto& e : second) {
    if (e.id == "e2") {
      EXPECT_EQ(e.created_at, first[1].created_at);
      EXPECT_EQ(e.updated_at, clock_.now_ms());
    }
  }
}

TEST_F(NdjsonImportTest, AnIdOfAnotherOwnersRecordIsRefusedAndADeletedOneComesBack) {
  run(R"({"userId":"ann","id":"g1","title":"Mine"})"
      "\n",
      domain::SourceType::goals);
  store_->write([](store::Writer& w) {
    auto g = *w.find_goal("g1");
    g.deleted_at = 1;
    w.save_goal(g);
  });

  const auto r = run(R"({"userId":"bob","id":"g1","title":"Taken"})"
                     "\n"
                     R"({"userId":"ann","id":"g1","title":"Back","status":"done"})"
                     "\n"
                     R"({"userId":"bob","id":"g1","title":"Same batch"})"
                     "\n",
                     domain::SourceType::goals);

  EXPECT_EQ(r.updated, 1u);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 1u);
  EXPECT_EQ(r.errors[0].reason, "field 'id': names a record of another user");
  EXPECT_EQ(r.errors[1].line, 3u);
  const auto g = store_->read_value([](store::Reader& rd) { return rd.find_goal("g1"); });
  ASSERT_TRUE(g);
  EXPECT_EQ(g->title, "Back");
  EXPECT_EQ(g->user_id, "ann");
  EXPECT_FALSE(g->deleted_at);
}

TEST_F(NdjsonImportTest, KeepsTheFirstErrorsButCountsAndShowsThemAll) {
  options_.kept_errors = 3;
  std::vector<LineError> seen;
  options_.on_error = [&](const LineError& e) { seen.push_back(e); };
  std::string input;
  for (int i = 0; i < 2500; ++i) {
    input += i % 2 == 0 ? R"({"userId":"ann","title":"ok","body":"fine"})" : "{}";
    input += "\n";
  }

  const auto r = run(input);

  EXPECT_EQ(r.imported, 1250u);
  EXPECT_EQ(r.failed, 1250u);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[2].line, 6u);
  ASSERT_EQ(seen.size(), 1250u);
  EXPECT_EQ(seen.back().line, 2500u);
  EXPECT_EQ(entries().size(), 1000u);  // journal_changes' limit in this helper; the count says the rest
  EXPECT_EQ(store_->read_value([](store::Reader& rd) {
    return rd.count_changes(domain::SourceType::journal_entries, std::nullopt, 0, 1 << 30);
  }),
            1250);
}

TEST_F(NdjsonImportTest, WritesOneAuditEntry) {
  options_.actor_id = "ann";
  options_.actor_label = "ann@example.com";
  run(R"({"userId":"ann","title":"ok","body":"fine"})");

  const auto audit = store_->read_value([](store::Reader& r) { return r.list_audit({}); });
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "source.import");
  EXPECT_EQ(audit[0].actor_label, "ann@example.com");
  EXPECT_NE(audit[0].details_json.find("\"imported\":1"), std::string::npos) << audit[0].details_json;
}

}  // namespace mladmin::sources

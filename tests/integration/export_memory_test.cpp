// The job history export is streamed, not built (docs/openapi.yaml, GET /api/ml/sync/jobs/export:
// "written page by page"): a history whose JSON export is over 200 MiB leaves the server's peak
// resident memory far below the size of the export.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "support/fixture.hpp"
#include "support/probes.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kJobs = 50000;
constexpr std::size_t kExportAtLeast = 200 * 1024 * 1024;
/// What the export may add to the server's peak resident memory. Streamed, it holds a page of jobs
/// (500) and its JSON at a time: about 27 MiB under the dev build's sanitizers. Built in memory,
/// the whole export is held at once, over 200 MiB (about 330 MiB more were measured).
constexpr std::size_t kGrowthBound = 80 * 1024 * 1024;

/// The inline errors of a job as the store keeps them (`jobs.errors`): 20, the most a job carries
/// (docs/jobs.md), each with a reason of about 150 bytes.
std::string inline_errors() {
  std::string out = "[";
  for (int i = 0; i < 20; ++i) {
    out += std::string(i == 0 ? "" : ",") + R"({"itemId":"entry-)" + std::to_string(i) +
           R"(","reason":"mood 7 is outside 1-5; the record was left as it is and the document keeps )" +
           R"(its previous text until the record is fixed and synced again","at":1700000000000})";
  }
  return out + "]";
}

/// Writes `kJobs` finished sync jobs of `user_id` straight into the database, newest first by
/// index (created one second apart, ending now, well inside the retention period).
void seed_job_history(const std::string& database_url, const std::string& user_id) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  exec_sql(
      database_url,
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(kJobs) +
          ") INSERT INTO jobs (id, user_id, type, status, scope, scope_user_id, mode, total_items, "
          "synced_items, failed_items, error_count, errors, start_time, end_time, running_ms, created_at, "
          "updated_at) SELECT printf('exp-%08d', i), '" +
          user_id + "', 'journal_entries', 'completed', 'user', '" + user_id +
          "', 'full', 1000, 980, 20, 20, '" + inline_errors() + "', " + std::to_string(now) +
          " - i * 1000, " + std::to_string(now) + " - i * 1000 + 900, 900, " + std::to_string(now) +
          " - i * 1000, " + std::to_string(now) + " - i * 1000 + 900 FROM n");
}

/// Counts a marker in a body read in pieces (a marker may straddle two of them).
class MarkerCounter final {
 public:
  explicit MarkerCounter(std::string marker) : marker_(std::move(marker)) {}
  void feed(std::string_view piece) {
    carry_.append(piece);
    for (auto at = carry_.find(marker_); at != std::string::npos; at = carry_.find(marker_, at + 1)) {
      ++count_;
    }
    carry_.erase(0, carry_.size() - std::min(carry_.size(), marker_.size() - 1));
  }
  std::size_t count() const { return count_; }

 private:
  std::string marker_;
  std::string carry_;
  std::size_t count_ = 0;
};

TEST(ExportMemoryTest, AnExportOfOverTwoHundredMebibytesDoesNotRaiseThePeakMemoryByAnythingNearItsSize) {
  ServerProcess::Options options;
  options.env["ASAN_OPTIONS"] = asan_options_with_small_quarantine();
  IntegrationServer server(options);
  const auto token = server.ml_admin().token;
  seed_job_history(server.database_url(), server.user().id);
  exec_sql(server.database_url(), "PRAGMA wal_checkpoint(TRUNCATE)");

  // A request through the whole path first (routing, the store's readers, a small export), so
  // that what is measured below is what the long history adds.
  ASSERT_EQ(server.http().get("/api/ml/sync/jobs/export?format=json&from=2100-01-01T00:00:00Z", token).status,
            200);
  ASSERT_TRUE(reset_peak_resident(server.pid()));
  const std::size_t before = resident_bytes(server.pid());

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  stream.expires_after(std::chrono::minutes(5));
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/api/ml/sync/jobs/export?format=json", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::authorization, "Bearer " + token);
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  bhttp::read_header(stream, buffer, parser);
  ASSERT_EQ(parser.get().result_int(), 200u);

  // Read it all, keeping only counts: every job once, newest first, the array closed.
  std::array<char, 64 * 1024> piece{};
  std::size_t bytes = 0;
  std::string head;
  char last = 0;
  MarkerCounter jobs(R"({"id":"exp-)");
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    beast::error_code ec;
    bhttp::read(stream, buffer, parser, ec);
    if (ec == bhttp::error::need_buffer) {
      ec = {};
    }
    ASSERT_FALSE(ec) << ec.message() << " after " << bytes << " bytes";
    const std::string_view got(piece.data(), piece.size() - parser.get().body().size);
    if (got.empty()) {
      continue;
    }
    if (head.size() < 64) {
      head.append(got.substr(0, 64 - head.size()));
    }
    last = got.back();
    bytes += got.size();
    jobs.feed(got);
  }
  EXPECT_EQ(jobs.count(), kJobs);
  EXPECT_EQ(head.rfind(R"([{"id":"exp-00000001")", 0), 0u) << head;
  EXPECT_EQ(last, ']');
  ASSERT_GE(bytes, kExportAtLeast) << "the history is smaller than the test means it to be";

  const std::size_t peak = peak_resident_bytes(server.pid());
  const std::size_t growth = peak > before ? peak - before : 0;
  EXPECT_LT(growth, kGrowthBound) << "peak RSS went from " << before / 1024 << " KiB to " << peak / 1024
                                  << " KiB for an export of " << bytes / 1024 << " KiB";
  RecordProperty("export_bytes", std::to_string(bytes));
  RecordProperty("peak_rss_growth_kib", std::to_string(growth / 1024));
}

}  // namespace
}  // namespace mladmin::test

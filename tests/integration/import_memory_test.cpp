// A large import is streamed, not held (docs/openapi.yaml: import bodies up to 256 MiB, streamed): 64 MiB
// of NDJSON, generated while it is sent, leaves the server's peak resident memory far below the
// size of the file.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "support/fixture.hpp"
#include "support/probes.hpp"
#include "support/seed.hpp"

namespace mladmin::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

TEST(ImportMemoryTest, SixtyFourMebibyteImportDoesNotRaiseThePeakMemoryByAnythingNearItsSize) {
  TempDir spool;
  ServerProcess::Options options;
  options.env["ASAN_OPTIONS"] = asan_options_with_small_quarantine();
  options.env["TMPDIR"] = spool.path().string();
  // SQLite's page cache of the writer fills with the imported rows' pages up to its size (64 MiB
  // by default, docs/performance.md); at 2 MiB the growth measured is the import's own buffering.
  options.config = "[database]\ncache_mib = 2\n";
  IntegrationServer server(options);
  const auto user_id = server.user().id;
  const auto token = server.admin().token;
  const std::size_t before = peak_resident_bytes(server.pid());

  constexpr std::size_t kTarget = 64 * 1024 * 1024;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  stream.expires_after(std::chrono::minutes(5));
  const std::string head =
      "POST /api/import?type=journal_entries HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-ndjson\r\n"
      "Transfer-Encoding: chunked\r\nAuthorization: Bearer " +
      token + "\r\n\r\n";
  asio::write(stream, asio::buffer(head));
  std::size_t sent = 0;
  std::size_t lines = 0;
  std::string chunk;
  const std::string filler(360, 'w');
  while (sent < kTarget) {
    chunk.clear();
    while (chunk.size() < 1024 * 1024) {
      chunk += "{\"userId\":\"" + user_id + "\",\"id\":\"mem-" + std::to_string(lines) +
               "\",\"title\":\"Entry " + std::to_string(lines) + "\",\"body\":\"" + filler +
               std::to_string(lines * 7919) + "\",\"mood\":" + std::to_string(1 + lines % 5) + "}\n";
      ++lines;
    }
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    asio::write(stream, std::array<asio::const_buffer, 3>{asio::buffer(size, std::strlen(size)),
                                                          asio::buffer(chunk), asio::buffer("\r\n", 2)});
    sent += chunk.size();
  }
  asio::write(stream, asio::buffer("0\r\n\r\n", 5));
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);

  ASSERT_EQ(res.result_int(), 200u) << res.body();
  const auto report = json::parse(res.body());
  EXPECT_EQ(report.at("lines").as_int64(), static_cast<std::int64_t>(lines));
  EXPECT_EQ(report.at("imported").as_int64(), static_cast<std::int64_t>(lines));
  EXPECT_EQ(query_int(server.database_url(), "SELECT count(*) FROM journal_entries"),
            static_cast<std::int64_t>(lines));
  const std::size_t after = peak_resident_bytes(server.pid());
  EXPECT_LT(after - before, sent / 2) << "peak RSS went from " << before / 1024 << " KiB to " << after / 1024
                                      << " KiB for a body of " << sent / 1024 << " KiB";
  RecordProperty("peak_rss_growth_kib", std::to_string((after - before) / 1024));
}

}  // namespace
}  // namespace mladmin::test

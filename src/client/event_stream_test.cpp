#include "client/event_stream.hpp"

#include <gtest/gtest.h>

namespace mladmin::client {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectDelayTest, DoublesFromTheFirstDelayUpToTheMaximum) {
  EXPECT_EQ(reconnect_delay(1, milliseconds(1000), milliseconds(15000), 0), milliseconds(1000));
  EXPECT_EQ(reconnect_delay(2, milliseconds(1000), milliseconds(15000), 0), milliseconds(2000));
  EXPECT_EQ(reconnect_delay(4, milliseconds(1000), milliseconds(15000), 0), milliseconds(8000));
  EXPECT_EQ(reconnect_delay(5, milliseconds(1000), milliseconds(15000), 0), milliseconds(15000));
  EXPECT_EQ(reconnect_delay(60, milliseconds(1000), milliseconds(15000), 0), milliseconds(15000));
}

TEST(ReconnectDelayTest, JitterTakesUpToAQuarterOff) {
  EXPECT_EQ(reconnect_delay(1, milliseconds(1000), milliseconds(15000), 0.5), milliseconds(875));
  EXPECT_EQ(reconnect_delay(1, milliseconds(1000), milliseconds(15000), 1.0), milliseconds(750));
  EXPECT_EQ(reconnect_delay(1, milliseconds(1000), milliseconds(15000), 7.0), milliseconds(750));
}

TEST(RemoteErrorTest, TakesTheServersMessageAndCode) {
  Response r;
  r.status = 401;
  r.body = R"({"error":{"code":"invalid_token","message":"the token has expired","details":{}}})";
  const auto e = remote_error(r);
  EXPECT_EQ(e.status(), 401);
  EXPECT_EQ(e.code(), "invalid_token");
  EXPECT_STREQ(e.what(), "the token has expired");
}

TEST(RemoteErrorTest, FallsBackToTheStatusAndTheStartOfTheBody) {
  Response r;
  r.status = 502;
  r.body = "<html>\nBad gateway</html>";
  EXPECT_STREQ(remote_error(r).what(), "the server answered 502: <html> Bad gateway</html>");
  r.body.clear();
  EXPECT_STREQ(remote_error(r).what(), "the server answered 502");
}

TEST(ServerUrlTest, ReadsHostPortAndBasePath) {
  auto u = parse_server_url("http://127.0.0.1:8080");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.origin, "http://127.0.0.1:8080");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.base_path, "");
  u = parse_server_url("http://admin.example.com/mladmin/");
  EXPECT_EQ(u.host, "admin.example.com");
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.base_path, "/mladmin");
  u = parse_server_url("http://[::1]:9000");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.origin, "http://[::1]:9000");
}

TEST(ServerUrlTest, TakesHttpsWithItsDefaultPort) {
  auto u = parse_server_url("https://mladmin.example.com/ops/");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.origin, "https://mladmin.example.com");
  EXPECT_EQ(u.base_path, "/ops");
  u = parse_server_url("https://127.0.0.1:8443");
  EXPECT_EQ(u.origin, "https://127.0.0.1:8443");
}

TEST(ServerUrlTest, RefusesWhatItCannotUseWithAReason) {
  EXPECT_THROW(parse_server_url("ftp://example.com"), ClientError);
  EXPECT_THROW(parse_server_url("127.0.0.1:8080"), ClientError);
  EXPECT_THROW(parse_server_url("http://u:p@example.com"), ClientError);
  EXPECT_THROW(parse_server_url("http://example.com/?x=1"), ClientError);
  EXPECT_THROW(parse_server_url("not a url"), ClientError);
}

}  // namespace
}  // namespace mladmin::client

// A flood of 1,000 concurrent sign-ins with wrong passwords (docs/security.md, issue 2 "Bad input"): they
// are rate limited, hashing stays on its bounded pool, and while the flood runs /healthz and
// another user's requests keep answering. Everything stays on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr int kAttempts = 1000;
constexpr int kTargets = 10;
constexpr const char* kPassword = "Lichen-Harvest-29-Sonnet";
// Every network operation of the test has this deadline, so that a server that stops answering
// fails the test instead of hanging it.
constexpr auto kDeadline = std::chrono::seconds(45);

std::string target_email(int i) {
  return "target" + std::to_string(i) + "@flood.test";
}

/// What the flood saw. Touched only by the flood's own thread, except the flags.
struct Flood {
  int sent = 0;
  int answered = 0;
  std::map<int, int> by_status;
  int missing_retry_after = 0;
  std::vector<std::string> errors;
  std::atomic<bool> all_sent{false};
  std::atomic<bool> done{false};
};

void finish_one(Flood& flood) {
  if (++flood.answered == kAttempts) {
    flood.done = true;
  }
}

asio::awaitable<void> one_login(tcp::endpoint server, int i, Flood& flood) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(kDeadline);
  auto [connect_ec] = co_await stream.async_connect(server, kNoThrow);
  if (connect_ec) {
    flood.errors.push_back("connect: " + connect_ec.message());
    finish_one(flood);
    co_return;
  }
  // A mix of real accounts and unknown emails, every password wrong.
  const std::string email =
      i % 4 == 0 ? target_email(i % kTargets) : "ghost" + std::to_string(i) + "@flood.test";
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/api/auth/login", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::content_type, "application/json");
  req.body() =
      json::serialize(json::object{{"email", email}, {"password", "Wrong-Guess-" + std::to_string(i)}});
  req.prepare_payload();
  auto [write_ec, written] = co_await bhttp::async_write(stream, req, kNoThrow);
  if (write_ec) {
    flood.errors.push_back("write: " + write_ec.message());
    finish_one(flood);
    co_return;
  }
  if (++flood.sent == kAttempts) {
    flood.all_sent = true;
  }
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, res, kNoThrow);
  if (read_ec) {
    flood.errors.push_back("read: " + read_ec.message());
  } else {
    const int status = static_cast<int>(res.result_int());
    ++flood.by_status[status];
    if (status == 429) {
      const auto retry = res[bhttp::field::retry_after];
      if (retry.empty() || std::stoi(std::string(retry)) <= 0) {
        ++flood.missing_retry_after;
      }
    }
  }
  finish_one(flood);
}

/// What the poller saw while the flood ran.
struct Poll {
  int healthz_ok_during_flood = 0;
  int me_ok_during_flood = 0;
  int answers = 0;
  std::vector<std::string> failures;
};

/// GETs `target` on `stream` (reconnecting when needed); the status, or -1 with `error` set.
asio::awaitable<int> fetch(beast::tcp_stream& stream, bool& connected, tcp::endpoint server,
                           const char* target, const std::string& token, std::string& error) {
  stream.expires_after(kDeadline);
  if (!connected) {
    auto [ec] = co_await stream.async_connect(server, kNoThrow);
    if (ec) {
      error = std::string("connect: ") + ec.message();
      co_return -1;
    }
    connected = true;
  }
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!token.empty()) {
    req.set(bhttp::field::authorization, "Bearer " + token);
  }
  auto [write_ec, written] = co_await bhttp::async_write(stream, req, kNoThrow);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  boost::system::error_code read_ec;
  if (!write_ec) {
    auto [ec, read] = co_await bhttp::async_read(stream, buffer, res, kNoThrow);
    read_ec = ec;
  }
  if (write_ec || read_ec) {
    error = std::string(target) + ": " + (write_ec ? write_ec : read_ec).message();
    co_return -1;
  }
  if (!res.keep_alive()) {
    stream.close();
    connected = false;
  }
  co_return static_cast<int>(res.result_int());
}

asio::awaitable<void> poll_until_flood_ends(tcp::endpoint server, std::string token, const Flood& flood,
                                            Poll& poll) {
  beast::tcp_stream health(co_await asio::this_coro::executor);
  beast::tcp_stream me(co_await asio::this_coro::executor);
  bool health_connected = false;
  bool me_connected = false;
  while (!flood.done) {
    std::string error;
    const bool sent_during_flood = flood.all_sent && !flood.done;
    const int h = co_await fetch(health, health_connected, server, "/healthz", "", error);
    const bool answered_during_flood = sent_during_flood && !flood.done;
    if (h != 200) {
      poll.failures.push_back("/healthz answered " + std::to_string(h) + " " + error);
    } else if (answered_during_flood) {
      ++poll.healthz_ok_during_flood;
    }
    const bool me_sent_during_flood = flood.all_sent && !flood.done;
    const int m = co_await fetch(me, me_connected, server, "/api/auth/me", token, error);
    if (m != 200) {
      poll.failures.push_back("/api/auth/me answered " + std::to_string(m) + " " + error);
    } else if (me_sent_during_flood && !flood.done) {
      ++poll.me_ok_during_flood;
    }
    poll.answers += 2;
    if (!poll.failures.empty()) {
      co_return;
    }
  }
}

TEST(LoginFloodTest, ThousandConcurrentWrongLoginsAreRateLimitedWhileOtherRequestsKeepAnswering) {
  IntegrationServer server;
  for (int i = 0; i < kTargets; ++i) {
    server.process().add_user(target_email(i), kPassword, "user", "Flood Target");
  }
  auto& client = server.http();
  const std::string admin_token = server.admin().token;
  const std::string bystander_token = server.user().token;
  ASSERT_FALSE(admin_token.empty());
  ASSERT_FALSE(bystander_token.empty());
  const auto bystander_before = client.get("/api/auth/me", bystander_token);
  ASSERT_EQ(bystander_before.status, 200);
  const auto users_before = client.get("/api/ml/admin/users?limit=500&sort=email", admin_token);
  ASSERT_EQ(users_before.status, 200);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port());

  Flood flood;
  Poll poll;
  std::thread poller([&] {
    asio::io_context ioc;
    asio::co_spawn(ioc, poll_until_flood_ends(endpoint, bystander_token, flood, poll), asio::detached);
    ioc.run();
  });
  {
    asio::io_context ioc;
    for (int i = 0; i < kAttempts; ++i) {
      asio::co_spawn(ioc, one_login(endpoint, i, flood), asio::detached);
    }
    ioc.run();  // every operation has a deadline, so this ends
  }
  flood.done = true;  // also when some attempts failed to connect
  poller.join();

  EXPECT_TRUE(flood.errors.empty()) << flood.errors.size()
                                    << " connection errors, first: " << flood.errors.front();
  int total = 0;
  for (const auto& [status, count] : flood.by_status) {
    total += count;
    EXPECT_TRUE(status == 401 || status == 429) << count << " answers of " << status;
  }
  EXPECT_EQ(total, kAttempts);
  // docs/security.md: at most 50 failures per client address are even judged; the rest are refused.
  EXPECT_LE(flood.by_status[401], 50);
  EXPECT_GE(flood.by_status[429], kAttempts - 50);
  EXPECT_EQ(flood.missing_retry_after, 0);

  EXPECT_TRUE(poll.failures.empty()) << poll.failures.front();
  EXPECT_GE(poll.healthz_ok_during_flood, 1)
      << "/healthz never answered while the flood ran (" << poll.answers << " answers in all)";
  EXPECT_GE(poll.me_ok_during_flood, 1) << "another user's request never answered while the flood ran";

  // Afterwards the server still answers, and nobody's data changed.
  EXPECT_EQ(client.get("/healthz").status, 200);
  auto bystander_after = client.get("/api/auth/me", bystander_token);
  EXPECT_EQ(bystander_after.status, 200);
  EXPECT_EQ(bystander_after.body, bystander_before.body);
  auto users_after = client.get("/api/ml/admin/users?limit=500&sort=email", admin_token);
  EXPECT_EQ(users_after.status, 200);
  EXPECT_EQ(users_after.body, users_before.body);
}

}  // namespace
}  // namespace mladmin::test

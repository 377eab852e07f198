// No unauthenticated way to exhaust the server (issue 12 "Hardening"; docs/security.md, "Limits
// against exhaustion"). Each test starts the real binary and talks to it over loopback sockets:
// raw ones where the point is a malformed, partial or slow request.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "domain/testing/eventually.hpp"
#include "support/fixture.hpp"
#include "support/probes.hpp"
#include "support/text.hpp"

namespace mladmin::test {
namespace {

using Clock = std::chrono::steady_clock;
using domain::eventually;
using std::chrono::milliseconds;
using std::chrono::seconds;

/// A plain TCP connection to 127.0.0.1:port (from `source`, another loopback address, when
/// given), for requests no HTTP client would send.
class RawConnection final {
 public:
  explicit RawConnection(unsigned short port, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      ADD_FAILURE() << "socket: " << std::strerror(errno);
      return;
    }
    if (source != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        ADD_FAILURE() << "bind " << source << ": " << std::strerror(errno);
      }
    }
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
      ADD_FAILURE() << "connect: " << std::strerror(errno);
    }
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  /// Sends all of `bytes`; false when the server closed or reset the connection first.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  struct Received {
    std::string bytes;
    bool closed = false;  ///< the server closed (or reset) the connection before the deadline
  };

  /// Reads until the server closes the connection, `until` is found in what arrived, or
  /// `deadline` passes.
  Received receive(Clock::duration deadline, std::string_view until = {}) {
    Received r;
    const auto end = Clock::now() + deadline;
    char buf[16384];
    while (Clock::now() < end) {
      if (!until.empty() && r.bytes.find(until) != std::string::npos) {
        return r;
      }
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::max<long long>(left, 1))) <= 0) {
        continue;
      }
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        r.closed = true;
        return r;
      }
      r.bytes.append(buf, static_cast<std::size_t>(n));
    }
    return r;
  }

 private:
  int fd_ = -1;
};

/// Whether the process is alive (a zombie, which kill(pid, 0) still finds, is not).
bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

std::size_t open_descriptors(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++n;
  }
  return n;
}

/// Waits (bounded) until the server's log contains `text`.
bool log_shows(IntegrationServer& server, std::string_view text) {
  return eventually([&] { return server.log().find(text) != std::string::npos; }, seconds(10));
}

// 1. Made-up method tokens all count under method="other": the label set stays bounded.
TEST(HardeningHttpTest, UnknownMethodsShareOneMetricsLabel) {
  IntegrationServer server;
  auto& client = server.http();
  for (int i = 0; i < 20; ++i) {
    const auto res = client.request("XMETHOD" + std::to_string(i), "/healthz");
    EXPECT_EQ(res.status, 405) << res.body;
  }
  const auto metrics = client.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("XMETHOD"), std::string::npos) << "a series per method token";
  EXPECT_NE(
      metrics.body.find(R"(mladmin_http_requests_total{method="other",route="unmatched",status="405"} 20)"),
      std::string::npos)
      << metrics.body;
}

// 2. A chunk-size line with endless extensions, or endless trailers, are refused with 400 once the
// bounded read buffer is full, instead of being buffered for as long as they keep coming.
TEST(HardeningHttpTest, EndlessChunkExtensionsOrTrailersAnswer400) {
  IntegrationServer server({.config = "[server]\nread_timeout_ms = 120000\nidle_timeout_ms = 120000\n"});
  const std::string head =
      "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (const std::string& start : std::vector<std::string>{"5;ext=", "2\r\n{}\r\n0\r\nX-Trailer: "}) {
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send(head + start));
    const std::string filler(64 * 1024, 'a');
    for (int i = 0; i < 16 && conn.send(filler); ++i) {  // 1 MiB at most, never a line end
    }
    const auto got = conn.receive(seconds(30), "\r\n\r\n");
    EXPECT_EQ(got.bytes.rfind("HTTP/1.1 400", 0), 0U) << "after " << start << ": " << got.bytes;
    EXPECT_NE(got.bytes.find("too long"), std::string::npos) << got.bytes;
  }
  EXPECT_EQ(HttpClient(server.port()).get("/healthz").status, 200);
}

// 3a. Header bytes trickling in hold a connection for head_timeout (10 s by default), not for the
// 60 s (here 120 s) a kept-alive connection may wait idle.
TEST(HardeningHttpTest, AnIncompleteHeadIsDroppedAfterTheHeadTimeout) {
  IntegrationServer server({.config = "[server]\nidle_timeout_ms = 120000\nread_timeout_ms = 120000\n"});
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const auto got = conn.receive(seconds(40));
  EXPECT_TRUE(got.closed) << "the connection is still open after 40 s";
  EXPECT_EQ(got.bytes, "");
  // A kept-alive connection between requests still waits longer than the head timeout allows:
  // it is open, and answers, after the first request.
  EXPECT_EQ(HttpClient(server.port()).get("/healthz").status, 200);
}

// 3b. Connections over max_connections_per_client, or over max_connections, get a 503 at once;
// a slot that frees up is usable again.
TEST(HardeningHttpTest, ConnectionsOverTheCapsGet503) {
  IntegrationServer server({.config = "[server]\nmax_connections = 3\nmax_connections_per_client = 2\n"});
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  // Each connection answers a request first, so that it is surely accepted and counted.
  auto open_and_use = [&](const char* source) {
    auto conn = std::make_unique<RawConnection>(server.port(), source);
    EXPECT_TRUE(conn->send(get));
    const auto got = conn->receive(seconds(10), "\r\n\r\n");
    return std::make_pair(std::move(conn), got.bytes);
  };
  auto [a1, a1_answer] = open_and_use("127.0.0.1");
  auto [a2, a2_answer] = open_and_use("127.0.0.1");
  EXPECT_EQ(a1_answer.rfind("HTTP/1.1 200", 0), 0U) << a1_answer;
  EXPECT_EQ(a2_answer.rfind("HTTP/1.1 200", 0), 0U) << a2_answer;
  {
    RawConnection a3(server.port(), "127.0.0.1");  // a third from the same address
    const auto got = a3.receive(seconds(10));
    EXPECT_TRUE(got.closed);
    EXPECT_EQ(got.bytes.rfind("HTTP/1.1 503", 0), 0U) << got.bytes;
    EXPECT_NE(got.bytes.find("too_many_connections"), std::string::npos) << got.bytes;
  }
  auto [b1, b1_answer] = open_and_use("127.0.0.2");  // another client: the third connection
  EXPECT_EQ(b1_answer.rfind("HTTP/1.1 200", 0), 0U) << b1_answer;
  {
    RawConnection b2(server.port(), "127.0.0.3");  // a fourth, from a third client
    const auto got = b2.receive(seconds(10));
    EXPECT_TRUE(got.closed);
    EXPECT_EQ(got.bytes.rfind("HTTP/1.1 503", 0), 0U) << got.bytes;
  }
  // Once a connection of the first client closes, it may open another.
  a1->close();
  EXPECT_TRUE(eventually(
      [&] {
        RawConnection again(server.port(), "127.0.0.1");
        return again.send(get) && again.receive(seconds(5), "\r\n\r\n").bytes.rfind("HTTP/1.1 200", 0) == 0;
      },
      seconds(10)));
}

// 3c. Out of file descriptors, the accept loop backs off instead of spinning, and serves again
// once connections close. Every failed accept counts in mladmin_http_accept_errors_total; each
// is followed by a wait of at least 10 ms (docs/security.md), so that over any interval there can
// be at most one failure per 10 ms of it, plus the one that starts it, however slow the machine:
// a loop that retries at once fails thousands of times in the same interval.
TEST(HardeningHttpTest, OutOfDescriptorsTheAcceptLoopBacksOffAndRecovers) {
  IntegrationServer server;
  // The metrics are read over a connection accepted before the descriptors run out (new ones are
  // not accepted meanwhile); its first requests, and one on a connection closed since, make the
  // server open whatever serving opens, and let the sanitizers of the dev build see each type of
  // the request path (the slow path of their check needs a descriptor).
  HttpClient metrics(server.port());
  const auto accept_errors = [&] {
    const auto res = metrics.get("/metrics");
    EXPECT_EQ(res.status, 200) << res.body;
    return metric_sample(res.body, "mladmin_http_accept_errors_total").value_or(-1);
  };
  ASSERT_EQ(accept_errors(), 0);
  HttpClient(server.port()).get("/healthz");
  ASSERT_EQ(accept_errors(), 0);
  // Leave the server a few descriptors, then queue more connections than it can accept.
  rlimit before{};
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, nullptr, &before), 0) << std::strerror(errno);
  rlimit lowered{open_descriptors(server.pid()) + 4, before.rlim_max};
  const auto exhausted = Clock::now();
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &lowered, nullptr), 0) << std::strerror(errno);
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 12; ++i) {
    conns.push_back(std::make_unique<RawConnection>(server.port()));
    conns.back()->send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  // The loop failed, and failed again after its wait: it keeps trying.
  double failures = 0;
  ASSERT_TRUE(eventually(
      [&] {
        failures = accept_errors();
        return failures >= 2;
      },
      seconds(30)))
      << "failed accepts: " << failures << "\n"
      << server.log().substr(0, 4000);
  const double elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - exhausted).count();
  EXPECT_LE(failures, elapsed_ms / 10 + 2)
      << failures << " failed accepts in " << elapsed_ms << " ms: the loop does not wait between them";
  ASSERT_TRUE(alive(server.pid())) << "the server died: " << server.log().substr(0, 4000);
  EXPECT_EQ(count_of(server.log(), "accept failed"), 1U);
  // Closing the connections frees descriptors: the queued ones get accepted, and so do new ones.
  conns.clear();
  ASSERT_EQ(::prlimit(server.pid(), RLIMIT_NOFILE, &before, nullptr), 0);
  EXPECT_EQ(HttpClient(server.port()).get("/healthz").status, 200);
  EXPECT_TRUE(log_shows(server, "accepting connections again"));
}

// 4. A route that needs a token refuses a request without a valid one, or with one of too low a
// role, before reading its body: the 401 (403) comes back while the announced megabyte has not
// been sent.
TEST(HardeningHttpTest, AMissingOrBadTokenIsRefusedBeforeTheBodyIsRead) {
  IntegrationServer server({.config = "[server]\nread_timeout_ms = 120000\n"});
  for (const std::string& auth : std::vector<std::string>{"", "Authorization: Bearer not-a-token\r\n"}) {
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.send("POST /api/ml/admin/users HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                          "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"email\":"));
    const auto got = conn.receive(seconds(30), "\r\n\r\n");
    EXPECT_EQ(got.bytes.rfind("HTTP/1.1 401", 0), 0U) << "with '" << auth << "': " << got.bytes;
  }
  // A valid token of a role below the route's is refused (403) before the body as well.
  const auto user = server.add_account("plain@hardening.test", "user");
  RawConnection conn(server.port());
  ASSERT_TRUE(conn.send("POST /api/ml/admin/users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                        user.token +
                        "\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"email\":"));
  const auto got = conn.receive(seconds(30), "\r\n\r\n");
  EXPECT_EQ(got.bytes.rfind("HTTP/1.1 403", 0), 0U) << got.bytes;
}

// 5. An email longer than any account's is refused like a wrong password, before it reaches the
// rate limiter (which would keep it as a key, and count it against the address).
TEST(HardeningHttpTest, AnOverlongLoginEmailIsRefusedBeforeTheRateLimiter) {
  IntegrationServer server({.config = "[auth]\nlogin_failures_per_address = 3\n"});
  auto& client = server.http();
  for (int i = 0; i < 6; ++i) {
    const std::string email = std::string(300, static_cast<char>('a' + i)) + "@long.test";
    const auto res = client.post(
        "/api/auth/login", boost::json::serialize(boost::json::object{{"email", email}, {"password", "x"}}));
    EXPECT_EQ(res.status, 401) << "attempt " << i << ": " << res.body;
    EXPECT_EQ(res.error_code(), "invalid_credentials") << res.body;
  }
}

// 6. A Transfer-Encoding that does not end in chunked is refused; what follows is never served as
// a request of its own (request smuggling).
TEST(HardeningHttpTest, ATransferEncodingNotEndingInChunkedIsRefused) {
  IntegrationServer server;
  for (const std::string& coding : std::vector<std::string>{"gzip", "chunked, gzip"}) {
    const std::string smuggled = "GET /api/smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    const std::string out = HttpClient(server.port())
                                .raw(
                                    "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    "Content-Type: application/json\r\nTransfer-Encoding: " +
                                    coding + "\r\n\r\n" + smuggled);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0U) << coding << ": " << out;
    EXPECT_NE(out.find("Transfer-Encoding"), std::string::npos) << out;
    EXPECT_EQ(count_of(out, "HTTP/1.1 "), 1U) << "the body was served as a request: " << out;
  }
}

// 7. A percent-encoded line break in a path cannot start a forged log line.
TEST(HardeningHttpTest, ControlCharactersInLoggedPathsAreEscaped) {
  IntegrationServer server;
  auto& client = server.http();
  EXPECT_EQ(client.get("/api/x%0Dforged-line%0Ats=2026-01-01T00:00:00.000Z%20level=error").status, 404);
  ASSERT_TRUE(log_shows(server, "forged-line"));
  std::istringstream lines(server.log());
  bool escaped = false;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_NE(line.rfind("ts=2026-01-01", 0), 0U) << "a forged line: " << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    escaped =
        escaped || line.find(R"(path="/api/x\x0dforged-line\x0ats=2026-01-01T00:00:00.000Z level=error")") !=
                       std::string::npos;
  }
  EXPECT_TRUE(escaped) << server.log();
}

// 8a. Upload spools left by a process that died are removed at start; one that a live process
// holds is left alone.
TEST(HardeningHttpTest, StaleUploadSpoolsAreSweptAtStart) {
  TempDir tmp;
  const auto stale = tmp.file("mladmin-upload-Xy12Ab");
  const auto held = tmp.file("mladmin-upload-Live01");
  std::ofstream(stale) << "half an upload";
  std::ofstream(held) << "an upload in progress";
  const int held_fd = ::open(held.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(held_fd, 0);
  ASSERT_EQ(::flock(held_fd, LOCK_EX | LOCK_NB), 0);
  IntegrationServer server({.env = {{"TMPDIR", tmp.path().string()}}});
  EXPECT_FALSE(std::filesystem::exists(stale)) << server.log();
  EXPECT_TRUE(std::filesystem::exists(held));
  ::close(held_fd);
}

// 8b. The one import slot is taken before an upload is read: a second import is refused with
// 409 while the first is still uploading, and the slot frees up when that upload is abandoned.
TEST(HardeningHttpTest, TheImportSlotIsTakenBeforeTheUpload) {
  TempDir tmp;
  IntegrationServer server({.env = {{"TMPDIR", tmp.path().string()}}});
  const auto admin = server.admin();
  const HttpClient::Headers headers{{"Authorization", "Bearer " + admin.token},
                                    {"Content-Type", "application/x-ndjson"}};
  RawConnection first(server.port());
  ASSERT_TRUE(first.send("POST /api/import?type=goals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                         admin.token +
                         "\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n"
                         "Expect: 100-continue\r\n\r\n"));
  // The server says 100 Continue once the checks that come before the upload have passed.
  const auto go_on = first.receive(seconds(10), "\r\n\r\n");
  ASSERT_EQ(go_on.bytes.rfind("HTTP/1.1 100", 0), 0U) << go_on.bytes;
  ASSERT_TRUE(first.send("{\"id\":"));
  // Its spool exists now, readable and writable by the server's user alone.
  std::vector<std::filesystem::path> spools;
  ASSERT_TRUE(eventually(
      [&] {
        spools.clear();
        for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
          if (entry.path().filename().string().rfind("mladmin-upload-", 0) == 0) {
            spools.push_back(entry.path());
          }
        }
        return !spools.empty();
      },
      seconds(10)));
  ASSERT_EQ(spools.size(), 1U);
  EXPECT_EQ(std::filesystem::status(spools[0]).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
      << spools[0];

  auto& client = server.http();
  const auto second = client.request("POST", "/api/import?type=goals", "", headers);
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.error_code(), "import_running") << second.body;

  first.close();  // the first upload is abandoned halfway
  int status = 0;
  eventually(
      [&] {
        status = HttpClient(server.port()).request("POST", "/api/import?type=goals", "", headers).status;
        return status == 200;
      },
      seconds(10));
  EXPECT_EQ(status, 200);
}

// 8c. An upload refused for its size gives the slot back with its 413: the next import goes
// through at once, even while the refused client keeps its connection open (the server lingers
// on it to drain what is still arriving).
TEST(HardeningHttpTest, AnUploadRefusedForItsSizeGivesTheImportSlotBackWithTheRefusal) {
  IntegrationServer server({.config = "[server]\nimport_max_bytes = 1024\n"});
  const auto admin = server.admin();
  RawConnection refused(server.port());
  ASSERT_TRUE(refused.send(
      "POST /api/import?type=goals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + admin.token +
      "\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1000\r\n" +
      std::string(4096, 'x') + "\r\n"));
  const auto answer = refused.receive(seconds(10), "\r\n\r\n");
  ASSERT_EQ(answer.bytes.rfind("HTTP/1.1 413", 0), 0U) << answer.bytes;

  const auto next = server.http().request(
      "POST", "/api/import?type=goals", "",
      {{"Authorization", "Bearer " + admin.token}, {"Content-Type", "application/x-ndjson"}});
  EXPECT_EQ(next.status, 200) << next.body;  // not 409 import_running
}

}  // namespace
}  // namespace mladmin::test

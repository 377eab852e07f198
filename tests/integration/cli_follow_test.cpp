// `mladmin sync` and `mladmin jobs` against a real server (README.md "Running it"; issue 3: a live progress
// view fed by the event stream, plain lines when the output is not a terminal): a followed sync prints its
// progress and a final line with the right counts and exits 0; a start without --follow prints the job id; a
// second start is explained with the active job's id (and --follow follows that job); a bad or missing token
// is refused in words; `jobs` lists jobs and `jobs --follow` shows a job started while it runs, ending
// cleanly on Ctrl-C; a followed job that is cancelled ends the command with exit code 2; on a terminal the
// bar is redrawn in place; a dropped stream is resumed with Last-Event-ID.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/job_json.hpp"
#include "support/child_process.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"
#include "support/text.hpp"
#include "support/tls_proxy.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "MLADMIN_TOKEN";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The value of `key=` in a plain line, or -1.
std::int64_t field(const std::string& line, const std::string& key) {
  const auto pos = line.find(" " + key + "=");
  return pos == std::string::npos ? -1 : std::stoll(line.substr(pos + key.size() + 2));
}

/// "P/T" of a plain line: processed and total.
std::pair<std::int64_t, std::int64_t> items(const std::string& line) {
  const auto pct = line.find("% ");
  if (pct == std::string::npos) {
    return {-1, -1};
  }
  const auto slash = line.find('/', pct);
  return {std::stoll(line.substr(pct + 2, slash - pct - 2)), std::stoll(line.substr(slash + 1))};
}

/// The id in "TIMESTAMP job ID …" lines.
std::string job_id_of(const std::string& line) {
  const auto start = line.find(" job ");
  if (start == std::string::npos) {
    return "";
  }
  const auto end = line.find(' ', start + 5);
  return line.substr(start + 5, end - start - 5);
}

class CliFollowTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    server().ml_admin();  // the account the command line signs in as exists before it runs
  }

  std::string url() { return "http://127.0.0.1:" + std::to_string(server().port()); }

  /// `args` plus --url of the test server.
  std::vector<std::string> cli(std::vector<std::string> args) {
    args.push_back("--url");
    args.push_back(url());
    return args;
  }

  std::map<std::string, std::string> env() { return {{kToken, server().ml_admin().token}}; }

  /// Writes `valid` valid journal entries and `invalid` ones a sync refuses (whitespace body).
  void seed_entries(std::size_t valid, std::size_t invalid) {
    seed_journal_entries(server().database_url(), server().ml_admin().id, valid, "v-");
    seed(server().database_url(), [&](store::Writer& w) {
      for (std::size_t i = 0; i < invalid; ++i) {
        auto e = valid_journal_entry("bad-" + std::to_string(i), server().ml_admin().id);
        e.body = "   ";
        w.save_journal_entry(e);
      }
    });
  }

  std::string start_api_sync(const std::string& body) {
    const auto job = server().start_job(kJournalSync, body, server().ml_admin().token);
    return job.is_object() ? str(job, "id") : "";
  }

  /// Waits until the job is running with some items done (false when it finished first).
  bool wait_running(const std::string& id) {
    const auto job = server().wait_for_job(id, [](const json::value& j) {
      return finished(j) || (str(j, "status") == "running" && num(j, "processedItems") > 0);
    });
    return job.is_object() && str(job, "status") == "running";
  }
};

TEST_F(CliFollowTest, SyncFollowPrintsProgressLinesAndACompletedLineWithTheCounts) {
  seed_entries(8000, 3);
  // Progress lines every 50 ms rather than every second, so that a quick job shows some too.
  const auto r = run_mladmin(
      cli({"sync", "journal_entries", "--mode", "full", "--follow", "--interval", "0.05"}), "", env(), 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto lines = text_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r.err;
  const auto id = job_id_of(lines.front());
  ASSERT_FALSE(id.empty()) << lines.front();

  std::size_t running = 0;
  std::size_t midway = 0;
  std::int64_t last_processed = -1;
  std::string final_line;
  std::size_t error_lines = 0;
  for (const auto& line : lines) {
    ASSERT_EQ(job_id_of(line), id) << "one job only: " << line;
    if (contains(line, " error item=")) {
      ++error_lines;
      continue;
    }
    const auto [processed, total] = items(line);
    if (processed < 0) {
      continue;
    }
    if (!contains(line, " queued ")) {  // a queued job has not counted its items yet
      EXPECT_EQ(total, 8003) << line;
    }
    EXPECT_GE(processed, last_processed) << "progress never goes back: " << line;
    last_processed = processed;
    if (contains(line, " journal_entries running ")) {
      ++running;
      if (processed > 0 && processed < total) {
        ++midway;
      }
    }
    if (contains(line, " journal_entries completed ")) {
      final_line = line;
    }
  }
  EXPECT_GE(running, 1u) << r.out;
  EXPECT_GE(midway, 1u) << "no progress line between the start and the end:\n" << r.out;
  ASSERT_FALSE(final_line.empty()) << r.out;
  EXPECT_TRUE(contains(final_line, " completed 100% 8003/8003 ")) << final_line;
  EXPECT_EQ(field(final_line, "synced"), 8000) << final_line;
  EXPECT_EQ(field(final_line, "skipped"), 0) << final_line;
  EXPECT_EQ(field(final_line, "failed"), 3) << final_line;
  EXPECT_TRUE(contains(final_line, " duration=")) << final_line;
  EXPECT_EQ(error_lines, 3u) << "the first item errors follow the final line:\n" << r.out;
  EXPECT_EQ(final_line, lines[lines.size() - 4]) << r.out;

  auto job = HttpClient(server().port()).get("/api/ml/sync/job/" + id, server().ml_admin().token).json();
  EXPECT_EQ(job.at("status").as_string(), "completed");
  EXPECT_EQ(job.at("syncedItems").to_number<std::int64_t>(), 8000);
}

TEST_F(CliFollowTest, SyncWithoutFollowPrintsTheJobIdOfAJobThatExists) {
  seed_entries(50, 0);
  const auto r = run_mladmin(cli({"sync", "journal-entries", "--mode", "incremental"}), "", env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), 37u) << "the id and a newline: " << r.out;
  const auto id = r.out.substr(0, 36);
  auto& http = server().http();
  auto res = http.get("/api/ml/sync/job/" + id, server().ml_admin().token);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("type").as_string(), "journal_entries");
  EXPECT_EQ(res.json().at("mode").as_string(), "incremental");
  EXPECT_EQ(str(server().wait_finished(id), "status"), "completed");

  const auto goals = run_mladmin(cli({"sync", "goals", "--all"}), "", env());
  ASSERT_EQ(goals.exit_code, 0) << goals.err;
  auto goal_job = http.get("/api/ml/sync/job/" + goals.out.substr(0, 36), server().ml_admin().token).json();
  EXPECT_EQ(goal_job.at("type").as_string(), "goals");
  EXPECT_EQ(goal_job.at("scope").as_string(), "all");
}

TEST_F(CliFollowTest, ASecondStartIsExplainedWithTheActiveJobAndFollowFollowsThatJob) {
  seed_entries(40000, 0);
  const auto active = start_api_sync(R"({"mode":"full"})");
  ASSERT_TRUE(wait_running(active)) << "the job finished before it could be paused";
  ASSERT_EQ(HttpClient(server().port())
                .post("/api/ml/sync/job/" + active + "/pause", "", server().ml_admin().token)
                .status,
            200);

  const auto again = run_mladmin(cli({"sync", "journal_entries"}), "", env());
  EXPECT_EQ(again.exit_code, 3) << again.out << again.err;
  EXPECT_TRUE(contains(again.err, "already active")) << again.err;
  EXPECT_TRUE(contains(again.err, active)) << again.err;
  EXPECT_EQ(again.out, "");

  MladminChild follow(cli({"sync", "journal_entries", "--follow"}), env());
  ASSERT_TRUE(follow.wait_for_output(" job " + active + " journal_entries paused "))
      << follow.out() << follow.err();
  EXPECT_TRUE(contains(follow.err(), "already active; following job " + active)) << follow.err();
  HttpClient http(server().port());
  ASSERT_EQ(http.post("/api/ml/sync/job/" + active + "/resume", "", server().ml_admin().token).status, 200);
  ASSERT_TRUE(follow.wait_for_output(" job " + active + " journal_entries running ")) << follow.out();
  ASSERT_EQ(http.post("/api/ml/sync/job/" + active + "/cancel", "", server().ml_admin().token).status, 200);
  EXPECT_EQ(follow.wait(60s), 2) << "a cancelled job is not a success: " << follow.out() << follow.err();
  EXPECT_TRUE(contains(follow.out(), " job " + active + " journal_entries cancelled ")) << follow.out();
}

TEST_F(CliFollowTest, AFollowedJobThatIsCancelledExitsNonZero) {
  seed_entries(40000, 0);
  MladminChild follow(cli({"sync", "journal_entries", "--mode", "full", "--follow"}), env());
  ASSERT_TRUE(follow.wait_for_output(" journal_entries running ")) << follow.out() << follow.err();
  const auto id = job_id_of(follow.out());
  ASSERT_EQ(HttpClient(server().port())
                .post("/api/ml/sync/job/" + id + "/cancel", "", server().ml_admin().token)
                .status,
            200);
  EXPECT_EQ(follow.wait(60s), 2) << follow.out() << follow.err();
  EXPECT_TRUE(contains(follow.out(), " job " + id + " journal_entries cancelled ")) << follow.out();
}

TEST_F(CliFollowTest, ABadOrMissingTokenIsRefusedInWords) {
  const std::string bad = "not-a-token-at-all";
  for (const auto& args :
       {std::vector<std::string>{"sync", "goals"}, std::vector<std::string>{"sync", "goals", "--follow"},
        std::vector<std::string>{"jobs"}, std::vector<std::string>{"jobs", "--follow"}}) {
    const auto r = run_mladmin(cli(args), "", {{kToken, bad}});
    EXPECT_EQ(r.exit_code, 1) << args.back() << ": " << r.out << r.err;
    EXPECT_TRUE(contains(r.err, "refused the token")) << r.err;
    EXPECT_TRUE(contains(r.err, "(HTTP 401)")) << r.err;
    EXPECT_FALSE(contains(r.err + r.out, bad)) << "the token is never printed";
  }
  const auto none = run_mladmin(cli({"sync", "goals"}));
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(contains(none.err, "no token")) << none.err;
  EXPECT_TRUE(contains(none.err, "MLADMIN_TOKEN")) << none.err;

  const auto refused = run_mladmin({"jobs", "--url", "http://127.0.0.1:1"}, "", env());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "cannot reach http://127.0.0.1:1")) << refused.err;
}

TEST_F(CliFollowTest, SignsInWithAPasswordFromStdin) {
  const auto r = run_mladmin(cli({"sync", "goals", "--email", kFixtureMlAdminEmail, "--password-stdin"}),
                             std::string(kTestPassword) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 37u) << r.out;
  const auto wrong =
      run_mladmin(cli({"jobs", "--email", kFixtureMlAdminEmail, "--password-stdin"}), "wrong\n");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_TRUE(contains(wrong.err, "(HTTP 401)")) << wrong.err;
}

TEST_F(CliFollowTest, JobsListsTheJobsWithTheirCountsAndFilters) {
  seed_entries(120, 2);
  const auto id = start_api_sync(R"({"mode":"full"})");
  server().wait_finished(id);

  const auto r = run_mladmin(cli({"jobs"}), "", env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = text_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].rfind("ID ", 0), 0u) << lines[0];
  EXPECT_TRUE(contains(lines[0], "STATUS")) << lines[0];
  EXPECT_EQ(lines[1].rfind(id + "  journal_entries  completed", 0), 0u) << lines[1];
  EXPECT_TRUE(contains(lines[1], "100%  122/122")) << lines[1];

  const auto failed = run_mladmin(cli({"jobs", "--status", "failed"}), "", env());
  EXPECT_EQ(failed.exit_code, 0) << failed.err;
  EXPECT_EQ(failed.out, "no jobs\n");
  const auto bad = run_mladmin(cli({"jobs", "--status", "sleeping"}), "", env());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "field 'status'")) << "the server's message: " << bad.err;
}

TEST_F(CliFollowTest, JobsFollowShowsAJobStartedWhileItRunsAndStopsCleanlyOnCtrlC) {
  seed_entries(5000, 1);
  MladminChild jobs(cli({"jobs", "--follow"}), env());
  ASSERT_TRUE(jobs.wait_for_output("no jobs\n")) << jobs.out() << jobs.err();
  const auto id = start_api_sync(R"({"mode":"full"})");
  ASSERT_TRUE(jobs.wait_for_output(" job " + id + " journal_entries completed 100% 5001/5001 synced=5000 "))
      << jobs.out() << jobs.err();
  EXPECT_TRUE(jobs.wait_for_output(" job " + id + " error item=bad-0 ")) << jobs.out();
  jobs.signal(SIGINT);
  EXPECT_EQ(jobs.wait(10s), 0) << jobs.out() << jobs.err();
  EXPECT_TRUE(contains(jobs.out(), " job " + id + " journal_entries queued ")) << jobs.out();
  EXPECT_EQ(jobs.err(), "");
}

TEST_F(CliFollowTest, OnATerminalSyncFollowRedrawsOneBarInPlace) {
  seed_entries(3000, 2);
  MladminChild follow(cli({"sync", "journal_entries", "--mode", "full", "--follow"}),
                      {{kToken, server().ml_admin().token}, {"TERM", "xterm"}, {"LANG", "C.UTF-8"}}, true);
  ASSERT_EQ(follow.wait(120s), 0) << follow.out() << follow.err();
  const auto& out = follow.out();
  EXPECT_TRUE(contains(out, "\r\x1b[J")) << "redrawn in place: " << out;
  EXPECT_TRUE(contains(out, "journal_entries  [\u2588")) << out;
  EXPECT_TRUE(contains(out, "100%  3,002/3,002  synced 3,000  skipped 0  failed 2  completed in ")) << out;
  EXPECT_TRUE(contains(out, "  item bad-0: ")) << out;
  EXPECT_FALSE(contains(out, " job ") && contains(out, " synced=")) << "no plain lines on a terminal";
}

/// A scripted stand-in for the server: answers connections one after another in the order a
/// followed sync makes them, and drops the first event stream after one event.
class DroppingServer final {
 public:
  DroppingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~DroppingServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  unsigned short port() const { return port_; }
  /// The request heads received, in order.
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  /// The job's JSON as the server writes it (api::write_job_json).
  static std::string job(const std::string& status, int processed, const std::string& updated) {
    api::JobWire j;
    j.id = "job-1";
    j.user_id = "user-1";
    j.type = "goals";
    j.status = status;
    j.total_items = 10;
    j.processed_items = processed;
    j.synced_items = processed;
    j.progress = processed * 10;
    j.scope = "user";
    j.mode = "incremental";
    j.created_at = "2026-01-01T00:00:00.000Z";
    j.updated_at = updated;
    if (status == "completed") {
      j.duration = 2000;
    }
    return json::serialize(api::write_job_json(j));
  }
  static std::string chunk(const std::string& data) {
    std::ostringstream s;
    s << std::hex << data.size() << "\r\n" << data << "\r\n";
    return s.str();
  }
  static constexpr const char* kStreamHead =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

  /// Waits for a connection and reads its request head (and a small body); -1 when none came.
  int next_request(std::string& head) {
    pollfd p{fd_, POLLIN, 0};
    while (!stop_) {
      if (::poll(&p, 1, 100) > 0) {
        break;
      }
    }
    if (stop_) {
      return -1;
    }
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::string got;
    char buf[4096];
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      const auto end = got.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto cl = got.find("Content-Length: ");
        const std::size_t body = cl == std::string::npos ? 0 : std::stoul(got.substr(cl + 16));
        if (got.size() >= end + 4 + body) {
          break;
        }
      }
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 100) > 0) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
        got.append(buf, static_cast<std::size_t>(n));
      }
    }
    head = got.substr(0, got.find("\r\n\r\n"));
    std::lock_guard lock(mutex_);
    requests_.push_back(head);
    return c;
  }

  static void send_all(int c, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const auto n = ::send(c, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      sent += static_cast<std::size_t>(n);
    }
  }

  void run() {
    std::string head;
    // 1. The event stream, opened before the start: one event, then the connection drops.
    int c = next_request(head);
    if (c < 0) {
      return;
    }
    send_all(c,
             std::string(kStreamHead) + chunk("retry: 50\n\n") +
                 chunk("id: 7\nevent: job\ndata: " + job("running", 5, "2026-01-01T00:00:01.000Z") + "\n\n"));
    ::close(c);
    // 2. The start.
    c = next_request(head);
    if (c < 0) {
      return;
    }
    const auto body = job("queued", 0, "2026-01-01T00:00:00.000Z");
    send_all(c, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    ::close(c);
    // 3. The reconnect: the job completes.
    c = next_request(head);
    if (c < 0) {
      return;
    }
    send_all(c, std::string(kStreamHead) + chunk("id: 8\nevent: job\ndata: " +
                                                 job("completed", 10, "2026-01-01T00:00:02.000Z") + "\n\n"));
    // Held open until the client goes.
    pollfd p{c, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 100) == 0) {
    }
    ::close(c);
  }

  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

/// `sync goals --follow` against `server` printed the job's three states and
/// reconnected with Last-Event-ID.
void expect_resumed_with_last_event_id(const CommandResult& r, DroppingServer& server) {
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto lines = text_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_TRUE(contains(lines[0], " job job-1 goals queued 0% 0/10 ")) << lines[0];
  EXPECT_TRUE(contains(lines[1], " job job-1 goals running 50% 5/10 ")) << lines[1];
  EXPECT_TRUE(contains(lines[2], " job job-1 goals completed 100% 10/10 synced=10 ")) << lines[2];
  EXPECT_TRUE(contains(r.err, "event stream lost")) << r.err;
  EXPECT_TRUE(contains(r.err, "reconnecting in")) << r.err;
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].rfind("GET /api/ml/sync/events ", 0), 0u) << requests[0];
  EXPECT_TRUE(contains(requests[0], "Authorization: Bearer t0ken")) << requests[0];
  EXPECT_FALSE(contains(requests[0], "Last-Event-ID")) << requests[0];
  EXPECT_EQ(requests[1].rfind("POST /api/ml/sync/goals ", 0), 0u) << requests[1];
  EXPECT_EQ(requests[2].rfind("GET /api/ml/sync/events ", 0), 0u) << requests[2];
  EXPECT_TRUE(contains(requests[2], "Last-Event-ID: 7")) << requests[2];
}

TEST(CliFollowReconnectTest, ADroppedStreamIsResumedWithLastEventId) {
  DroppingServer server;
  const auto r =
      run_mladmin({"sync", "goals", "--follow", "--url", "http://127.0.0.1:" + std::to_string(server.port())},
                  "", {{kToken, "t0ken"}}, 30s);
  expect_resumed_with_last_event_id(r, server);
}

// The same behind a TLS-terminating proxy (`--url https://…`): the stream is read as it comes and
// resumed over a new TLS connection.
TEST(CliFollowReconnectTest, OverHttpsADroppedStreamIsResumedWithLastEventId) {
  DroppingServer server;
  TempDir dir;
  const auto certificate = make_test_certificate(dir);
  TlsProxy proxy(server.port(), certificate);
  const auto r =
      run_mladmin({"sync", "goals", "--follow", "--url", proxy.url(), "--ca-file", certificate.cert}, "",
                  {{kToken, "t0ken"}}, 30s);
  expect_resumed_with_last_event_id(r, server);
  EXPECT_EQ(proxy.log(), "");
}

}  // namespace
}  // namespace mladmin::test

// The live event stream over real HTTP (docs/jobs.md; issue 3 "Event stream"): a client sees
// intermediate progress and every status change of a job with ids that only grow; a reconnect
// with Last-Event-ID misses nothing, and one with an id too old gets a snapshot; a user never
// sees another user's job; heartbeats keep an idle stream open; thousands of clients connecting
// and vanishing leave the server as it was; a stream ends cleanly when the server stops; a client
// that stops reading is dropped.
#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "domain/testing/eventually.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"
#include "support/sse_client.hpp"

namespace mladmin::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

bool has_status(const std::vector<SseEvent>& events, const std::string& job_id, const std::string& status) {
  for (const auto& j : job_events(events, job_id)) {
    if (str(j, "status") == status) {
      return true;
    }
  }
  return false;
}

/// The statuses a job went through as the stream told them, repeats folded.
std::vector<std::string> status_path(const std::vector<SseEvent>& events, const std::string& job_id) {
  std::vector<std::string> path;
  for (const auto& j : job_events(events, job_id)) {
    const auto s = str(j, "status");
    if (path.empty() || path.back() != s) {
      path.push_back(s);
    }
  }
  return path;
}

/// Every id on the wire is a number larger than the one before.
::testing::AssertionResult ids_grow(const std::vector<SseEvent>& events) {
  std::uint64_t last = 0;
  for (const auto& e : events) {
    if (e.id.empty()) {
      continue;
    }
    const auto id = std::stoull(e.id);
    if (id <= last) {
      return ::testing::AssertionFailure() << "id " << id << " after " << last;
    }
    last = id;
  }
  return ::testing::AssertionSuccess();
}

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (::readdir(d) != nullptr) {
      ++n;
    }
    ::closedir(d);
  }
  return n;
}

class EventsTest : public IntegrationTest {
 protected:
  explicit EventsTest(std::string config = "") : config_(std::move(config)) {}

  ServerProcess::Options server_options() override { return {.config = config_}; }

  void SetUp() override {
    IntegrationTest::SetUp();
    admin_ = server().ml_admin();
  }

  Account add_account(const std::string& email, const std::string& role) {
    return server().add_account(email, role, "Events " + role);
  }

  std::string start(const char* path, const std::string& body, const std::string& token) {
    const auto job = server().start_job(path, body, token);
    return job.is_object() ? str(job, "id") : "";
  }

  std::string post_action(const std::string& job_id, const char* action, const std::string& token) {
    auto res = server().http().post(job_path(job_id, action), "", token);
    EXPECT_EQ(res.status, 200) << action << " -> " << res.body;
    return res.status == 200 ? str(res.json(), "status") : "";
  }

  std::string run(const char* path, const std::string& body, const std::string& token) {
    const auto job = server().run_job(path, body, token);
    return job.is_object() ? str(job, "id") : "";
  }

  ServerProcess& process() { return server().process(); }

  std::string config_;
  Account admin_;
};

TEST_F(EventsTest, AClientSeesIntermediateProgressAndEveryStatusChangeOfAJob) {
  seed_journal_entries(process().database_url(), admin_.id, 6000, "p-");
  SseClient client(process().port(), admin_.token);
  ASSERT_EQ(client.status(), 200);
  EXPECT_EQ(client.header("content-type").rfind("text/event-stream", 0), 0u) << client.header("content-type");
  EXPECT_EQ(client.header("cache-control"), "no-store");
  ASSERT_TRUE(client.wait_for([](const auto& ev) { return !ev.empty(); }));
  EXPECT_EQ(client.events().front().event, "snapshot") << "a new client starts from a snapshot";

  const auto id = start(kJournalSync, R"({"mode":"full"})", admin_.token);
  ASSERT_TRUE(client.wait_for([&](const auto& ev) { return has_status(ev, id, "completed"); }, 120s))
      << "never saw the job complete";

  const auto events = client.events();
  const auto seen = job_events(events, id);
  EXPECT_EQ(status_path(events, id), (std::vector<std::string>{"queued", "running", "completed"}));
  std::size_t midway = 0;
  std::int64_t processed_before = -1;
  for (const auto& j : seen) {
    const auto processed = num(j, "processedItems");
    EXPECT_EQ(processed, num(j, "syncedItems") + num(j, "skippedItems") + num(j, "failedItems"))
        << json::serialize(j);
    EXPECT_GE(processed, processed_before) << "progress went backwards";
    processed_before = processed;
    if (str(j, "status") == "running" && processed > 0 && processed < num(j, "totalItems")) {
      ++midway;
    }
  }
  EXPECT_GE(midway, 1u) << "no intermediate progress among " << seen.size() << " events";
  EXPECT_EQ(num(seen.back(), "processedItems"), 6000);
  EXPECT_EQ(num(seen.back(), "progress"), 100);
  EXPECT_TRUE(ids_grow(events));
}

TEST_F(EventsTest, PauseResumeAndCancelAreEachSentAsTheyHappen) {
  seed_journal_entries(process().database_url(), admin_.id, 40000, "s-");
  SseClient client(process().port(), admin_.token);
  ASSERT_EQ(client.status(), 200);
  const auto id = start(kJournalSync, R"({"mode":"full"})", admin_.token);
  ASSERT_TRUE(client.wait_for([&](const auto& ev) {
    for (const auto& j : job_events(ev, id)) {
      if (str(j, "status") == "running" && num(j, "processedItems") > 0) {
        return true;
      }
    }
    return false;
  }));
  ASSERT_EQ(post_action(id, "pause", admin_.token), "paused");
  EXPECT_TRUE(client.wait_for([&](const auto& ev) { return has_status(ev, id, "paused"); }, 5s));
  ASSERT_EQ(post_action(id, "resume", admin_.token), "running");
  ASSERT_EQ(post_action(id, "cancel", admin_.token), "cancelled");
  ASSERT_TRUE(client.wait_for([&](const auto& ev) { return has_status(ev, id, "cancelled"); }, 5s));

  EXPECT_EQ(status_path(client.events(), id),
            (std::vector<std::string>{"queued", "running", "paused", "running", "cancelled"}));
  EXPECT_TRUE(ids_grow(client.events()));
}

TEST_F(EventsTest, AReconnectWithLastEventIdMissesNothing) {
  seed_journal_entries(process().database_url(), admin_.id, 3000, "r-");
  seed_goals(process().database_url(), admin_.id, 500, "g-");
  std::string first_job;
  std::string resume_from;
  {
    SseClient client(process().port(), admin_.token);
    ASSERT_EQ(client.status(), 200);
    first_job = start(kJournalSync, R"({"mode":"full"})", admin_.token);
    ASSERT_TRUE(client.wait_for([&](const auto& ev) { return has_status(ev, first_job, "queued"); }));
    // Resume from the job's "queued" event (not from the last one seen, which may already be its
    // "running" one on a busy machine).
    for (const auto& e : client.events()) {
      if (e.event == "job" && str(e.json(), "id") == first_job && str(e.json(), "status") == "queued") {
        resume_from = e.id;
        break;
      }
    }
    ASSERT_FALSE(resume_from.empty());
  }  // disconnected: the job goes on, and another one runs from start to end meanwhile
  server().wait_finished(first_job);
  const auto second_job = run(kGoalSync, R"({"mode":"full"})", admin_.token);

  SseClient again(process().port(), admin_.token, resume_from);
  ASSERT_EQ(again.status(), 200);
  ASSERT_TRUE(again.wait_for([&](const auto& ev) { return has_status(ev, second_job, "completed"); }));
  const auto events = again.events();
  for (const auto& e : events) {
    EXPECT_NE(e.event, "snapshot") << "a recent Last-Event-ID is replayed, not answered with a snapshot";
  }
  EXPECT_EQ(status_path(events, first_job), (std::vector<std::string>{"running", "completed"}));
  EXPECT_EQ(status_path(events, second_job), (std::vector<std::string>{"queued", "running", "completed"}));
  EXPECT_EQ(num(job_events(events, first_job).back(), "processedItems"), 3000);
  EXPECT_GT(std::stoull(events.front().id), std::stoull(resume_from));
  EXPECT_TRUE(ids_grow(events));
}

TEST_F(EventsTest, ALastEventIdTooOldOrUnknownGetsASnapshotOfActiveAndTwentyFinishedJobs) {
  std::vector<std::string> finished;
  for (int i = 0; i < 22; ++i) {
    finished.push_back(run(kGoalSync, "{}", admin_.token));
  }
  seed_journal_entries(process().database_url(), admin_.id, 40000, "o-");
  const auto active = start(kJournalSync, R"({"mode":"full"})", admin_.token);

  for (const std::string last : {"1", "not-a-number", "99999999999999999999"}) {
    SseClient client(process().port(), admin_.token, last);
    ASSERT_EQ(client.status(), 200);
    ASSERT_TRUE(client.wait_for([](const auto& ev) { return !ev.empty(); }));
    const auto snapshot = client.events().front();
    ASSERT_EQ(snapshot.event, "snapshot") << "Last-Event-ID " << last;
    EXPECT_FALSE(snapshot.id.empty());
    const auto jobs = snapshot.json().at("jobs").as_array();
    ASSERT_EQ(jobs.size(), 21u) << snapshot.data;
    EXPECT_EQ(str(jobs[0], "id"), active);
    // The 20 newest finished jobs, newest first: the two oldest are left out.
    for (std::size_t i = 1; i < jobs.size(); ++i) {
      EXPECT_EQ(str(jobs[i], "id"), finished[finished.size() - i]);
      EXPECT_EQ(str(jobs[i], "status"), "completed");
    }
  }
  post_action(active, "cancel", admin_.token);
}

TEST_F(EventsTest, AUserSeesOnlyTheJobsTheyStartedOrThatSyncedTheirRecords) {
  const auto ann = add_account("ann@events.test", "user");
  const auto bob = add_account("bob@events.test", "user");
  seed_journal_entries(process().database_url(), ann.id, 50, "ann-");
  seed_journal_entries(process().database_url(), bob.id, 50, "bob-");
  SseClient ann_stream(process().port(), ann.token);
  SseClient bob_stream(process().port(), bob.token);
  SseClient admin_stream(process().port(), admin_.token);
  for (auto* c : {&ann_stream, &bob_stream, &admin_stream}) {
    ASSERT_EQ(c->status(), 200);
  }

  const auto ann_job = run(kJournalSync, "{}", ann.token);
  const auto bob_job = run(kGoalSync, "{}", bob.token);
  // ml_admin syncs Ann's records: Ann may read that job, Bob may not.
  const auto for_ann = run(kGoalSync, R"({"userId":")" + ann.id + R"("})", admin_.token);

  ASSERT_TRUE(admin_stream.wait_for([&](const auto& ev) {
    return has_status(ev, ann_job, "completed") && has_status(ev, bob_job, "completed") &&
           has_status(ev, for_ann, "completed");
  }));
  ASSERT_TRUE(ann_stream.wait_for([&](const auto& ev) {
    return has_status(ev, ann_job, "completed") && has_status(ev, for_ann, "completed");
  }));
  ASSERT_TRUE(bob_stream.wait_for([&](const auto& ev) { return has_status(ev, bob_job, "completed"); }));
  // Bob's stream had every event up to its own job's end; Ann's jobs were never among them.
  for (const auto& e : bob_stream.events()) {
    if (e.event == "job") {
      EXPECT_EQ(str(e.json(), "id"), bob_job) << "Bob saw " << e.data;
    }
  }
  for (const auto& e : ann_stream.events()) {
    if (e.event == "job") {
      EXPECT_NE(str(e.json(), "id"), bob_job) << "Ann saw Bob's job";
    }
  }
  // The same rule holds for a reconnect's replay.
  SseClient replay(process().port(), bob.token, std::string("1"));
  ASSERT_TRUE(replay.wait_for([](const auto& ev) { return !ev.empty(); }));
  const auto jobs = replay.events().front().json().at("jobs").as_array();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(str(jobs[0], "id"), bob_job);
}

TEST_F(EventsTest, TheStreamNeedsAValidTokenInTheHeaderNeverInTheUrl) {
  SseClient none(process().port(), "");
  EXPECT_EQ(none.status(), 401);
  ASSERT_TRUE(none.wait_ended());
  EXPECT_NE(none.body().find("missing_token"), std::string::npos) << none.body();

  SseClient forged(process().port(), admin_.token + "x");
  EXPECT_EQ(forged.status(), 401);

  SseClient in_url(process().port(), "", std::nullopt, "/api/ml/sync/events?token=" + admin_.token);
  EXPECT_EQ(in_url.status(), 401) << "a token in the URL must not be accepted";
}

TEST_F(EventsTest, AStreamEndsCleanlyWhenTheServerStops) {
  SseClient client(process().port(), admin_.token);
  ASSERT_EQ(client.status(), 200);
  ASSERT_TRUE(client.wait_for([](const auto& ev) { return !ev.empty(); }));
  EXPECT_EQ(process().stop(SIGTERM, 10s), 0);
  EXPECT_TRUE(client.wait_ended(5s));
}

TEST_F(EventsTest, ThousandsOfClientsConnectingAndVanishingLeaveTheServerAsItWas) {
  auto& http = server().http();
  const auto baseline = open_fds(process().pid());
  namespace asio = boost::asio;
  asio::io_context ioc;
  const std::string request =
      "GET /api/ml/sync/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_.token + "\r\n\r\n";
  constexpr int kRounds = 4;
  constexpr int kPerRound = 500;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<asio::ip::tcp::socket> sockets;
    for (int i = 0; i < kPerRound; ++i) {
      sockets.emplace_back(ioc);
      sockets.back().connect({asio::ip::make_address("127.0.0.1"), process().port()});
      // Half send the whole request, a quarter half of it, a quarter nothing at all.
      if (i % 4 < 2) {
        asio::write(sockets.back(), asio::buffer(request));
      } else if (i % 4 == 2) {
        asio::write(sockets.back(), asio::buffer(request.data(), request.size() / 2));
      }
    }
    // Some vanish with a reset rather than a clean close.
    for (std::size_t i = 0; i < sockets.size(); i += 3) {
      sockets[i].set_option(asio::socket_base::linger(true, 0));
    }
    sockets.clear();
  }
  // Meanwhile and afterwards the server answers, and new streams work: once the server has seen
  // the last round's streams go (they hold the user's stream slots until it does; the watcher
  // notices each close as the I/O thread gets to it), a new stream is taken.
  EXPECT_EQ(http.get("/healthz").status, 200);
  std::unique_ptr<SseClient> opened;
  domain::eventually(
      [&] {
        opened = std::make_unique<SseClient>(process().port(), admin_.token);
        return opened->status() == 200;
      },
      10s);
  auto& client = *opened;
  ASSERT_EQ(client.status(), 200) << "the user's stream slots were not given back";
  const auto id = start(kGoalSync, "{}", admin_.token);
  EXPECT_TRUE(client.wait_for([&](const auto& ev) { return has_status(ev, id, "completed"); }));
  // Every vanished connection is let go: the descriptors return to where they were (give or take
  // the test's own stream and the database's files).
  domain::eventually([&] { return open_fds(process().pid()) <= baseline + 8; }, 30s);
  EXPECT_LE(open_fds(process().pid()), baseline + 8) << "baseline " << baseline;
}

class EventsHeartbeatTest : public EventsTest {
 protected:
  EventsHeartbeatTest() : EventsTest("[events]\nheartbeat_ms = 200\n") {}
};

TEST_F(EventsHeartbeatTest, AnIdleStreamGetsACommentLineEveryHeartbeat) {
  SseClient client(process().port(), admin_.token);
  ASSERT_EQ(client.status(), 200);
  EXPECT_TRUE(client.wait_comments(3, 10s)) << "comments seen: " << client.comments();
  EXPECT_FALSE(client.ended());
}

/// Reads from `socket` into `got` until `done(got)` holds, the peer ends the connection, or
/// `deadline` passes (poll with a timeout: never blocks past it); answers whether `done` held.
/// `ended` tells whether the connection ended (EOF or an error such as a reset).
bool read_until(boost::asio::ip::tcp::socket& socket, std::string& got,
                const std::function<bool(const std::string&)>& done,
                std::chrono::steady_clock::time_point deadline, bool& ended) {
  ended = false;
  std::array<char, 4096> scratch{};
  while (!done(got)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{socket.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    const auto n = ::recv(socket.native_handle(), scratch.data(), scratch.size(), 0);
    if (n <= 0) {
      ended = true;
      return done(got);
    }
    got.append(scratch.data(), static_cast<std::size_t>(n));
  }
  return true;
}

// docs/security.md: a client that stops taking a response for read_timeout_ms is dropped. An event
// stream whose client stops reading fills the socket's buffers; the server's write then waits, and
// the stream's write deadline ends it, which gives its user's stream slot back. Deterministic: the
// stalled client reads its stream's head and snapshot first (the server registers a stream before
// it writes its snapshot, so from then on the stream holds the slot for sure), and its receive
// buffer is made small before it connects, so that a bounded number of jobs' events fill it.
TEST(EventsStalledReaderTest, AClientThatStopsReadingIsDroppedAndItsStreamSlotFreed) {
  IntegrationServer server({.config = "[server]\nread_timeout_ms = 500\n"
                                      "[events]\nmax_streams_per_user = 1\n"
                                      "[sync]\nstarts_per_minute = 1000000\n"});
  const auto ann = server.add_account("ann@events.test", "ml_admin");
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket stalled(io);
  stalled.open(boost::asio::ip::tcp::v4());
  stalled.set_option(boost::asio::socket_base::receive_buffer_size(4096));
  stalled.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  const std::string request =
      "GET /api/ml/sync/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + ann.token + "\r\n\r\n";
  boost::asio::write(stalled, boost::asio::buffer(request));
  std::string got;
  bool ended = false;
  ASSERT_TRUE(read_until(
      stalled, got,
      [](const std::string& g) {
        const auto at = g.find("event: snapshot\n");
        return at != std::string::npos && g.find("\n\n", at) != std::string::npos;
      },
      std::chrono::steady_clock::now() + 30s, ended))
      << "no snapshot on the stream that is to stall: " << got;
  ASSERT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;

  // The stalled stream holds ann's only slot.
  EXPECT_EQ(SseClient(server.port(), ann.token).status(), 429);

  // From here on the client reads nothing. Jobs' events fill the buffers; bounded in count and
  // time. Every 25 jobs, a new stream tells whether the slot is free again.
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  bool freed = false;
  int jobs = 0;
  for (int posts = 0; !freed && posts < 20000 && std::chrono::steady_clock::now() < deadline; ++posts) {
    const auto res =
        server.http().post("/api/ml/sync/journal-entries", R"({"scope":"all","mode":"full"})", ann.token);
    // 409 while the previous job of this scope is still running: no job, and no events.
    ASSERT_TRUE(res.status == 202 || res.status == 409) << res.status << " " << res.body;
    if (res.status == 202 && ++jobs % 25 == 0) {
      freed = SseClient(server.port(), ann.token).status() == 200;
    }
  }
  EXPECT_TRUE(freed) << "the stream of a client that stopped reading was not dropped (" << jobs << " jobs)";

  // And the server closed the stalled connection: what it had sent, then the end.
  got.clear();
  read_until(
      stalled, got, [](const std::string& g) { return g.size() > (64u << 20); },
      std::chrono::steady_clock::now() + 30s, ended);
  EXPECT_TRUE(ended) << "the stalled connection is still open";
}

}  // namespace
}  // namespace mladmin::test

// The server process and the command line (README.md "Running it", issue 2 "The server"): keep-alive,
// graceful shutdown, readiness, migrations, the user commands and the config file's strictness.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/config.hpp"
#include "domain/testing/eventually.hpp"
#include "support/fixture.hpp"
#include "support/text.hpp"

namespace mladmin::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr const char* kPassword = "Granite-Kettle-83-Meadow";

TEST(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  IntegrationServer server;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  stream.expires_after(std::chrono::seconds(30));
  const auto local_port = stream.socket().local_endpoint().port();
  beast::flat_buffer buffer;

  for (const char* target : {"/healthz", "/readyz", "/api/nope", "/healthz", "/api/auth/me"}) {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(stream, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);

    EXPECT_TRUE(res.keep_alive()) << target;
    EXPECT_FALSE(res.body().empty()) << target;
  }
  // Still the connection we opened first.
  EXPECT_EQ(stream.socket().local_endpoint().port(), local_port);

  // Pipelined requests on one connection are answered in order.
  const std::string answers = HttpClient(server.port())
                                  .raw(
                                      "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                                      "GET /api/nope HTTP/1.1\r\nHost: a\r\n\r\n"
                                      "GET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count_of(answers, "HTTP/1.1 "), 3u) << answers;
  const auto first = answers.find("HTTP/1.1 200");
  const auto second = answers.find("HTTP/1.1 404");
  const auto third = answers.find("HTTP/1.1 200", second);
  EXPECT_TRUE(first < second && second < third && third != std::string::npos) << answers;
}

TEST(ServerTest, ReadyzAnswersOkWhenTheDatabaseIsUp) {
  IntegrationServer server;
  HttpClient client(server.port());

  auto res = client.get("/readyz");

  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.json().at("status").as_string(), "ready");
  EXPECT_EQ(client.get("/healthz").status, 200);
}

TEST(ServerTest, SigtermExitsZeroAndStopsAcceptingConnections) {
  IntegrationServer server;
  const auto port = server.port();
  ASSERT_EQ(HttpClient(port).get("/healthz").status, 200);
  // An idle keep-alive connection must not hold the shutdown up.
  HttpClient idle(port);
  ASSERT_EQ(idle.get("/healthz").status, 200);

  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(10)), 0);

  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_TRUE(ec) << "the server still accepts connections after it exited";
  EXPECT_NE(server.log().find("stopped"), std::string::npos) << server.log();
}

TEST(ServerTest, SigintAlsoExitsZero) {
  IntegrationServer server;
  ASSERT_EQ(HttpClient(server.port()).get("/healthz").status, 200);

  EXPECT_EQ(server.stop(SIGINT, std::chrono::seconds(10)), 0);
}

TEST(ServerTest, SigtermLetsInFlightRequestsFinish) {
  // One hashing thread makes sign-ins queue, so that several are in flight at once.
  IntegrationServer server({.config = "[auth]\nhash_threads = 1\n"});
  server.add_account("drain@server.test", "user", "Drain Tester");

  constexpr int kClients = 4;
  std::mutex mutex;
  std::condition_variable cv;
  int answered = 0;
  std::vector<HttpResponse> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client(server.port());
      auto res = client.post("/api/auth/login", json::serialize(json::object{{"email", "drain@server.test"},
                                                                             {"password", kTestPassword}}));
      std::lock_guard lock(mutex);
      results[static_cast<std::size_t>(i)] = std::move(res);
      ++answered;
      cv.notify_all();
    });
  }
  {
    // The first answer comes after one argon2 verification; by then every request was sent and
    // the others are queued behind it.
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered > 0; }));
  }

  const auto code = server.stop(SIGTERM, std::chrono::seconds(10));
  for (auto& t : threads) {
    t.join();
  }

  EXPECT_EQ(code, 0);
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(results[static_cast<std::size_t>(i)].status, 200)
        << "client " << i << ": " << results[static_cast<std::size_t>(i)].body;
  }
}

TEST(ServerTest, RaisesItsSoftDescriptorLimitToTheHardLimit) {
  // Each event stream holds a descriptor (docs/benchmarks.md: 10,000 idle streams); a server started with
  // the common soft limit of 1,024 must raise it. The child inherits this process's limits.
  rlimit mine{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &mine), 0);
  if (mine.rlim_max <= 1024) {
    GTEST_SKIP() << "the hard descriptor limit is too low to tell a raise from none";
  }
  rlimit low = mine;
  low.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::optional<IntegrationServer> server;
  server.emplace();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &mine), 0);

  std::ifstream limits("/proc/" + std::to_string(server->pid()) + "/limits");
  std::string line;
  std::string soft;
  std::string hard;
  while (std::getline(limits, line)) {
    if (line.starts_with("Max open files")) {
      std::istringstream fields(line.substr(std::string("Max open files").size()));
      fields >> soft >> hard;
    }
  }
  EXPECT_EQ(soft, hard);
  EXPECT_EQ(soft, std::to_string(mine.rlim_max));
  EXPECT_NE(server->log().find("raised the open-descriptor limit"), std::string::npos) << server->log();
}

/// Each thread of process `pid`: its name (comm) and its nice value (field 19 of its stat).
std::multimap<std::string, int> threads_of(pid_t pid) {
  std::multimap<std::string, int> out;
  const auto dir = std::filesystem::path("/proc") / std::to_string(pid) / "task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(dir, ec)) {
    std::string name;
    std::getline(std::ifstream(task.path() / "comm"), name);
    std::string stat;
    std::getline(std::ifstream(task.path() / "stat"), stat);
    const auto close = stat.rfind(')');
    if (name.empty() || close == std::string::npos) {
      continue;  // the thread ended meanwhile
    }
    std::istringstream fields(stat.substr(close + 2));  // from field 3, the state
    std::string field;
    for (int i = 3; i < 19 && fields >> field; ++i) {
    }
    int nice = 0;
    fields >> nice;
    out.emplace(name, nice);
  }
  return out;
}

TEST(ServerTest, TheSyncsThreadsRunAtNice10AndEveryOtherThreadAtTheServersOwn) {
  // [sync] nice (docs/performance.md, "The sync yields the cores"): the sync workers, the WAL
  // checkpointer, the search indexer and the owner index's merger give way to the I/O thread and
  // the request handlers, so that a busy sync does not hold up answers and events; `nice = 0`
  // turns that off.
  using namespace std::chrono_literals;
  const int own = ::getpriority(PRIO_PROCESS, 0);  // the server's, which it inherits from this test
  const std::map<std::string, int> background = {
      {"sync-worker", 4}, {"wal-checkpoint", 1}, {"search-index", 1}, {"owner-merge", 1}};
  const auto started = [&](const std::multimap<std::string, int>& threads) {
    return std::all_of(background.begin(), background.end(), [&](const auto& kv) {
      return static_cast<int>(threads.count(kv.first)) == kv.second;
    });
  };
  for (const int configured : {10, 0}) {
    SCOPED_TRACE("[sync] nice = " + std::to_string(configured));
    ServerProcess::Options options;
    if (configured == 0) {
      options.config = "[sync]\nnice = 0\n";
    }
    IntegrationServer server(options);
    std::multimap<std::string, int> threads;
    ASSERT_TRUE(domain::eventually([&] { return started(threads = threads_of(server.pid())); }, 10s))
        << threads.size() << " threads";
    std::size_t others = 0;
    for (const auto& [name, nice] : threads) {
      if (background.contains(name)) {
        EXPECT_EQ(nice, std::max(own, configured)) << name;
      } else {
        ++others;
        EXPECT_EQ(nice, own) << name;  // the I/O thread, the request handlers, the main thread
      }
    }
    EXPECT_GE(others, 2U);
  }
}

TEST(ServerTest, MigrateOnANewFilePrintsTheSchemaVersion) {
  TempDir dir;
  const auto path = dir.file("fresh.db");
  ASSERT_FALSE(std::filesystem::exists(path));

  auto first = run_mladmin({"migrate", "--database", "sqlite://" + path});
  auto again = run_mladmin({"migrate", "--database", "sqlite://" + path});

  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("schema version "), std::string::npos) << first.out;
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, first.out) << "migrating twice changes nothing";
  const auto version = first.out.substr(first.out.find("schema version ") + 15);
  EXPECT_GE(std::stoi(version), 1) << first.out;
}

TEST(ServerTest, MigrateHonoursTheDatabaseEnvironmentVariable) {
  TempDir dir;
  const auto path = dir.file("from-env.db");

  auto r = run_mladmin({"migrate"}, "", {{"MLADMIN_DATABASE_URL", "sqlite://" + path}});

  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(path));
}

class CliUserTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = "sqlite://" + dir_.file("cli.db"); }

  CommandResult user(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), "user");
    args.emplace_back("--database");
    args.push_back(db_);
    return run_mladmin(args, stdin_text);
  }

  TempDir dir_;
  std::string db_;
};

TEST_F(CliUserTest, AddListSetRoleDisableAndEnableRoundTrip) {
  auto add =
      user({"add", "--email", "Carla@Cli.Test", "--name", "Carla Cli", "--role", "admin", "--password-stdin"},
           std::string(kPassword) + "\n");
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("Carla@Cli.Test"), std::string::npos) << add.out;
  EXPECT_NE(add.out.find("admin"), std::string::npos) << add.out;
  const std::string id = add.out.substr(0, add.out.find(' '));
  EXPECT_EQ(id.size(), 36u) << add.out;
  auto add_other = user({"add", "--email", "dev@cli.test", "--name", "Devon Cli", "--password-stdin"},
                        "Velvet-Harbor-19-Comet\n");
  ASSERT_EQ(add_other.exit_code, 0) << add_other.err;
  EXPECT_NE(add_other.out.find("  user  active"), std::string::npos)
      << "the default role is user: " << add_other.out;

  auto listed = user({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(id + "  Carla@Cli.Test  admin  active  Carla Cli"), std::string::npos)
      << listed.out;
  EXPECT_NE(listed.out.find("dev@cli.test  user  active  Devon Cli"), std::string::npos) << listed.out;

  auto promoted = user({"set-role", "dev@cli.test", "ml_admin"});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.err;
  EXPECT_NE(promoted.out.find("dev@cli.test  ml_admin  active"), std::string::npos) << promoted.out;

  auto disabled = user({"disable", "DEV@cli.test"});
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  EXPECT_NE(disabled.out.find("dev@cli.test  ml_admin  disabled"), std::string::npos) << disabled.out;
  EXPECT_NE(user({"list"}).out.find("dev@cli.test  ml_admin  disabled"), std::string::npos);

  auto enabled = user({"enable", "dev@cli.test"});
  ASSERT_EQ(enabled.exit_code, 0) << enabled.err;
  EXPECT_NE(enabled.out.find("dev@cli.test  ml_admin  active"), std::string::npos) << enabled.out;

  // By id as well as by email.
  auto by_id = user({"set-role", id, "admin"});
  EXPECT_EQ(by_id.exit_code, 0) << by_id.err;

  // What the command line wrote, the server serves.
  IntegrationServer server({.database_url = db_});
  auto& client = server.http();
  const std::string token = client.login("dev@cli.test", "Velvet-Harbor-19-Comet");
  auto me = client.get("/api/auth/me", token);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json().at("role").as_string(), "ml_admin");
}

TEST_F(CliUserTest, AddWithAWeakPasswordExitsOneSayingWhy) {
  auto short_one =
      user({"add", "--email", "weak@cli.test", "--name", "Weak Cli", "--password-stdin"}, "short\n");
  auto common =
      user({"add", "--email", "weak@cli.test", "--name", "Weak Cli", "--password-stdin"}, "password1\n");

  EXPECT_EQ(short_one.exit_code, 1);
  EXPECT_NE(short_one.err.find("at least 8 characters"), std::string::npos) << short_one.err;
  EXPECT_EQ(common.exit_code, 1);
  EXPECT_NE(common.err.find("common"), std::string::npos) << common.err;
  EXPECT_EQ(user({"list"}).out.find("weak@cli.test"), std::string::npos) << "no user was created";
}

TEST_F(CliUserTest, MistakesExitOneSayingWhy) {
  ASSERT_EQ(
      user({"add", "--email", "solo@cli.test", "--name", "Solo Admin", "--role", "admin", "--password-stdin"},
           std::string(kPassword) + "\n")
          .exit_code,
      0);

  auto duplicate = user({"add", "--email", "SOLO@cli.test", "--name", "Solo Again", "--password-stdin"},
                        "Velvet-Harbor-19-Comet\n");
  auto bad_role =
      user({"add", "--email", "role@cli.test", "--name", "Bad Role", "--role", "root", "--password-stdin"},
           "Velvet-Harbor-19-Comet\n");
  auto bad_email = user({"add", "--email", "not-an-email", "--name", "Bad Email", "--password-stdin"},
                        "Velvet-Harbor-19-Comet\n");
  auto unknown = user({"disable", "ghost@cli.test"});
  auto last_admin = user({"disable", "solo@cli.test"});
  auto demote_last = user({"set-role", "solo@cli.test", "user"});

  EXPECT_EQ(duplicate.exit_code, 1);
  EXPECT_NE(duplicate.err.find("already exists"), std::string::npos) << duplicate.err;
  EXPECT_EQ(bad_role.exit_code, 1);
  EXPECT_NE(bad_role.err.find("role"), std::string::npos) << bad_role.err;
  EXPECT_EQ(bad_email.exit_code, 1);
  EXPECT_NE(bad_email.err.find("email"), std::string::npos) << bad_email.err;
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
  EXPECT_EQ(last_admin.exit_code, 1);
  EXPECT_NE(last_admin.err.find("admin"), std::string::npos) << last_admin.err;
  EXPECT_EQ(demote_last.exit_code, 1);
  auto listed = user({"list"});
  EXPECT_NE(listed.out.find("solo@cli.test  admin  active"), std::string::npos) << listed.out;
  EXPECT_EQ(count_of(listed.out, "@cli.test"), 1u) << listed.out;
}

TEST(ServerConfigTest, UnknownConfigKeyStopsTheServerNamingTheKey) {
  auto r = serve_refused("[server]\nio_threads = 1\nlisten_adress = \"127.0.0.1:0\"\n");

  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("server.listen_adress"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
}

TEST(ServerConfigTest, UnknownConfigSectionOrBadValueStopsTheServerNamingIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[servr]\nio_threads = 1\n", "servr"},
      {"[server]\nio_threads = \"four\"\n", "server.io_threads"},
      {"[server]\nio_threads = 0\n", "server.io_threads"},
      {"[auth]\nhash_threads = 1\nhash_threads = 2\n", "hash_threads"},
  };
  for (const auto& [text, named] : cases) {
    auto r = serve_refused(text);
    EXPECT_NE(r.exit_code, 0) << text;
    EXPECT_NE(r.err.find(named), std::string::npos) << text << " -> " << r.err;
  }
}

TEST(ServerConfigTest, TheExampleConfigIsReadAndSaysTheDefaults) {
  // README: config.example.toml "lists each key with its default". A key misspelt there, or a
  // default changed in one place only, fails here.
  app::Config read;
  ASSERT_NO_THROW(app::load_config_file(std::string(MLADMIN_SOURCE_DIR) + "/config.example.toml", read));
  const app::Config defaults;
  EXPECT_EQ(read.server.port, defaults.server.port);
  EXPECT_EQ(read.server.io_threads, defaults.server.io_threads);
  EXPECT_EQ(read.server.handler_threads, defaults.server.handler_threads);
  EXPECT_EQ(read.server.max_body_bytes, defaults.server.max_body_bytes);
  EXPECT_EQ(read.server.max_connections, defaults.server.max_connections);
  EXPECT_EQ(read.database_url, defaults.database_url);
  EXPECT_EQ(read.database_cache_mib, defaults.database_cache_mib);
  EXPECT_EQ(read.import_max_bytes, defaults.import_max_bytes);
  EXPECT_EQ(read.token_ttl_seconds, defaults.token_ttl_seconds);
  EXPECT_EQ(read.hash_threads, defaults.hash_threads);
  EXPECT_EQ(read.log_level, defaults.log_level);
  EXPECT_EQ(read.sync_workers, defaults.sync_workers);
  EXPECT_EQ(read.sync_nice, defaults.sync_nice);
  EXPECT_EQ(read.job_retention_days, defaults.job_retention_days);
  EXPECT_EQ(read.sync_starts_per_minute, defaults.sync_starts_per_minute);
  EXPECT_EQ(read.job_view_jobs, defaults.job_view_jobs);
  EXPECT_EQ(read.events.coalesce, defaults.events.coalesce);
  EXPECT_EQ(read.events.heartbeat, defaults.events.heartbeat);
  EXPECT_EQ(read.metrics_public, defaults.metrics_public);
  EXPECT_EQ(read.ml_service.batch_items, defaults.ml_service.batch_items);
  EXPECT_EQ(read.ml_service.max_in_flight, defaults.ml_service.max_in_flight);
  EXPECT_EQ(read.search_rank_candidates, defaults.search_rank_candidates);
  EXPECT_EQ(read.search_deadline, defaults.search_deadline);
}

TEST(ServerConfigTest, ConfigFileFromTheEnvironmentIsRead) {
  TempDir dir;
  const auto config = dir.file("mladmin.toml");
  std::ofstream(config) << "[server]\nmax_bodyy = 1\n";

  auto r = serve_refused("", {{"MLADMIN_CONFIG", config}});

  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("server.max_bodyy"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mladmin::test

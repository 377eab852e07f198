#pragma once

#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/job_json.hpp"
#include "support/job_watcher.hpp"
#include "support/process.hpp"

namespace mladmin::test {

/// The e-mail addresses of the fixture's accounts of each role.
inline constexpr const char* kFixtureUserEmail = "user@fixture.test";
inline constexpr const char* kFixtureMlAdminEmail = "ml@fixture.test";
inline constexpr const char* kFixtureAdminEmail = "admin@fixture.test";

/// An HttpClient that sends one account's token with every request.
class Session final {
 public:
  Session(unsigned short port, Account account);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Account& account() const { return account_; }
  const std::string& id() const { return account_.id; }
  const std::string& token() const { return account_.token; }

  HttpResponse get(const std::string& target) { return http_.get(target, account_.token); }
  HttpResponse del(const std::string& target) { return http_.del(target, account_.token); }
  HttpResponse post(const std::string& target, const std::string& json) {
    return http_.post(target, json, account_.token);
  }
  HttpResponse patch(const std::string& target, const std::string& json) {
    return http_.patch(target, json, account_.token);
  }
  /// Any method, with a JSON body.
  HttpResponse send(const std::string& method, const std::string& target, const std::string& json = "");
  HttpClient& http() { return http_; }

 private:
  Account account_;
  HttpClient http_;
};

/// The integration fixture (docs/testing.md): the real `mladmin serve` on 127.0.0.1 port 0
/// with a temporary SQLite file, one account of each role (user, ml_admin, admin; password
/// kTestPassword) created on first use and then kept, a logged-in Session per role, and a
/// JobWatcher that follows the event stream as the ml_admin, who may read every job.
class IntegrationServer final {
 public:
  explicit IntegrationServer(ServerProcess::Options options = {});
  ~IntegrationServer();
  IntegrationServer(const IntegrationServer&) = delete;
  IntegrationServer& operator=(const IntegrationServer&) = delete;

  ServerProcess& process() { return *process_; }
  unsigned short port() const { return process_->port(); }
  pid_t pid() const { return process_->pid(); }
  const std::string& database_url() const { return process_->database_url(); }
  std::string log() const { return process_->log(); }
  /// A client without a token.
  HttpClient& http() { return *http_; }

  /// The accounts of each role (user@fixture.test, ml@fixture.test, admin@fixture.test). On a
  /// database that an earlier server of the fixture made, the accounts it holds are logged in.
  const Account& user() { return as_user().account(); }
  const Account& ml_admin() { return as_ml_admin().account(); }
  const Account& admin() { return as_admin().account(); }
  Session& as_user();
  Session& as_ml_admin();
  Session& as_admin();
  /// Another account, created with the CLI on the server's database and logged in.
  Account add_account(const std::string& email, const std::string& role,
                      const std::string& name = "Test User");

  /// The event stream as the ml_admin: opened on first use (before the first job a test starts
  /// through start_job) and kept until a restart.
  JobWatcher& jobs();
  /// POSTs `body` to `path` as `token`, expects 202 with a queued or running job and its
  /// Location; returns the job (a null value when it was not started).
  boost::json::value start_job(const std::string& path, const std::string& body, const std::string& token);
  /// Shorthands for jobs().wait_…
  boost::json::value wait_for_job(const std::string& id, const JobWatcher::JobPredicate& pred,
                                  std::chrono::milliseconds deadline = kJobDeadline,
                                  const std::string& what = "the awaited state");
  boost::json::value wait_finished(const std::string& id, std::chrono::milliseconds deadline = kJobDeadline);
  /// start_job, then wait_finished.
  boost::json::value run_job(const std::string& path, const std::string& body, const std::string& token);
  /// GET the job now (expects 200).
  boost::json::value get_job(const std::string& id, const std::string& token);

  /// Stops the server (see ServerProcess::stop); the database stays for restart().
  std::optional<int> stop(int signal, std::chrono::milliseconds deadline = std::chrono::seconds(15));
  /// Starts the server again on the same database (stopping the running one with SIGKILL first);
  /// accounts and tokens stay valid, sessions and the watcher reconnect to the new port.
  void restart(ServerProcess::Options options = {});

 private:
  Session& session(std::unique_ptr<Session>& slot, const char* email, const char* role);

  std::vector<std::unique_ptr<ServerProcess>> retired_;  ///< stopped ones: the first holds the database
  std::unique_ptr<ServerProcess> process_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Session> user_;
  std::unique_ptr<Session> ml_admin_;
  std::unique_ptr<Session> admin_;
  std::unique_ptr<JobWatcher> jobs_;
};

/// A gtest fixture holding an IntegrationServer started in SetUp with server_options().
class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = std::make_unique<IntegrationServer>(server_options()); }
  /// What the server is started with (a subclass overrides it for a config of its own).
  virtual ServerProcess::Options server_options() { return {}; }
  IntegrationServer& server() { return *server_; }

 private:
  std::unique_ptr<IntegrationServer> server_;
};

/// A gtest fixture whose IntegrationServer all tests of the suite share: started in
/// SetUpTestSuite (a suite that needs options defines its own SetUpTestSuite calling
/// start_shared), gone in TearDownTestSuite. For suites whose tests do not disturb each other.
class SharedIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { start_shared({}); }
  static void TearDownTestSuite() { shared_.reset(); }
  static void start_shared(ServerProcess::Options options) {
    shared_ = std::make_unique<IntegrationServer>(std::move(options));
  }
  static IntegrationServer& server() { return *shared_; }

 private:
  static inline std::unique_ptr<IntegrationServer> shared_;
};

/// A SharedIntegrationTest whose tests act as the fixture's admin (admin_id_, admin_token_) over
/// an HttpClient of their own (client_: a new connection for each test).
class SharedAdminTest : public SharedIntegrationTest {
 protected:
  static void SetUpTestSuite() {
    SharedIntegrationTest::SetUpTestSuite();
    admin_id_ = server().admin().id;
    admin_token_ = server().admin().token;
  }

  void SetUp() override {
    ASSERT_FALSE(admin_token_.empty());
    client_ = std::make_unique<HttpClient>(server().port());
  }

  static inline std::string admin_id_;
  static inline std::string admin_token_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace mladmin::test

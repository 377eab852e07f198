#include "support/fixture.hpp"

#include <signal.h>

#include <stdexcept>

#include "support/seed.hpp"

namespace mladmin::test {

namespace json = boost::json;

Session::Session(unsigned short port, Account account) : account_(std::move(account)), http_(port) {}

HttpResponse Session::send(const std::string& method, const std::string& target, const std::string& json) {
  return http_.request(method, target, json,
                       {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + account_.token}});
}

IntegrationServer::IntegrationServer(ServerProcess::Options options)
    : process_(std::make_unique<ServerProcess>(std::move(options))),
      http_(std::make_unique<HttpClient>(process_->port())) {}

IntegrationServer::~IntegrationServer() = default;

Session& IntegrationServer::session(std::unique_ptr<Session>& slot, const char* email, const char* role) {
  if (!slot) {
    Account account;
    try {
      account = add_account(email, role, std::string("Fixture ") + role);
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).find("already exists") == std::string::npos) {
        throw;
      }
      // A database an earlier server of the fixture made (Options::database_url): its account.
      account.id = query_text(database_url(), "SELECT id FROM users WHERE email = ?", email);
      account.token = http().login(email, kTestPassword);
    }
    slot = std::make_unique<Session>(port(), std::move(account));
  }
  return *slot;
}

Session& IntegrationServer::as_user() {
  return session(user_, kFixtureUserEmail, "user");
}

Session& IntegrationServer::as_ml_admin() {
  return session(ml_admin_, kFixtureMlAdminEmail, "ml_admin");
}

Session& IntegrationServer::as_admin() {
  return session(admin_, kFixtureAdminEmail, "admin");
}

Account IntegrationServer::add_account(const std::string& email, const std::string& role,
                                       const std::string& name) {
  return test::add_account(*process_, email, kTestPassword, role, name);
}

JobWatcher& IntegrationServer::jobs() {
  if (!jobs_) {
    jobs_ = std::make_unique<JobWatcher>(port(), ml_admin().token);
  }
  return *jobs_;
}

json::value IntegrationServer::start_job(const std::string& path, const std::string& body,
                                         const std::string& token) {
  jobs();  // the stream is open before the job exists: not one of its events is missed
  auto res = http_->post(path, body, token);
  EXPECT_EQ(res.status, 202) << path << " " << body << " -> " << res.body;
  auto job = res.json();
  if (res.status != 202 || !job.is_object()) {
    return json::value();
  }
  const auto status = str(job, "status");
  EXPECT_TRUE(status == "queued" || status == "running") << status;
  EXPECT_EQ(res.header("location"), job_path(str(job, "id")));
  return job;
}

json::value IntegrationServer::wait_for_job(const std::string& id, const JobWatcher::JobPredicate& pred,
                                            std::chrono::milliseconds deadline, const std::string& what) {
  return jobs().wait_for_job(id, pred, deadline, what);
}

json::value IntegrationServer::wait_finished(const std::string& id, std::chrono::milliseconds deadline) {
  return jobs().wait_finished(id, deadline);
}

json::value IntegrationServer::run_job(const std::string& path, const std::string& body,
                                       const std::string& token) {
  const auto job = start_job(path, body, token);
  return job.is_object() ? wait_finished(str(job, "id")) : json::value();
}

json::value IntegrationServer::get_job(const std::string& id, const std::string& token) {
  auto res = http_->get(job_path(id), token);
  EXPECT_EQ(res.status, 200) << res.body;
  return res.json();
}

std::optional<int> IntegrationServer::stop(int signal, std::chrono::milliseconds deadline) {
  return process_->stop(signal, deadline);
}

void IntegrationServer::restart(ServerProcess::Options options) {
  jobs_.reset();
  process_->stop(SIGKILL);  // nothing when it was stopped already
  options.database_url = process_->database_url();
  retired_.push_back(std::move(process_));
  process_ = std::make_unique<ServerProcess>(std::move(options));
  http_ = std::make_unique<HttpClient>(port());
  for (auto* slot : {&user_, &ml_admin_, &admin_}) {
    if (*slot) {
      *slot = std::make_unique<Session>(port(), (*slot)->account());
    }
  }
}

}  // namespace mladmin::test

// `mladmin sync` and `mladmin jobs` against a server behind a TLS-terminating proxy (README.md "Syncs
// from the command line", issue 14): with `--url https://…` and the proxy's certificate trusted through
// `--ca-file` (or MLADMIN_CA_FILE) a followed sync starts, streams its progress through the proxy and
// ends completed; `jobs` lists and `jobs --follow` shows a job live; a certificate nobody trusts is
// refused in one line with a non-zero exit, before anything is sent.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/fixture.hpp"
#include "support/seed.hpp"
#include "support/text.hpp"
#include "support/tls_proxy.hpp"

namespace mladmin::test {
namespace {

using namespace std::chrono_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class CliTlsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    certificate_ = make_test_certificate(dir_);
    proxy_ = std::make_unique<TlsProxy>(server().port(), certificate_);
    token_ = server().ml_admin().token;
  }

  /// `args` plus --url of the proxy (and --ca-file of its certificate when `trusted`).
  std::vector<std::string> cli(std::vector<std::string> args, bool trusted = true) const {
    args.insert(args.end(), {"--url", proxy_->url()});
    if (trusted) {
      args.insert(args.end(), {"--ca-file", certificate_.cert});
    }
    return args;
  }

  std::map<std::string, std::string> env() const { return {{"MLADMIN_TOKEN", token_}}; }

  void seed_entries(std::size_t count) {
    seed_journal_entries(server().database_url(), server().ml_admin().id, count, "tls-");
  }

  TempDir dir_;
  TestCertificate certificate_;
  std::unique_ptr<TlsProxy> proxy_;
  std::string token_;
};

TEST_F(CliTlsTest, SyncFollowOverHttpsStartsTheJobAndFollowsItToCompletion) {
  ASSERT_EQ(proxy_->url().rfind("https://127.0.0.1:", 0), 0u) << proxy_->url();
  seed_entries(3000);
  const auto r = run_mladmin(
      cli({"sync", "journal_entries", "--mode", "full", "--follow", "--interval", "0.05"}), "", env(), 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << proxy_->log();
  const auto lines = text_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r.err;
  // "TIMESTAMP job ID journal_entries queued …" first, the completed line last.
  const auto start = lines.front().find(" job ");
  ASSERT_NE(start, std::string::npos) << lines.front();
  const auto id = lines.front().substr(start + 5, 36);
  EXPECT_TRUE(contains(lines.back(), " job " + id + " journal_entries completed 100% 3000/3000 synced=3000 "))
      << r.out;
  EXPECT_EQ(r.err, "") << "no notices: the stream through the proxy did not drop";

  // The server agrees: the job the CLI started over https completed.
  const auto job = server().get_job(id, token_);
  EXPECT_EQ(str(job, "status"), "completed");
  EXPECT_EQ(num(job, "syncedItems"), 3000);
}

TEST_F(CliTlsTest, JobsOverHttpsListsAndFollowsWithTheCaFromTheEnvironment) {
  seed_entries(200);
  const auto done = server().run_job(kJournalSync, R"({"mode":"full"})", token_);
  const auto first = str(done, "id");

  // MLADMIN_CA_FILE instead of --ca-file.
  auto environment = env();
  environment["MLADMIN_CA_FILE"] = certificate_.cert;
  const auto list = run_mladmin(cli({"jobs"}, false), "", environment);
  ASSERT_EQ(list.exit_code, 0) << list.out << list.err;
  const auto lines = text_lines(list.out);
  ASSERT_EQ(lines.size(), 2u) << list.out;
  EXPECT_EQ(lines[1].rfind(first + "  journal_entries  completed", 0), 0u) << lines[1];
  EXPECT_TRUE(contains(lines[1], "100%  200/200")) << lines[1];

  // The event stream through the proxy delivers a job started while `jobs --follow` runs.
  MladminChild follow(cli({"jobs", "--follow"}), env());
  ASSERT_TRUE(follow.wait_for_output(first + "  journal_entries  completed")) << follow.out() << follow.err();
  const auto second = server().start_job(kJournalSync, R"({"mode":"full"})", token_);
  ASSERT_TRUE(second.is_object());
  const auto id = str(second, "id");
  ASSERT_TRUE(follow.wait_for_output(" job " + id + " journal_entries completed 100% 200/200 "))
      << follow.out() << follow.err() << proxy_->log();
  follow.signal(SIGINT);
  EXPECT_EQ(follow.wait(10s), 0) << follow.out() << follow.err();
  EXPECT_EQ(follow.err(), "");
}

TEST_F(CliTlsTest, AnUntrustedCertificateIsRefusedInOneLineWithANonZeroExit) {
  const auto jobs_before =
      server().as_ml_admin().get("/api/ml/sync/jobs").json().at("items").as_array().size();
  for (const auto& args :
       {std::vector<std::string>{"jobs"}, std::vector<std::string>{"jobs", "--follow"},
        std::vector<std::string>{"sync", "goals"}, std::vector<std::string>{"sync", "goals", "--follow"}}) {
    // Only the system's CA store, which does not hold the test's certificate.
    const auto r = run_mladmin(cli(args, false), "", env());
    EXPECT_EQ(r.exit_code, 1) << args.back() << ": " << r.out << r.err;
    EXPECT_EQ(r.out, "");
    ASSERT_EQ(text_lines(r.err).size(), 1u) << "one line: " << r.err;
    EXPECT_TRUE(contains(r.err, "cannot reach " + proxy_->url() + ": its TLS certificate is not trusted"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "--ca-file")) << "says how to trust a private CA: " << r.err;
    EXPECT_FALSE(contains(r.err, token_));
  }
  // Nothing got through: no job was started.
  EXPECT_EQ(server().as_ml_admin().get("/api/ml/sync/jobs").json().at("items").as_array().size(),
            jobs_before);

  // Another certificate than the proxy's, given as the CA: refused too.
  TempDir other_dir;
  const auto other = make_test_certificate(other_dir, "other");
  const auto wrong_ca = run_mladmin({"jobs", "--url", proxy_->url(), "--ca-file", other.cert}, "", env());
  EXPECT_EQ(wrong_ca.exit_code, 1) << wrong_ca.out << wrong_ca.err;
  EXPECT_TRUE(contains(wrong_ca.err, "its TLS certificate is not trusted")) << wrong_ca.err;

  // A CA file that cannot be read is said as such.
  const auto missing = run_mladmin(cli({"jobs"}, false), "", [&] {
    auto e = env();
    e["MLADMIN_CA_FILE"] = dir_.file("no-such.pem");
    return e;
  }());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "cannot read the CA file " + dir_.file("no-such.pem"))) << missing.err;
}

}  // namespace
}  // namespace mladmin::test

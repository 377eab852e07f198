// The web dashboard served by the binary (README.md "The web dashboard"): the files built from web/ and
// embedded at build time, over real HTTP. index.html at / and at the app's own routes, hashed assets cached
// for good, gzip when the client takes it, ETag and 304, HEAD, the security headers, 404 and 405 where they
// belong, the API's JSON 404 untouched, and nothing ever served from outside the embedded set.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixture.hpp"

extern char** environ;

namespace mladmin::test {
namespace {

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
constexpr const char* kImmutable = "public, max-age=31536000, immutable";

/// `gzip -d` of `bytes`, by the real gzip command (the binary has no inflate of its own).
std::string gunzip(const std::string& bytes) {
  TempDir dir;
  const auto in = dir.file("in.gz");
  const auto out = dir.file("out");
  { std::ofstream(in, std::ios::binary) << bytes; }
  const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  std::vector<std::string> args{"gzip", "-d", "-c", in};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, "gzip", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_fd);
  if (rc != 0) {
    ADD_FAILURE() << "cannot run gzip";
    return "";
  }
  const auto code = wait_for_exit(pid, std::chrono::seconds(30));
  EXPECT_EQ(code, 0) << "gzip -d failed";
  std::ostringstream text;
  text << std::ifstream(out, std::ios::binary).rdbuf();
  return text.str();
}

class DashboardTest : public SharedIntegrationTest {
 protected:
  void SetUp() override { client_ = std::make_unique<HttpClient>(server().port()); }

  HttpResponse get(const std::string& target, const HttpClient::Headers& headers = {}) {
    return client_->request("GET", target, "", headers);
  }

  /// The page's script (vite names it assets/index-HASH.js), read from index.html.
  std::string script_path() {
    const auto index = get("/").body;
    const std::string marker = "<script type=\"module\" crossorigin src=\"";
    const auto start = index.find(marker);
    const auto end = start == std::string::npos ? start : index.find('"', start + marker.size());
    if (end == std::string::npos) {
      ADD_FAILURE() << "no script in index.html: " << index;
      return "/assets/missing.js";
    }
    return index.substr(start + marker.size(), end - start - marker.size());
  }

  static void expect_security_headers(const HttpResponse& res, const std::string& what) {
    EXPECT_EQ(res.header("content-security-policy"), kCsp) << what;
    EXPECT_EQ(res.header("x-content-type-options"), "nosniff") << what;
    EXPECT_EQ(res.header("referrer-policy"), "no-referrer") << what;
  }

  std::unique_ptr<HttpClient> client_;
};

TEST_F(DashboardTest, RootServesIndexHtmlUncachedWithSecurityHeaders) {
  const auto res = get("/");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(res.header("cache-control"), "no-cache");
  EXPECT_NE(res.body.find("<div id=\"root\">"), std::string::npos) << res.body;
  EXPECT_FALSE(res.header("etag").empty());
  expect_security_headers(res, "/");
  EXPECT_EQ(get("/index.html").body, res.body);
}

TEST_F(DashboardTest, AppRoutesServeIndexHtml) {
  const auto index = get("/").body;
  for (const char* target : {"/sync", "/documents?q=x", "/users/123", "/users/123/", "/stats"}) {
    const auto res = get(target);
    EXPECT_EQ(res.status, 200) << target;
    EXPECT_EQ(res.body, index) << target;
    EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8") << target;
    EXPECT_EQ(res.header("cache-control"), "no-cache") << target;
    expect_security_headers(res, target);
  }
}

TEST_F(DashboardTest, AssetIsImmutableWithItsContentType) {
  const auto path = script_path();
  const auto res = get(path);
  ASSERT_EQ(res.status, 200) << path;
  EXPECT_EQ(res.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(res.header("cache-control"), kImmutable);
  EXPECT_GT(res.body.size(), 1000u);
  EXPECT_EQ(res.header("content-encoding"), "");
  EXPECT_EQ(res.header("vary"), "Accept-Encoding");
  expect_security_headers(res, path);
}

TEST_F(DashboardTest, GzipIsServedWhenAcceptedAndDecompressesToTheFile) {
  for (const auto& path : {script_path(), std::string("/")}) {
    const auto plain = get(path);
    const auto packed = get(path, {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_EQ(packed.status, 200) << path;
    EXPECT_EQ(packed.header("content-encoding"), "gzip") << path;
    EXPECT_EQ(packed.header("vary"), "Accept-Encoding") << path;
    EXPECT_EQ(packed.header("content-type"), plain.header("content-type")) << path;
    EXPECT_NE(packed.header("etag"), plain.header("etag")) << path;
    EXPECT_LT(packed.body.size(), plain.body.size()) << path;
    EXPECT_EQ(packed.header("content-length"), std::to_string(packed.body.size())) << path;
    EXPECT_EQ(gunzip(packed.body), plain.body) << path;
    // Refused by weight: the file as it is.
    const auto refused = get(path, {{"Accept-Encoding", "gzip;q=0, identity"}});
    EXPECT_EQ(refused.header("content-encoding"), "") << path;
    EXPECT_EQ(refused.body, plain.body) << path;
  }
}

TEST_F(DashboardTest, MatchingIfNoneMatchAnswers304) {
  for (const auto& path : {script_path(), std::string("/"), std::string("/sync")}) {
    for (const char* encoding : {"identity", "gzip"}) {
      const auto first = get(path, {{"Accept-Encoding", encoding}});
      const auto etag = first.header("etag");
      ASSERT_FALSE(etag.empty()) << path;
      const auto again = get(path, {{"Accept-Encoding", encoding}, {"If-None-Match", etag}});
      EXPECT_EQ(again.status, 304) << path << " " << encoding;
      EXPECT_TRUE(again.body.empty()) << path;
      EXPECT_EQ(again.header("etag"), etag) << path;
      EXPECT_EQ(again.header("cache-control"), first.header("cache-control")) << path;
      expect_security_headers(again, path);
      const auto changed = get(path, {{"Accept-Encoding", encoding}, {"If-None-Match", "\"0000\""}});
      EXPECT_EQ(changed.status, 200) << path;
      EXPECT_EQ(changed.body, first.body) << path;
    }
  }
  // The connection is still usable after a 304 (it carried no body).
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(DashboardTest, HeadAnswersTheHeadersWithoutTheBody) {
  for (const auto& path : {std::string("/"), script_path(), std::string("/users/7")}) {
    const auto full = get(path);
    const auto head = client_->request("HEAD", path);
    EXPECT_EQ(head.status, 200) << path;
    EXPECT_TRUE(head.body.empty()) << path;
    EXPECT_EQ(head.header("content-length"), std::to_string(full.body.size())) << path;
    EXPECT_EQ(head.header("content-type"), full.header("content-type")) << path;
    EXPECT_EQ(head.header("etag"), full.header("etag")) << path;
    expect_security_headers(head, path);
  }
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(DashboardTest, MissingAssetIsNotFoundRatherThanThePage) {
  for (const char* target : {"/assets/index-00000000.js", "/assets/", "/assets/x/y.css"}) {
    const auto res = get(target);
    EXPECT_EQ(res.status, 404) << target;
    EXPECT_EQ(res.error_code(), "not_found") << target << " " << res.body;
    EXPECT_EQ(res.body.find("<html"), std::string::npos) << target;
  }
}

TEST_F(DashboardTest, UnknownApiPathKeepsItsJson404) {
  for (const auto& [method, target] : {std::pair{"GET", "/api/nope"}, std::pair{"POST", "/api/nothing/here"},
                                       std::pair{"GET", "/api"}, std::pair{"HEAD", "/api/x"}}) {
    const auto res = client_->request(method, target);
    EXPECT_EQ(res.status, 404) << method << " " << target;
    EXPECT_EQ(res.header("content-type"), "application/json") << target;
    EXPECT_EQ(res.header("content-security-policy"), "") << target;
    if (std::string(method) != "HEAD") {
      EXPECT_EQ(res.error_code(), "not_found") << target << " " << res.body;
    }
  }
}

TEST_F(DashboardTest, OtherMethodsOnDashboardPathsAreNotAllowed) {
  for (const auto& [method, target] :
       {std::pair{"POST", "/"}, std::pair{"PUT", "/sync"}, std::pair{"DELETE", "/assets/index-00000000.js"},
        std::pair{"PATCH", "/index.html"}}) {
    const auto res = client_->request(method, target, "{}");
    EXPECT_EQ(res.status, 405) << method << " " << target;
    EXPECT_EQ(res.header("allow"), "GET, HEAD") << method << " " << target;
    EXPECT_EQ(res.error_code(), "method_not_allowed") << res.body;
  }
}

TEST_F(DashboardTest, OperationalEndpointsStillAnswer) {
  EXPECT_EQ(get("/healthz").json().at("status").as_string(), "ok");
  EXPECT_EQ(get("/readyz").status, 200);
  const auto metrics = get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("mladmin_http_requests_total"), std::string::npos);
  EXPECT_EQ(metrics.header("content-security-policy"), "");
}

TEST_F(DashboardTest, TraversalNeverReachesOutsideTheEmbeddedFiles) {
  const auto index = get("/").body;
  const auto script = get(script_path()).body;
  for (const char* target :
       {"/../CMakeLists.txt", "/../../../../etc/passwd", "/assets/../../CMakeLists.txt", "/assets/%2e%2e/x",
        "/assets/%2e%2e/%2e%2e/CMakeLists.txt", "/%2e%2e/%2e%2e/etc/passwd",
        "/assets%2f..%2f..%2fCMakeLists.txt", "/..%2fCMakeLists.txt", "/..%5c..%5cCMakeLists.txt",
        "/assets/..%5cindex.html", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/assets/.%2e/index.html",
        "/web/package.json", "/src/main.tsx", "/index.html%00.js", "//etc/passwd", "/assets//etc/passwd"}) {
    const auto res = get(target);
    // Either refused, or the page itself for what looks like an app route: never another file.
    EXPECT_TRUE(res.status == 404 || res.status == 400 || (res.status == 200 && res.body == index))
        << target << " -> " << res.status << " " << res.body.substr(0, 200);
    EXPECT_EQ(res.body.find("cmake_minimum_required"), std::string::npos) << target;
    EXPECT_EQ(res.body.find("root:"), std::string::npos) << target;
    EXPECT_EQ(res.body.find("\"dependencies\""), std::string::npos) << target;
  }
  // Dot segments are refused outright rather than resolved to a file.
  for (const char* target : {"/assets/%2e%2e/index.html", "/sync/../index.html", "/./index.html"}) {
    EXPECT_EQ(get(target).status, 404) << target;
  }
  // An encoded slash decodes to a real one: the same embedded file, nothing more.
  const auto encoded = get("/assets%2f" + script_path().substr(std::string("/assets/").size()));
  EXPECT_EQ(encoded.status, 200);
  EXPECT_EQ(encoded.body, script);
}

}  // namespace
}  // namespace mladmin::test

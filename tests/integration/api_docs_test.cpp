// The API's description served by the binary: GET /api/openapi.json (docs/openapi.yaml converted
// to JSON at build time) and the Swagger UI page at /api/docs with its bundled files, without a
// token and under the dashboard's Content-Security-Policy. That the page renders is checked in
// Chromium by web/e2e/api_docs.test.mjs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "support/fixture.hpp"

namespace mladmin::test {
namespace {

TEST(ApiDocsTest, OpenApiDocumentIsServedWithoutAToken) {
  IntegrationServer server;
  auto& client = server.http();
  const auto res = client.get("/api/openapi.json");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("content-type").rfind("application/json", 0), 0u) << res.header("content-type");
  const auto doc = res.json();
  ASSERT_TRUE(doc.is_object()) << res.body.substr(0, 200);
  EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
  const auto& job = doc.at("paths").at("/api/ml/sync/job/{jobId}").at("get").as_object();
  EXPECT_EQ(job.at("x-mladmin-role").as_string(), "user");
  EXPECT_TRUE(doc.at("components").at("schemas").as_object().contains("Job"));
}

TEST(ApiDocsTest, ViewerPageAndItsBundledFilesAreServedUnderTheCsp) {
  IntegrationServer server;
  auto& client = server.http();
  const auto page = client.get("/api/docs");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.header("content-type").rfind("text/html", 0), 0u);
  EXPECT_NE(page.header("content-security-policy").find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos) << "no inline script";
  for (const char* file :
       {"/api-docs/swagger-ui-bundle.js", "/api-docs/init.js", "/api-docs/swagger-ui.css"}) {
    EXPECT_NE(page.body.find(file), std::string::npos) << file;
    const auto res = client.get(file);
    EXPECT_EQ(res.status, 200) << file;
    EXPECT_GT(res.body.size(), 100u) << file;
  }
  EXPECT_NE(client.get("/api-docs/init.js").body.find("/api/openapi.json"), std::string::npos);
}

}  // namespace
}  // namespace mladmin::test

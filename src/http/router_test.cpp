#include "http/router.hpp"

#include <gtest/gtest.h>

namespace mladmin::http {

namespace {

Response tagged(const char* tag) {
  Response r;
  r.body = tag;
  return r;
}

Router sample() {
  Router r;
  r.add("GET", "/api/users/:id", [](Request&) { return tagged("get"); });
  r.add("PATCH", "/api/users/:id", [](Request&) { return tagged("patch"); });
  r.add("POST", "/api/users/bulk", [](Request&) { return tagged("bulk"); });
  return r;
}

}  // namespace

TEST(RouterTest, CapturesPathParameters) {
  auto router = sample();
  Request req;
  req.method = "GET";
  req.path = "/api/users/42";
  auto m = router.match(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ((*m.handler)(req).body, "get");
  EXPECT_EQ(req.param("id"), "42");
}

TEST(RouterTest, LiteralRouteWinsForItsMethod) {
  auto router = sample();
  Request req;
  req.method = "POST";
  req.path = "/api/users/bulk";
  auto m = router.match(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ((*m.handler)(req).body, "bulk");
}

TEST(RouterTest, WrongMethodListsTheAllowedOnes) {
  auto router = sample();
  Request req;
  req.method = "DELETE";
  req.path = "/api/users/42";
  auto m = router.match(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "PATCH"}));
}

TEST(RouterTest, UnknownPathMatchesNothing) {
  auto router = sample();
  Request req;
  req.method = "GET";
  req.path = "/api/users/42/extra";
  auto m = router.match(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.allowed.empty());
}

TEST(RouterTest, HeadIsServedByGet) {
  auto router = sample();
  Request req;
  req.method = "HEAD";
  req.path = "/api/users/7/";
  EXPECT_NE(router.match(req).handler, nullptr);
}

TEST(RouterTest, MatchCarriesTheRouteOptions) {
  Router router;
  RouteOptions upload;
  upload.max_body_bytes = 4096;
  upload.spool_body = true;
  router.add(
      "POST", "/api/import", [](Request&) { return tagged("import"); }, upload);
  router.add("GET", "/api/import", [](Request&) { return tagged("plain"); });
  Request post;
  post.method = "POST";
  post.path = "/api/import";
  Request get;
  get.method = "GET";
  get.path = "/api/import";
  Request nowhere;
  nowhere.method = "POST";
  nowhere.path = "/api/elsewhere";

  const auto m = router.match(post);

  ASSERT_NE(m.options, nullptr);
  EXPECT_EQ(m.options->max_body_bytes, 4096u);
  EXPECT_TRUE(m.options->spool_body);
  ASSERT_NE(router.match(get).options, nullptr);
  EXPECT_FALSE(router.match(get).options->spool_body);
  EXPECT_EQ(router.match(get).options->max_body_bytes, 0u);
  EXPECT_EQ(router.match(nowhere).options, nullptr);
}

TEST(RouterFallbackTest, GetAndHeadOfAnUnroutedPathGoToTheFallback) {
  auto router = sample();
  router.set_fallback("/*", "api", [](Request&) { return tagged("static"); });
  for (const char* method : {"GET", "HEAD"}) {
    for (const char* path : {"/", "/sync", "/users/123", "/assets/x.js"}) {
      Request req;
      req.method = method;
      req.path = path;
      auto m = router.match(req);
      ASSERT_NE(m.handler, nullptr) << method << " " << path;
      EXPECT_EQ((*m.handler)(req).body, "static");
      EXPECT_EQ(req.route, "/*");
      EXPECT_NE(m.options, nullptr);
    }
  }
}

TEST(RouterFallbackTest, RoutesWinOverTheFallback) {
  auto router = sample();
  router.set_fallback("/*", "api", [](Request&) { return tagged("static"); });
  Request req;
  req.method = "GET";
  req.path = "/api/users/42";
  EXPECT_EQ((*router.match(req).handler)(req).body, "get");
}

TEST(RouterFallbackTest, ReservedSegmentKeepsItsUnknownPathsUnmatched) {
  auto router = sample();
  router.set_fallback("/*", "api", [](Request&) { return tagged("static"); });
  for (const char* path : {"/api", "/api/nope", "//api/users/42/extra"}) {
    for (const char* method : {"GET", "POST"}) {
      Request req;
      req.method = method;
      req.path = path;
      auto m = router.match(req);
      EXPECT_EQ(m.handler, nullptr) << method << " " << path;
      EXPECT_TRUE(m.allowed.empty()) << method << " " << path;
    }
  }
}

TEST(RouterFallbackTest, OtherMethodsOnTheFallbackAreNotAllowed) {
  auto router = sample();
  router.set_fallback("/*", "api", [](Request&) { return tagged("static"); });
  Request req;
  req.method = "POST";
  req.path = "/";
  auto m = router.match(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "HEAD"}));
}

}  // namespace mladmin::http

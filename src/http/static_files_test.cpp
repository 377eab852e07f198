#include "http/static_files.hpp"

#include <gtest/gtest.h>

#include <array>

namespace mladmin::http {

namespace {

const std::array<EmbeddedWebFile, 4> kFiles{{
    {"assets/app-1a2b.js", "console.log(1)", "GZ-JS", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbb"},
    {"assets/logo-9f.png", "PNG", "", "cccccccccccccccccccccccccccccccccccccccc"},
    {"favicon.svg", "<svg/>", "", "dddddddddddddddddddddddddddddddddddddddd"},
    {"index.html", "<!doctype html>", "GZ-HTML", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeffffffff"},
}};

Request get(std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request req;
  req.method = "GET";
  req.path = std::move(path);
  req.headers = std::move(headers);
  return req;
}

std::string header_of(const Response& res, std::string_view name) {
  for (const auto& [n, v] : res.headers) {
    if (n == name) {
      return v;
    }
  }
  return "";
}

}  // namespace

TEST(StaticFilesLookupTest, FindsFilesByExactName) {
  const StaticFiles files(kFiles);
  EXPECT_EQ(files.find("/assets/app-1a2b.js").file, &kFiles[0]);
  EXPECT_EQ(files.find("/favicon.svg").file, &kFiles[2]);
  EXPECT_EQ(files.find("/index.html").file, &kFiles[3]);
  EXPECT_FALSE(files.find("/index.html").fallback);
  EXPECT_EQ(files.find("/").file, &kFiles[3]);
  EXPECT_FALSE(files.find("/").fallback);
}

TEST(StaticFilesLookupTest, AppRoutesFallBackToIndex) {
  const StaticFiles files(kFiles);
  for (const char* path :
       {"/sync", "/documents", "/users/123", "/users/123/", "/stats/x.y", "/assetsx/a.js"}) {
    const auto found = files.find(path);
    EXPECT_EQ(found.file, &kFiles[3]) << path;
    EXPECT_TRUE(found.fallback) << path;
  }
}

TEST(StaticFilesLookupTest, MissingAssetIsNotFound) {
  const StaticFiles files(kFiles);
  for (const char* path : {"/assets/app-0000.js", "/assets", "/assets/", "/assets/app-1a2b.js/x"}) {
    EXPECT_EQ(files.find(path).file, nullptr) << path;
  }
}

TEST(StaticFilesLookupTest, DotSegmentsAndOddBytesFindNothing) {
  using namespace std::string_view_literals;
  const StaticFiles files(kFiles);
  for (const auto path : {"/../CMakeLists.txt"sv, "/assets/../index.html"sv, "/./index.html"sv, "/sync/.."sv,
                          "/a/./b"sv, "/.."sv, "/assets\\app-1a2b.js"sv, "/x\\..\\y"sv, "/index.html\0"sv,
                          "/\x01"sv, "index.html"sv, ""sv}) {
    EXPECT_EQ(files.find(path).file, nullptr) << path;
  }
}

TEST(StaticFilesLookupTest, NoIndexMeansNoFallback) {
  const StaticFiles files(std::span<const EmbeddedWebFile>(kFiles).first(2));
  EXPECT_EQ(files.find("/sync").file, nullptr);
  EXPECT_EQ(files.find("/").file, nullptr);
  EXPECT_EQ(files.find("/assets/logo-9f.png").file, &kFiles[1]);
}

TEST(StaticFilesTest, ContentTypeFollowsTheExtension) {
  EXPECT_EQ(content_type_of("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_of("assets/a-1.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of("assets/a-1.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_of("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_of("data.json"), "application/json");
  EXPECT_EQ(content_type_of("f.woff2"), "font/woff2");
  EXPECT_EQ(content_type_of("README"), "application/octet-stream");
  EXPECT_EQ(content_type_of("dir.js/README"), "application/octet-stream");
}

TEST(StaticFilesTest, GzipIsAcceptedWhenListedWithAWeight) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("x-gzip"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("identity, *;q=0.1"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzipx"));
}

TEST(StaticFilesTest, EtagMatchingIsWeak) {
  EXPECT_TRUE(matches_etag("\"abc\"", "\"abc\""));
  EXPECT_TRUE(matches_etag("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(matches_etag("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(matches_etag("*", "\"abc\""));
  EXPECT_FALSE(matches_etag("\"abd\"", "\"abc\""));
  EXPECT_FALSE(matches_etag("abc", "\"abc\""));
  EXPECT_FALSE(matches_etag("", "\"abc\""));
}

TEST(StaticFilesTest, ServesAnAssetImmutableWithSecurityHeaders) {
  const StaticFiles files(kFiles);
  const auto res = files.serve(get("/assets/app-1a2b.js"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "console.log(1)");
  EXPECT_EQ(res.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header_of(res, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header_of(res, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header_of(res, "Content-Encoding"), "");
  EXPECT_EQ(header_of(res, "ETag"), "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
  EXPECT_NE(header_of(res, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(header_of(res, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header_of(res, "X-Content-Type-Options"), "nosniff");
}

TEST(StaticFilesTest, ServesTheGzipCopyWithItsOwnEtag) {
  const StaticFiles files(kFiles);
  const auto res = files.serve(get("/assets/app-1a2b.js", {{"accept-encoding", "gzip, br"}}));
  EXPECT_EQ(res.body, "GZ-JS");
  EXPECT_EQ(header_of(res, "Content-Encoding"), "gzip");
  EXPECT_EQ(header_of(res, "ETag"), "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-gzip\"");
  // A file without a gzip copy is sent as it is, and does not vary.
  const auto png = files.serve(get("/assets/logo-9f.png", {{"accept-encoding", "gzip"}}));
  EXPECT_EQ(png.body, "PNG");
  EXPECT_EQ(header_of(png, "Content-Encoding"), "");
  EXPECT_EQ(header_of(png, "Vary"), "");
}

TEST(StaticFilesTest, AppRouteServesIndexUncached) {
  const StaticFiles files(kFiles);
  const auto res = files.serve(get("/users/123"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "<!doctype html>");
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header_of(res, "Cache-Control"), "no-cache");
}

TEST(StaticFilesTest, MatchingIfNoneMatchAnswers304WithoutBody) {
  const StaticFiles files(kFiles);
  const auto first = files.serve(get("/", {{"accept-encoding", "gzip"}}));
  const auto again =
      files.serve(get("/", {{"accept-encoding", "gzip"}, {"if-none-match", header_of(first, "ETag")}}));
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(header_of(again, "ETag"), header_of(first, "ETag"));
  EXPECT_EQ(header_of(again, "Cache-Control"), "no-cache");
  // The gzip copy's tag does not validate the plain file.
  EXPECT_EQ(files.serve(get("/", {{"if-none-match", header_of(first, "ETag")}})).status, 200);
}

TEST(StaticFilesTest, MissingFileIsA404WithSecurityHeaders) {
  const StaticFiles files(kFiles);
  const auto res = files.serve(get("/assets/gone-1.js"));
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_NE(res.body.find("not_found"), std::string::npos);
  EXPECT_NE(header_of(res, "Content-Security-Policy"), "");
}

}  // namespace mladmin::http

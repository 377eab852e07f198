// The route table (routes.cpp) and the API's description (docs/openapi.yaml, embedded as
// api-docs/openapi.json by the dashboard's build) agree both ways: every route is described with
// its method, path and role (x-mladmin-role), and every described operation is a route.
#include "api/routes.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <set>
#include <span>
#include <string>

#include "util/embedded.hpp"

namespace mladmin::dashboard {
std::span<const EmbeddedWebFile> files();
}  // namespace mladmin::dashboard

namespace mladmin::api {
namespace {

boost::json::object openapi_document() {
  for (const auto& f : dashboard::files()) {
    if (f.name == "api-docs/openapi.json") {
      return boost::json::parse(f.data).as_object();
    }
  }
  ADD_FAILURE() << "the dashboard's build holds no api-docs/openapi.json";
  return {};
}

/// "/api/ml/sync/job/:jobId" as OpenAPI writes it: "/api/ml/sync/job/{jobId}".
std::string openapi_path(const std::string& route) {
  std::string out;
  bool param = false;
  for (char c : route) {
    if (c == ':') {
      out += '{';
      param = true;
    } else if (c == '/' && param) {
      out += "}/";
      param = false;
    } else {
      out += c;
    }
  }
  return param ? out + "}" : out;
}

std::string lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return s;
}

TEST(RoutesTest, OpenApiPathConvertsParameters) {
  EXPECT_EQ(openapi_path("/api/ml/sync/job/:jobId/errors"), "/api/ml/sync/job/{jobId}/errors");
  EXPECT_EQ(openapi_path("/api/goals/:id"), "/api/goals/{id}");
  EXPECT_EQ(openapi_path("/healthz"), "/healthz");
}

TEST(RoutesTest, EveryRouteIsDescribedWithItsRole) {
  const auto doc = openapi_document();
  ASSERT_TRUE(doc.contains("paths"));
  const auto& paths = doc.at("paths").as_object();
  const auto routes = route_table();
  EXPECT_GT(routes.size(), 30u);
  for (const auto& r : routes) {
    const auto path = openapi_path(r.path);
    const auto* item = paths.if_contains(path);
    if (item == nullptr) {
      ADD_FAILURE() << r.method << " " << r.path << " is a route that docs/openapi.yaml does not describe";
      continue;
    }
    const auto* op = item->as_object().if_contains(lower(r.method));
    if (op == nullptr) {
      ADD_FAILURE() << r.method << " " << path
                    << " is a route; docs/openapi.yaml has the path but not the method";
      continue;
    }
    const auto* role = op->as_object().if_contains("x-mladmin-role");
    ASSERT_NE(role, nullptr) << r.method << " " << path << " has no x-mladmin-role";
    EXPECT_EQ(std::string(role->as_string()), std::string(to_string(r.access))) << r.method << " " << path;
  }
}

TEST(RoutesTest, EveryDescribedOperationIsARoute) {
  const auto doc = openapi_document();
  ASSERT_TRUE(doc.contains("paths"));
  std::set<std::pair<std::string, std::string>> declared;
  for (const auto& r : route_table()) {
    declared.emplace(lower(r.method), openapi_path(r.path));
  }
  std::size_t operations = 0;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (method == "parameters" || method == "summary" || method == "description") {
        continue;
      }
      // An operation another branch adds (the ML service status) is described ahead of its route.
      const auto* pending = op.as_object().if_contains("x-mladmin-pending");
      if (pending != nullptr && pending->is_bool() && pending->as_bool()) {
        continue;
      }
      ++operations;
      EXPECT_TRUE(declared.contains({std::string(method), std::string(path)}))
          << method << " " << path << " is described in docs/openapi.yaml but is no route of routes.cpp";
    }
  }
  EXPECT_EQ(operations, declared.size());
}

TEST(RoutesTest, RouteTableHasNoDuplicates) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : route_table()) {
    EXPECT_TRUE(seen.emplace(r.method, r.path).second) << r.method << " " << r.path << " declared twice";
  }
}

}  // namespace
}  // namespace mladmin::api

#include <gtest/gtest.h>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace mladmin::test {

TEST(ServerSmokeTest, HealthzAnswersOkOverHttp) {
  ServerProcess server;
  HttpClient client(server.port());
  auto res = client.get("/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.json().at("status").as_string(), "ok");
}

}  // namespace mladmin::test

#include <gtest/gtest.h>

#include "support/fixture.hpp"

namespace mladmin::test {

TEST(ServerSmokeTest, HealthzAnswersOkOverHttp) {
  IntegrationServer server;
  auto res = server.http().get("/healthz");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.json().at("status").as_string(), "ok");
}

}  // namespace mladmin::test

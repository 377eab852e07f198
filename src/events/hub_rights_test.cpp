// The hub's part in rights that change while a stream is open (docs/security.md): the viewers it
// holds, the count per user, and ending the streams a check picks.
#include <gtest/gtest.h>

#include "events/hub.hpp"

namespace mladmin::events {
namespace {

using Clock = http::BodyStream::Clock;

std::shared_ptr<Subscription> open(Hub& hub, Viewer viewer) {
  return hub.subscribe(
      viewer, std::nullopt, [](const Viewer&) { return std::string(R"({"jobs":[]})"); },
      Clock::now() + std::chrono::hours(1));
}

TEST(HubRightsTest, CloseIfEndsOnlyTheStreamsItPicks) {
  Hub hub;
  auto ann_old = open(hub, Viewer{true, "ann", 1});
  auto ann_new = open(hub, Viewer{true, "ann", 2});
  auto bob = open(hub, Viewer{false, "bob", 7});
  EXPECT_EQ(hub.user_clients("ann"), 2u);
  EXPECT_EQ(hub.user_clients("bob"), 1u);
  EXPECT_EQ(hub.user_clients("cy"), 0u);
  EXPECT_EQ(hub.viewers().size(), 3u);

  // Ann's token version 1 was revoked: only that stream ends.
  EXPECT_EQ(hub.close_if([](const Viewer& v) { return v.user_id == "ann" && v.token_version != 2; }), 1u);
  const auto now = Clock::now();
  EXPECT_TRUE(ann_old->pull(now).done);
  EXPECT_FALSE(ann_new->pull(now).done);
  EXPECT_FALSE(bob->pull(now).done);

  // A detached stream is no longer counted.
  ann_old->detach();
  EXPECT_EQ(hub.user_clients("ann"), 1u);
}

}  // namespace
}  // namespace mladmin::events

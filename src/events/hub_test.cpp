#include "events/hub.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <charconv>
#include <future>
#include <map>
#include <string_view>
#include <thread>

namespace mladmin::events {

namespace {

using namespace std::chrono_literals;
using Clock = http::BodyStream::Clock;

// publish() stamps events with the real steady clock, so windows that the test crosses on purpose
// are long: a scheduler pause between two publishes can never look like a passed window.
constexpr auto kWindow = std::chrono::milliseconds(1h);
constexpr auto kQuiet = std::chrono::milliseconds(10h);  // heartbeat far beyond every window

/// One SSE block as a client parses it.
struct Frame {
  std::optional<std::uint64_t> id;
  std::string event;
  std::string data;
  std::string retry;
  bool comment = false;  ///< the block has a comment line
};

std::uint64_t parse_id(std::string_view text) {
  std::uint64_t id = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  EXPECT_TRUE(ec == std::errc() && ptr == text.data() + text.size()) << "bad id: " << text;
  return id;
}

/// Splits what pull() returned into blocks; every block must be complete (end with a blank line).
std::vector<Frame> parse_sse(std::string_view text) {
  std::vector<Frame> frames;
  while (!text.empty()) {
    const auto end = text.find("\n\n");
    if (end == std::string_view::npos) {
      ADD_FAILURE() << "unterminated block: " << text;
      break;
    }
    std::string_view block = text.substr(0, end);
    text.remove_prefix(end + 2);
    Frame frame;
    while (!block.empty()) {
      const auto nl = block.find('\n');
      const std::string_view line = block.substr(0, nl);
      block.remove_prefix(nl == std::string_view::npos ? block.size() : nl + 1);
      if (line.starts_with(':')) {
        frame.comment = true;
        continue;
      }
      const auto colon = line.find(':');
      const std::string_view name = line.substr(0, colon);
      std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
      if (value.starts_with(' ')) {
        value.remove_prefix(1);
      }
      if (name == "id") {
        EXPECT_FALSE(frame.id) << "two ids in one block";
        frame.id = parse_id(value);
      } else if (name == "event") {
        frame.event = value;
      } else if (name == "data") {
        EXPECT_TRUE(frame.data.empty()) << "the hub sends one data line per event";
        frame.data = value;
      } else if (name == "retry") {
        frame.retry = value;
      } else {
        ADD_FAILURE() << "unknown field: " << line;
      }
    }
    frames.push_back(std::move(frame));
  }
  return frames;
}

/// The data of the `event: job` frames, in order.
std::vector<std::string> job_data(const std::vector<Frame>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) {
    if (f.event == "job") {
      out.push_back(f.data);
    }
  }
  return out;
}

const Frame* find_job_frame(const std::vector<Frame>& frames, std::string_view data) {
  for (const auto& f : frames) {
    if (f.event == "job" && f.data == data) {
      return &f;
    }
  }
  return nullptr;
}

Event make_event(std::string job_id, std::string data, bool status_change, std::string user_id,
                 std::optional<std::string> scope_user_id = std::nullopt) {
  Event e;
  e.job_id = std::move(job_id);
  e.user_id = std::move(user_id);
  e.scope_user_id = std::move(scope_user_id);
  e.status_change = status_change;
  e.data = std::make_shared<const std::string>(std::move(data));
  return e;
}

/// Event data is opaque to the hub; tests use "JOB:tag" so that a frame names its job.
std::uint64_t progress(Hub& hub, const std::string& job, const std::string& tag,
                       const std::string& user = "alice") {
  return hub.publish(make_event(job, job + ":" + tag, false, user, user));  // a sync of the user's records
}

std::uint64_t status(Hub& hub, const std::string& job, const std::string& tag,
                     const std::string& user = "alice") {
  return hub.publish(make_event(job, job + ":" + tag, true, user, user));
}

Viewer user(std::string id) {
  return Viewer{false, std::move(id)};
}

Viewer everyone() {
  return Viewer{true, "root"};
}

HubOptions long_windows() {
  HubOptions o;
  o.coalesce = kWindow;
  o.heartbeat = kQuiet;
  return o;
}

class HubFixture : public ::testing::Test {
 protected:
  /// Subscribes with the counting snapshot; the stream ends far in the future.
  std::shared_ptr<Subscription> open(Hub& hub, const Viewer& viewer,
                                     std::optional<std::uint64_t> last_event_id = std::nullopt) {
    return hub.subscribe(viewer, last_event_id, snapshot_, far_);
  }

  /// Subscribes and takes the preamble (retry hint and snapshot) away at base_.
  std::shared_ptr<Subscription> open_drained(Hub& hub, const Viewer& viewer) {
    auto sub = open(hub, viewer);
    const auto chunk = sub->pull(base_);
    EXPECT_FALSE(chunk.done);
    EXPECT_TRUE(job_data(parse_sse(chunk.bytes())).empty());
    return sub;
  }

  const Clock::time_point base_ = Clock::now();
  const Clock::time_point far_ = base_ + 1000h;
  int snapshots_ = 0;
  std::vector<Viewer> snapshot_viewers_;
  Hub::SnapshotFn snapshot_ = [this](const Viewer& v) {
    ++snapshots_;
    snapshot_viewers_.push_back(v);
    return std::string(R"({"jobs":[{"id":"from-snapshot"}]})");
  };
};

class HubTest : public HubFixture {};
class SubscriptionTest : public HubFixture {};

}  // namespace

// --- Defaults ------------------------------------------------------------------------------

TEST(HubOptionsTest, DefaultsFollowTheSpec) {
  const HubOptions o;
  EXPECT_EQ(o.coalesce, 50ms);
  EXPECT_EQ(o.heartbeat, 15s);
}

// --- Snapshot on a new stream -------------------------------------------------------------

TEST_F(HubTest, NewStreamStartsWithRetryThenSnapshotAtTheLastId) {
  Hub hub(long_windows());
  status(hub, "A", "s1");
  progress(hub, "A", "p1");

  auto sub = open(hub, user("alice"));
  const auto chunk = sub->pull(base_);
  EXPECT_FALSE(chunk.done);
  EXPECT_TRUE(chunk.bytes().starts_with("retry: ")) << chunk.bytes();
  const auto frames = parse_sse(chunk.bytes());
  ASSERT_EQ(frames.size(), 2u) << chunk.bytes();
  EXPECT_FALSE(frames[0].retry.empty());
  EXPECT_TRUE(frames[0].event.empty());
  EXPECT_EQ(frames[1].event, "snapshot");
  EXPECT_EQ(frames[1].data, R"({"jobs":[{"id":"from-snapshot"}]})");
  EXPECT_EQ(frames[1].id, hub.last_id());
  ASSERT_EQ(snapshots_, 1);
  EXPECT_EQ(snapshot_viewers_[0].user_id, "alice");
  EXPECT_FALSE(snapshot_viewers_[0].reads_all);
}

TEST_F(HubTest, PublishersDoNotWaitForASnapshotAndTheirEventsFollowIt) {
  Hub hub(long_windows());
  status(hub, "A", "s1");
  std::uint64_t during = 0;
  bool published_during_snapshot = false;
  std::thread publisher;
  // The snapshot reads the database; a sync worker publishing meanwhile must not wait for it.
  const Hub::SnapshotFn slow_snapshot = [&](const Viewer&) {
    std::promise<std::uint64_t> done;
    auto id = done.get_future();
    publisher = std::thread([&hub, p = std::move(done)]() mutable { p.set_value(status(hub, "B", "s1")); });
    published_during_snapshot = id.wait_for(10s) == std::future_status::ready;
    if (published_during_snapshot) {
      during = id.get();
    }
    return std::string(R"({"jobs":[]})");
  };
  auto sub = hub.subscribe(user("alice"), std::nullopt, slow_snapshot, far_);
  publisher.join();
  EXPECT_TRUE(published_during_snapshot) << "publish waited for the snapshot";
  const auto frames = parse_sse(sub->pull(base_).bytes());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[1].event, "snapshot");
  EXPECT_EQ(frames[2].event, "job");
  EXPECT_EQ(frames[2].data, "B:s1");
  EXPECT_GT(frames[2].id, frames[1].id);
  if (published_during_snapshot) {
    EXPECT_EQ(frames[2].id, during);
  }
}

TEST_F(HubTest, SnapshotOfAnEmptyHubCarriesItsLastId) {
  Hub hub(long_windows());
  auto sub = open(hub, everyone());
  const auto frames = parse_sse(sub->pull(base_).bytes());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].event, "snapshot");
  EXPECT_EQ(frames[1].id, hub.last_id());
  // The next event gets the next id, so a reconnect with the snapshot's id misses nothing.
  const auto next = status(hub, "A", "s1");
  EXPECT_EQ(next, *frames[1].id + 1);
  const auto live = parse_sse(sub->pull(base_ + 1ms).bytes());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].id, next);
}

// --- Progress coalescing ------------------------------------------------------------------

TEST_F(SubscriptionTest, ProgressOfOneJobWaitsForItsDueTimeAndOnlyTheLatestIsSent) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));

  const auto before = Clock::now();
  const auto p1 = progress(hub, "A", "p1");
  progress(hub, "A", "p2");
  const auto p3 = progress(hub, "A", "p3");
  const auto after = Clock::now();

  // The first goes out at once; the rest wait for the window that started with it.
  const auto first = sub->pull(base_ + 10ms);
  auto frames = parse_sse(first.bytes());
  ASSERT_EQ(job_data(frames), std::vector<std::string>{"A:p1"});
  EXPECT_EQ(frames[0].id, p1);
  const auto due = first.next_pull;
  EXPECT_GE(due, before + kWindow);
  EXPECT_LE(due, after + kWindow);

  const auto early = sub->pull(due - 1ns);
  EXPECT_FALSE(early.done);
  EXPECT_EQ(early.bytes(), "");
  EXPECT_EQ(early.next_pull, due);

  const auto on_time = sub->pull(due);
  frames = parse_sse(on_time.bytes());
  ASSERT_EQ(job_data(frames), std::vector<std::string>{"A:p3"});
  EXPECT_EQ(frames[0].id, p3);

  EXPECT_EQ(sub->pull(due + 2 * kWindow).bytes(), "");
}

TEST_F(SubscriptionTest, EachEventHandedToAClientCountsItsWaitSincePublication) {
  Hub hub(long_windows());
  auto first = open_drained(hub, user("alice"));
  auto second = open_drained(hub, user("alice"));
  status(hub, "A", "queued");
  const auto published = Clock::now();  // just after the hub stamped the event
  // Written 15 ms after its publication to one client, 3 ms after it to the other.
  ASSERT_EQ(job_data(parse_sse(first->pull(published + 15ms).bytes())), std::vector<std::string>{"A:queued"});
  ASSERT_EQ(job_data(parse_sse(second->pull(published + 3ms).bytes())), std::vector<std::string>{"A:queued"});
  // A progress event waits for its turn (an hour after the status change here): that wait counts.
  progress(hub, "A", "p1");
  const auto due = first->pull(published + 20ms).next_pull;
  ASSERT_EQ(job_data(parse_sse(first->pull(due).bytes())), std::vector<std::string>{"A:p1"});

  const auto d = hub.delivery_delays();
  ASSERT_EQ(DeliveryDelays::kBounds[1], 0.0025);
  ASSERT_EQ(DeliveryDelays::kBounds[2], 0.005);
  ASSERT_EQ(DeliveryDelays::kBounds[4], 0.02);
  decltype(d.status.buckets) status_buckets{};
  status_buckets[2] = 1;  // (2.5 ms, 5 ms]
  status_buckets[4] = 1;  // (10 ms, 20 ms]
  EXPECT_EQ(d.status.buckets, status_buckets);
  EXPECT_NEAR(d.status.sum_seconds, 0.018, 0.004);
  decltype(d.progress.buckets) progress_buckets{};
  progress_buckets.back() = 1;  // beyond the last bound (1 s)
  EXPECT_EQ(d.progress.buckets, progress_buckets);
  EXPECT_NEAR(d.progress.sum_seconds, std::chrono::duration<double>(kWindow).count(), 1.0);
}

TEST_F(SubscriptionTest, JobsAreCoalescedIndependently) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));

  const auto before = Clock::now();
  progress(hub, "A", "p1");
  progress(hub, "B", "p1");
  progress(hub, "A", "p2");  // waits for A's window
  const auto after = Clock::now();

  // B's first progress is not held back by A's waiting one.
  const auto c1 = sub->pull(base_);
  EXPECT_EQ(job_data(parse_sse(c1.bytes())), (std::vector<std::string>{"A:p1", "B:p1"}));
  const auto a_due = c1.next_pull;
  EXPECT_GE(a_due, before + kWindow);
  EXPECT_LE(a_due, after + kWindow);

  const auto c2 = sub->pull(a_due);
  EXPECT_EQ(job_data(parse_sse(c2.bytes())), std::vector<std::string>{"A:p2"});

  // A's window now restarts at a_due; B's still runs from B:p1.
  progress(hub, "B", "p2");
  progress(hub, "A", "p3");
  const auto c3 = sub->pull(after + kWindow);
  EXPECT_EQ(job_data(parse_sse(c3.bytes())), std::vector<std::string>{"B:p2"});
  EXPECT_EQ(c3.next_pull, a_due + kWindow);

  EXPECT_EQ(sub->pull(a_due + kWindow - 1ns).bytes(), "");
  EXPECT_EQ(job_data(parse_sse(sub->pull(a_due + kWindow).bytes())), std::vector<std::string>{"A:p3"});
}

TEST_F(SubscriptionTest, ProgressAfterTheWindowGoesOutAtOnce) {
  HubOptions o = long_windows();
  o.coalesce = 0ms;  // every progress event is past its window
  Hub hub(o);
  auto sub = open_drained(hub, user("alice"));
  progress(hub, "A", "p1");
  progress(hub, "A", "p2");
  progress(hub, "A", "p3");
  EXPECT_EQ(job_data(parse_sse(sub->pull(base_).bytes())),
            (std::vector<std::string>{"A:p1", "A:p2", "A:p3"}));
}

TEST_F(SubscriptionTest, DueProgressOfSeveralJobsGoesOutInPublishOrder) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));
  const std::vector<std::string> jobs{"A", "B", "C", "D", "E", "F"};
  for (const auto& job : jobs) {
    progress(hub, job, "p1");
  }
  const auto after = Clock::now();
  // The waiting ones in the reverse order of the jobs' windows.
  std::vector<std::uint64_t> ids;
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    ids.push_back(progress(hub, *it, "p2"));
  }
  EXPECT_EQ(job_data(parse_sse(sub->pull(base_).bytes())).size(), jobs.size());

  const auto frames = parse_sse(sub->pull(after + kWindow).bytes());
  ASSERT_EQ(job_data(frames), (std::vector<std::string>{"F:p2", "E:p2", "D:p2", "C:p2", "B:p2", "A:p2"}));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].id, ids[i]);
  }
}

TEST_F(SubscriptionTest, ManyJobsStayCoalesced) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));
  constexpr int kJobs = 100;  // enough that the subscription trims what it remembers of sent jobs
  for (int i = 0; i < kJobs; ++i) {
    progress(hub, "J" + std::to_string(i), "p1");
  }
  EXPECT_EQ(job_data(parse_sse(sub->pull(base_ + 1ms).bytes())).size(), static_cast<std::size_t>(kJobs));
  for (int i = 0; i < kJobs; ++i) {
    progress(hub, "J" + std::to_string(i), "p2");  // all inside their windows
  }
  EXPECT_EQ(sub->pull(base_ + 2ms).bytes(), "");
  // The latest of each goes out when its window has passed.
  const auto frames = parse_sse(sub->pull(base_ + 3 * kWindow).bytes());
  ASSERT_EQ(frames.size(), static_cast<std::size_t>(kJobs));
  for (const auto& f : frames) {
    EXPECT_TRUE(f.data.ends_with(":p2")) << f.data;
  }
}

// --- Status changes -----------------------------------------------------------------------

TEST_F(SubscriptionTest, StatusChangesAreSentAtOnceAndSupersedeWaitingProgress) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));

  progress(hub, "A", "p1");
  progress(hub, "A", "p2");  // waits, then superseded by A:s1
  status(hub, "A", "s1");
  progress(hub, "B", "p1");
  status(hub, "B", "s1");
  progress(hub, "B", "p2");  // waits (B's window restarted at B:s1), replaced by B:p3
  progress(hub, "A", "p3");  // waits, then superseded by A:s2
  status(hub, "A", "s2");
  progress(hub, "B", "p3");

  const auto now = sub->pull(base_ + 1ms);
  EXPECT_EQ(job_data(parse_sse(now.bytes())),
            (std::vector<std::string>{"A:p1", "A:s1", "B:p1", "B:s1", "A:s2"}));
  const auto later = sub->pull(base_ + 3 * kWindow);
  EXPECT_EQ(job_data(parse_sse(later.bytes())), std::vector<std::string>{"B:p3"});
  EXPECT_EQ(sub->pull(base_ + 6 * kWindow).bytes(), "");
}

TEST_F(SubscriptionTest, StatusChangeStartsTheJobsProgressWindow) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));
  status(hub, "A", "s1");
  progress(hub, "A", "p1");
  const auto c = sub->pull(base_ + 1ms);
  EXPECT_EQ(job_data(parse_sse(c.bytes())), std::vector<std::string>{"A:s1"});
  EXPECT_GT(c.next_pull, base_ + kWindow - 1s);
  EXPECT_EQ(job_data(parse_sse(sub->pull(c.next_pull).bytes())), std::vector<std::string>{"A:p1"});
}

TEST_F(SubscriptionTest, BurstDeliversEveryStatusInOrderAndTheLastStateOfEveryJob) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));

  std::vector<std::string> statuses;
  std::map<std::string, std::string> last_of_job;
  for (int i = 0; i < 90; ++i) {
    const std::string job = "J" + std::to_string(i % 3);
    const bool is_status = i % 4 == 3 || i % 7 == 0;
    const std::string tag = (is_status ? "s" : "p") + std::to_string(i);
    if (is_status) {
      status(hub, job, tag);
      statuses.push_back(job + ":" + tag);
    } else {
      progress(hub, job, tag);
    }
    last_of_job[job] = job + ":" + tag;
  }

  const std::string wire = sub->pull(base_ + 1ms).bytes() + sub->pull(base_ + 3 * kWindow).bytes();
  const auto frames = parse_sse(wire);
  std::vector<std::string> got_statuses;
  std::map<std::string, std::string> got_last;
  std::uint64_t last_id = 0;
  for (const auto& f : frames) {
    ASSERT_EQ(f.event, "job");
    if (f.data.find(":s") != std::string::npos) {
      got_statuses.push_back(f.data);
      EXPECT_TRUE(f.id.has_value()) << f.data;
    }
    got_last[f.data.substr(0, f.data.find(':'))] = f.data;
    if (f.id) {
      EXPECT_GT(*f.id, last_id);
      last_id = *f.id;
    }
  }
  EXPECT_EQ(got_statuses, statuses);
  EXPECT_EQ(got_last, last_of_job);
}

// --- Ids ----------------------------------------------------------------------------------

TEST_F(SubscriptionTest, EventSentAfterAHigherIdGoesWithoutId) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));

  const auto a1 = progress(hub, "A", "p1");
  const auto a2 = progress(hub, "A", "p2");  // waits
  const auto b1 = status(hub, "B", "s1");
  ASSERT_LT(a2, b1);

  const auto c1 = sub->pull(base_ + 1ms);
  const auto f1 = parse_sse(c1.bytes());
  ASSERT_EQ(job_data(f1), (std::vector<std::string>{"A:p1", "B:s1"}));
  EXPECT_EQ(f1[0].id, a1);
  EXPECT_EQ(f1[1].id, b1);

  const auto f2 = parse_sse(sub->pull(c1.next_pull).bytes());
  ASSERT_EQ(job_data(f2), std::vector<std::string>{"A:p2"});
  EXPECT_FALSE(f2[0].id.has_value()) << "id " << *f2[0].id << " after " << b1;

  const auto b2 = status(hub, "B", "s2");
  const auto f3 = parse_sse(sub->pull(c1.next_pull + 1ms).bytes());
  ASSERT_EQ(job_data(f3), std::vector<std::string>{"B:s2"});
  EXPECT_EQ(f3[0].id, b2);
}

// --- Visibility ---------------------------------------------------------------------------

TEST(HubVisibilityTest, UserSeesOnlyJobsThatSyncItsRecords) {
  // Started by Alice over everyone's records (while she was ml_admin): not hers to read.
  const auto own = make_event("1", "", true, "alice");
  const auto for_alice = make_event("2", "", true, "root", "alice");
  const auto bobs = make_event("3", "", true, "bob", "bob");
  const auto global = make_event("4", "", true, "root");
  EXPECT_FALSE(visible(user("alice"), own));
  EXPECT_TRUE(visible(user("alice"), for_alice));
  EXPECT_FALSE(visible(user("alice"), bobs));
  EXPECT_FALSE(visible(user("alice"), global));
  EXPECT_FALSE(visible(user("bob"), own));
  EXPECT_FALSE(visible(user("bob"), for_alice));
  EXPECT_TRUE(visible(user("bob"), bobs));
  for (const auto* e : {&own, &for_alice, &bobs, &global}) {
    EXPECT_TRUE(visible(everyone(), *e));
  }
}

TEST_F(HubTest, StreamsCarryOnlyTheJobsTheirViewerMayRead) {
  Hub hub(long_windows());
  auto alice = open_drained(hub, user("alice"));
  auto bob = open_drained(hub, user("bob"));
  auto admin = open_drained(hub, everyone());

  hub.publish(make_event("1", "own", true, "alice"));
  hub.publish(make_event("2", "for-alice", true, "root", "alice"));
  hub.publish(make_event("3", "bobs", true, "bob", "bob"));
  hub.publish(make_event("4", "global", true, "root"));
  hub.publish(make_event("5", "progress-for-alice", false, "bob", "alice"));

  // Who started a job grants nothing: only jobs over one's own records (domain/job_access.hpp).
  EXPECT_EQ(job_data(parse_sse(alice->pull(base_ + 1ms).bytes())),
            (std::vector<std::string>{"for-alice", "progress-for-alice"}));
  EXPECT_EQ(job_data(parse_sse(bob->pull(base_ + 1ms).bytes())), (std::vector<std::string>{"bobs"}));
  EXPECT_EQ(job_data(parse_sse(admin->pull(base_ + 1ms).bytes())),
            (std::vector<std::string>{"own", "for-alice", "bobs", "global", "progress-for-alice"}));
}

// --- Last-Event-ID ------------------------------------------------------------------------

TEST_F(HubTest, ReconnectInsideTheWindowReplaysWhatItMissedWithoutSnapshot) {
  Hub hub(long_windows());
  const auto seen = status(hub, "A", "s0");
  progress(hub, "A", "p1");
  progress(hub, "A", "p2");
  const auto a_s1 = status(hub, "A", "s1");
  const auto a_p3 = progress(hub, "A", "p3");
  progress(hub, "B", "p1");
  progress(hub, "B", "p2");
  const auto b_s1 = status(hub, "B", "s1");
  status(hub, "X", "s1", "bob");  // not alice's
  progress(hub, "C", "p1");
  const auto c_p2 = progress(hub, "C", "p2");
  progress(hub, "X", "p2", "bob");

  auto sub = open(hub, user("alice"), seen);
  const auto chunk = sub->pull(base_);
  EXPECT_FALSE(chunk.done);
  EXPECT_TRUE(chunk.bytes().starts_with("retry: ")) << chunk.bytes();
  const auto frames = parse_sse(chunk.bytes());
  EXPECT_EQ(snapshots_, 0);
  for (const auto& f : frames) {
    EXPECT_NE(f.event, "snapshot");
  }
  ASSERT_EQ(job_data(frames), (std::vector<std::string>{"A:s1", "A:p3", "B:s1", "C:p2"}));
  EXPECT_EQ(find_job_frame(frames, "A:s1")->id, a_s1);
  EXPECT_EQ(find_job_frame(frames, "A:p3")->id, a_p3);
  EXPECT_EQ(find_job_frame(frames, "B:s1")->id, b_s1);
  EXPECT_EQ(find_job_frame(frames, "C:p2")->id, c_p2);

  // Live events follow the replay; the replay counts as sent for coalescing.
  progress(hub, "C", "p3");
  const auto next = status(hub, "A", "s2");
  const auto live = parse_sse(sub->pull(base_ + 1ms).bytes());
  ASSERT_EQ(job_data(live), std::vector<std::string>{"A:s2"});
  EXPECT_EQ(live[0].id, next);
  EXPECT_EQ(job_data(parse_sse(sub->pull(base_ + 3 * kWindow).bytes())), std::vector<std::string>{"C:p3"});
}

TEST_F(HubTest, ReconnectOlderThanTheWindowGetsSnapshot) {
  HubOptions o = long_windows();
  o.replay_events = 3;
  Hub hub(o);
  std::vector<std::uint64_t> ids;
  for (int i = 1; i <= 5; ++i) {
    ids.push_back(status(hub, "A", "s" + std::to_string(i)));
  }

  // The window holds s3..s5: a client that saw s2 misses nothing the hub forgot.
  auto in_window = open(hub, user("alice"), ids[1]);
  const auto replay = parse_sse(in_window->pull(base_).bytes());
  EXPECT_EQ(job_data(replay), (std::vector<std::string>{"A:s3", "A:s4", "A:s5"}));
  EXPECT_EQ(snapshots_, 0);

  // A client that saw only s1 missed s2, which is gone.
  auto too_old = open(hub, user("alice"), ids[0]);
  const auto frames = parse_sse(too_old->pull(base_).bytes());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].event, "snapshot");
  EXPECT_EQ(frames[1].id, ids[4]);
  EXPECT_TRUE(job_data(frames).empty());
  EXPECT_EQ(snapshots_, 1);
}

TEST_F(HubTest, UnknownOrFutureLastEventIdGetsSnapshot) {
  Hub hub(long_windows());
  status(hub, "A", "s1");
  const auto last = status(hub, "A", "s2");
  for (const std::uint64_t id : {last + 1, last + 1000, std::uint64_t{0}, std::uint64_t{1}}) {
    auto sub = open(hub, user("alice"), id);
    const auto frames = parse_sse(sub->pull(base_).bytes());
    ASSERT_EQ(frames.size(), 2u) << "Last-Event-ID " << id;
    EXPECT_EQ(frames[1].event, "snapshot");
    EXPECT_EQ(frames[1].id, last);
    EXPECT_TRUE(job_data(frames).empty());
  }
  EXPECT_EQ(snapshots_, 4);
}

TEST_F(HubTest, ReconnectWithTheLastIdGetsNeitherReplayNorSnapshot) {
  Hub hub(long_windows());
  // Before any event, too: a client that got the empty hub's snapshot id.
  auto early = open(hub, user("alice"), hub.last_id());
  auto frames = parse_sse(early->pull(base_).bytes());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_FALSE(frames[0].retry.empty());

  status(hub, "A", "s1");
  const auto last = progress(hub, "A", "p1");
  auto sub = open(hub, user("alice"), last);
  frames = parse_sse(sub->pull(base_).bytes());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_FALSE(frames[0].retry.empty());
  EXPECT_TRUE(frames[0].event.empty());
  EXPECT_EQ(snapshots_, 0);

  const auto next = status(hub, "A", "s2");
  const auto live = parse_sse(sub->pull(base_ + 1ms).bytes());
  ASSERT_EQ(job_data(live), std::vector<std::string>{"A:s2"});
  EXPECT_EQ(live[0].id, next);
}

// --- Heartbeat ----------------------------------------------------------------------------

TEST_F(SubscriptionTest, QuietStreamSendsCommentAfterHeartbeat) {
  HubOptions o;
  o.heartbeat = 15s;
  Hub hub(o);
  auto sub = open(hub, user("alice"));
  const auto c0 = sub->pull(base_);  // the preamble is a write
  EXPECT_EQ(c0.next_pull, base_ + 15s);

  const auto c1 = sub->pull(base_ + 15s - 1ns);
  EXPECT_EQ(c1.bytes(), "");
  EXPECT_FALSE(c1.done);
  EXPECT_EQ(c1.next_pull, base_ + 15s);

  const auto c2 = sub->pull(base_ + 15s);
  const auto frames = parse_sse(c2.bytes());
  ASSERT_EQ(frames.size(), 1u) << c2.bytes();
  EXPECT_TRUE(frames[0].comment);
  EXPECT_TRUE(frames[0].event.empty());
  EXPECT_TRUE(frames[0].data.empty());
  EXPECT_FALSE(frames[0].id.has_value());
  EXPECT_EQ(c2.next_pull, base_ + 30s);

  // A data write restarts the heartbeat.
  status(hub, "A", "s1");
  const auto c3 = sub->pull(base_ + 20s);
  EXPECT_EQ(job_data(parse_sse(c3.bytes())), std::vector<std::string>{"A:s1"});
  EXPECT_EQ(c3.next_pull, base_ + 35s);
  EXPECT_EQ(sub->pull(base_ + 35s - 1ns).bytes(), "");
  EXPECT_TRUE(parse_sse(sub->pull(base_ + 35s).bytes()).at(0).comment);
}

TEST_F(SubscriptionTest, NextPullIsNeverLaterThanLastWritePlusHeartbeat) {
  HubOptions o;
  o.coalesce = kWindow;
  o.heartbeat = 15s;
  Hub hub(o);
  auto sub = open_drained(hub, user("alice"));
  progress(hub, "A", "p1");
  progress(hub, "A", "p2");  // due in an hour
  const auto c = sub->pull(base_ + 20s);
  EXPECT_EQ(job_data(parse_sse(c.bytes())), std::vector<std::string>{"A:p1"});
  EXPECT_EQ(c.next_pull, base_ + 35s);
  EXPECT_TRUE(parse_sse(sub->pull(base_ + 35s).bytes()).at(0).comment);
}

// --- Overflow -----------------------------------------------------------------------------

TEST_F(SubscriptionTest, QueueUpToClientQueueIsDelivered) {
  HubOptions o = long_windows();
  o.client_queue = 3;
  Hub hub(o);
  auto sub = open_drained(hub, user("alice"));
  status(hub, "A", "s1");
  status(hub, "B", "s1");
  for (int i = 0; i < 20; ++i) {
    progress(hub, "C", "p" + std::to_string(i));  // one queued, the rest coalesced
  }
  const auto c = sub->pull(base_ + 1ms);
  EXPECT_FALSE(c.done);
  EXPECT_EQ(job_data(parse_sse(c.bytes())), (std::vector<std::string>{"A:s1", "B:s1", "C:p0"}));
  EXPECT_EQ(job_data(parse_sse(sub->pull(base_ + 3 * kWindow).bytes())), std::vector<std::string>{"C:p19"});
}

TEST_F(SubscriptionTest, QueueBeyondClientQueueEndsTheStream) {
  HubOptions o = long_windows();
  o.client_queue = 3;
  Hub hub(o);
  auto sub = open_drained(hub, user("alice"));
  for (int i = 0; i < 4; ++i) {
    status(hub, "A", "s" + std::to_string(i));
  }
  const auto c = sub->pull(base_ + 1ms);
  EXPECT_TRUE(c.done);
  // The client reconnects with its Last-Event-ID; half a queue would leave it wrong silently.
  EXPECT_TRUE(job_data(parse_sse(c.bytes())).empty());
}

// --- End of stream, wake-ups, registration ------------------------------------------------

TEST_F(HubTest, CloseAllEndsEveryStreamAndWakesIt) {
  Hub hub(long_windows());
  auto a = open_drained(hub, user("alice"));
  auto b = open_drained(hub, everyone());
  int wakes = 0;
  a->attach([&wakes] { ++wakes; });
  hub.close_all();
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(a->pull(base_ + 1ms).done);
  EXPECT_TRUE(b->pull(base_ + 1ms).done);
  status(hub, "A", "s1");  // nothing more is queued or woken
  EXPECT_EQ(wakes, 1);
  EXPECT_TRUE(a->pull(base_ + 2ms).done);
}

TEST_F(SubscriptionTest, StreamEndsWhenItExpires) {
  HubOptions o;
  o.heartbeat = 15s;
  Hub hub(o);
  const auto expires = base_ + 10s;
  auto sub = hub.subscribe(user("alice"), std::nullopt, snapshot_, expires);
  const auto c0 = sub->pull(base_);
  EXPECT_FALSE(c0.done);
  EXPECT_EQ(c0.next_pull, expires);  // before the heartbeat
  EXPECT_FALSE(sub->pull(expires - 1ns).done);
  EXPECT_TRUE(sub->pull(expires).done);
}

TEST_F(SubscriptionTest, WakeIsCalledForEventsTheViewerMayRead) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));
  int wakes = 0;
  sub->attach([&wakes] { ++wakes; });

  status(hub, "A", "s1");
  EXPECT_EQ(wakes, 1);
  status(hub, "X", "s1", "bob");
  EXPECT_EQ(wakes, 1);
  progress(hub, "B", "p1");  // sent at once
  EXPECT_EQ(wakes, 2);
  progress(hub, "B", "p2");  // waits: the connection must learn the new due time
  EXPECT_EQ(wakes, 3);
}

TEST_F(SubscriptionTest, DetachStopsWakesAndUnregisters) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));
  auto other = open_drained(hub, user("alice"));
  int wakes = 0;
  sub->attach([&wakes] { ++wakes; });
  status(hub, "A", "s1");
  EXPECT_EQ(wakes, 1);
  ASSERT_EQ(hub.clients(), 2u);

  sub->detach();
  EXPECT_EQ(hub.clients(), 1u);
  status(hub, "A", "s2");
  hub.close_all();
  EXPECT_EQ(wakes, 1);
}

TEST_F(HubTest, DestroyedSubscriptionUnregisters) {
  Hub hub(long_windows());
  auto a = open(hub, user("alice"));
  auto b = open(hub, user("bob"));
  EXPECT_EQ(hub.clients(), 2u);
  a.reset();
  EXPECT_EQ(hub.clients(), 1u);
  status(hub, "A", "s1");  // must not reach the destroyed one (ASan would see it)
  b->detach();
  b.reset();  // detached, then destroyed: unregisters once
  EXPECT_EQ(hub.clients(), 0u);
  status(hub, "A", "s2");
}

// --- Threads ------------------------------------------------------------------------------

TEST(HubConcurrencyTest, PublishersSubscribersAndAPullerRaceSafely) {
  HubOptions o;
  o.client_queue = 1'000'000;  // the puller may fall behind; nothing may be dropped
  Hub hub(o);
  const auto snapshot = [](const Viewer&) { return std::string("{}"); };
  auto sub = hub.subscribe(everyone(), std::nullopt, snapshot, Clock::now() + 1h);
  std::atomic<int> wakes{0};
  sub->attach([&wakes] { wakes.fetch_add(1, std::memory_order_relaxed); });

  constexpr int kPublishers = 4;
  constexpr int kEach = 300;
  std::atomic<bool> publishing{true};
  std::string wire;
  std::thread puller([&] {
    while (publishing.load()) {
      wire += sub->pull(Clock::now()).bytes();
      std::this_thread::yield();
    }
  });
  std::thread churn([&] {
    for (int i = 0; i < 100; ++i) {
      auto other = hub.subscribe(user("t1"), i % 2 == 0 ? std::nullopt : std::optional(hub.last_id()),
                                 snapshot, Clock::now() + 1h);
      other->attach([] {});
      other->pull(Clock::now());
      EXPECT_GE(hub.clients(), 1u);
      if (i % 3 == 0) {
        other->detach();
      }
    }
  });
  std::vector<std::thread> publishers;
  for (int t = 0; t < kPublishers; ++t) {
    publishers.emplace_back([&hub, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string job = "t" + std::to_string(t) + "j" + std::to_string(i % 3);
        const bool is_status = i % 5 == 0;
        hub.publish(make_event(job, job + (is_status ? ":s" : ":p") + std::to_string(i), is_status,
                               "t" + std::to_string(t)));
      }
    });
  }
  for (auto& p : publishers) {
    p.join();
  }
  churn.join();
  publishing = false;
  puller.join();
  wire += sub->pull(Clock::now() + 1s).bytes();  // past every coalescing window

  EXPECT_GT(wakes.load(), 0);
  EXPECT_EQ(hub.clients(), 1u);
  std::map<std::string, int> status_count;
  std::map<std::string, std::string> last_of_job;
  std::uint64_t last_id = 0;
  for (const auto& f : parse_sse(wire)) {
    if (f.event != "job") {
      continue;
    }
    const std::string job = f.data.substr(0, f.data.find(':'));
    if (f.data.find(":s") != std::string::npos) {
      ++status_count[job];
    }
    last_of_job[job] = f.data;
    if (f.id) {
      EXPECT_GT(*f.id, last_id);
      last_id = *f.id;
    }
  }
  ASSERT_EQ(status_count.size(), static_cast<std::size_t>(kPublishers * 3));
  for (int t = 0; t < kPublishers; ++t) {
    for (int j = 0; j < 3; ++j) {
      const std::string job = "t" + std::to_string(t) + "j" + std::to_string(j);
      EXPECT_EQ(status_count[job], kEach / 15) << job;  // i % 5 == 0 and i % 3 == j
      // The last event each job had is the last one the client saw of it.
      const int last_i = kEach - 3 + j;
      EXPECT_EQ(last_of_job[job], job + (last_i % 5 == 0 ? ":s" : ":p") + std::to_string(last_i));
    }
  }
  hub.close_all();
  EXPECT_TRUE(sub->pull(Clock::now()).done);
}

}  // namespace mladmin::events

namespace mladmin::events {

// A progress event waiting for its coalescing turn when the client went away is not lost: the
// client's last id is higher (another job's event went out meanwhile), so the replay alone would
// skip it.
TEST_F(HubTest, ReconnectResendsProgressThatWasStillWaitingForItsTurn) {
  Hub hub(long_windows());
  auto sub = open_drained(hub, user("alice"));
  progress(hub, "A", "p1");
  EXPECT_EQ(job_data(parse_sse(sub->pull(base_ + 1ms).bytes())), std::vector<std::string>{"A:p1"});
  progress(hub, "A", "p2");  // waits for A's window
  const auto b_s1 = status(hub, "B", "s1");
  const auto frames = parse_sse(sub->pull(base_ + 2ms).bytes());
  ASSERT_EQ(job_data(frames), std::vector<std::string>{"B:s1"});
  ASSERT_EQ(frames.back().id, b_s1);
  sub->detach();  // gone before A:p2's turn

  auto again = open(hub, user("alice"), b_s1);
  const auto replay = parse_sse(again->pull(base_ + 3ms).bytes());
  EXPECT_EQ(job_data(replay), std::vector<std::string>{"A:p2"});
  EXPECT_EQ(snapshots_, 1) << "only the first stream started from a snapshot";
  for (const auto& f : replay) {
    EXPECT_FALSE(f.id) << "an older event goes without an id";
  }
}

}  // namespace mladmin::events

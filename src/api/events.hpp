#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "api/context.hpp"
#include "auth/caller.hpp"
#include "domain/clock.hpp"
#include "domain/job.hpp"
#include "http/message.hpp"

namespace mladmin::api {

// GET /api/ml/sync/events, the live event stream (events.cpp, docs/jobs.md).
http::Response job_events(http::Request& req, const auth::Caller& caller, ApiContext& ctx);
/// Hands a committed job change to the event hub (the engine's listener).
void publish_job_event(events::Hub& hub, const domain::Job& job, bool status_changed,
                       domain::TimestampMs now);
/// Ends the open event streams whose rights are gone (docs/security.md): the user was deleted
/// or disabled, their token was revoked (role or password change), or their role no longer reads
/// what the stream reads. With `user_id`, only that user's streams are checked.
void recheck_stream_rights(ApiContext& ctx, const std::optional<std::string>& user_id = std::nullopt);

/// Runs recheck_stream_rights every `interval` on a thread of its own, for changes made by
/// another process (the command line on the same database).
class StreamRightsWatch final {
 public:
  StreamRightsWatch(ApiContext& ctx, std::chrono::milliseconds interval);
  ~StreamRightsWatch();
  StreamRightsWatch(const StreamRightsWatch&) = delete;
  StreamRightsWatch& operator=(const StreamRightsWatch&) = delete;

 private:
  ApiContext& ctx_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mladmin::api

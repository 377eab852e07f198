// The live event stream (docs/jobs.md): GET /api/ml/sync/events answers text/event-stream. The
// engine's listener publishes every committed job change to the hub; the hub fans it out to the
// clients that may read the job. Nothing here polls the database: it is read once per connection,
// for the snapshot.
#include "api/events.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <unordered_map>
#include <unordered_set>

#include "api/job_json.hpp"
#include "api/sync.hpp"
#include "domain/clock.hpp"
#include "domain/job_access.hpp"
#include "events/hub.hpp"
#include "http/sse.hpp"
#include "store/store.hpp"

namespace mladmin::api {

using domain::Job;
using domain::JobStatus;

namespace {

constexpr std::size_t kSnapshotFinished = 20;

bool may_read(const events::Viewer& viewer, const Job& job) {
  return viewer.reads_all || (job.scope == domain::JobScope::user &&
                              domain::may_access_job(false, viewer.user_id, job.scope_user_id));
}

/// Every active job and the last 20 finished ones the viewer may read, newest first.
std::string snapshot_json(ApiContext& ctx, const events::Viewer& viewer) {
  const auto now = ctx.clock.now_ms();
  boost::json::array jobs;
  ctx.store.read([&](store::Reader& r) {
    auto active =
        r.jobs_in({JobStatus::queued, JobStatus::running, JobStatus::paused, JobStatus::interrupted});
    for (auto it = active.rbegin(); it != active.rend(); ++it) {
      if (may_read(viewer, *it)) {
        jobs.push_back(job_json(*it, now));
      }
    }
    store::JobQuery query;
    if (!viewer.reads_all) {
      query.visible_to = viewer.user_id;
    }
    query.limit = 100;
    std::size_t finished = 0;
    // Active jobs are few; a handful of pages finds the finished ones among them.
    for (int page = 0; page < 20 && finished < kSnapshotFinished; ++page) {
      auto result = r.list_jobs(query);
      for (const auto& job : result.items) {
        if (domain::is_finished(job.status) && finished < kSnapshotFinished) {
          jobs.push_back(job_json(job, now));
          ++finished;
        }
      }
      if (!result.has_more || result.items.empty()) {
        break;
      }
      query.before = std::make_pair(result.items.back().created_at, result.items.back().id);
    }
  });
  return boost::json::serialize(boost::json::object{{"jobs", std::move(jobs)}});
}

std::optional<std::uint64_t> last_event_id(const http::Request& req) {
  // An id this server did not give out (or none) is simply "too old": the client gets a snapshot.
  const auto header = req.header("last-event-id");
  if (!header || header->empty()) {
    return std::nullopt;
  }
  std::uint64_t id = 0;
  const auto* end = header->data() + header->size();
  auto [ptr, ec] = std::from_chars(header->data(), end, id);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return id;
}

}  // namespace

void publish_job_event(events::Hub& hub, const Job& job, bool status_changed, domain::TimestampMs now) {
  events::Event event;
  event.job_id = job.id;
  event.user_id = job.user_id;
  event.scope_user_id = job.scope_user_id;
  event.status_change = status_changed;
  event.data = std::make_shared<const std::string>(boost::json::serialize(job_json(job, now)));
  hub.publish(std::move(event));
}

http::Response job_events(http::Request& req, const auth::Caller& caller, ApiContext& ctx) {
  // A cap per user, so that one account cannot hold every descriptor (docs/security.md). Two
  // streams opening at the same instant may both pass it: it bounds, it does not count exactly.
  const auto cap = ctx.hub.options().max_streams_per_user;
  if (cap > 0 && ctx.hub.user_clients(caller.id) >= cap) {
    throw std::move(domain::Error(domain::ErrorKind::too_many_requests, "too_many_streams",
                                  "this account already has " + std::to_string(cap) +
                                      " open event streams (the most allowed); close one first")
                        .retry_after(5));
  }
  const events::Viewer viewer{reads_all_jobs(caller), caller.id, caller.token_version};
  // The stream ends when the token expires; the client signs in again and reconnects.
  const auto left_ms = std::max<std::int64_t>(0, caller.token_expires_at * 1000 - ctx.clock.now_ms());
  const auto expires = http::BodyStream::Clock::now() + std::chrono::milliseconds(left_ms);
  auto sub = ctx.hub.subscribe(
      viewer, last_event_id(req), [&](const events::Viewer& v) { return snapshot_json(ctx, v); }, expires);
  http::Response res;
  res.content_type = std::string(http::sse::kContentType);
  res.header("X-Accel-Buffering", "no");  // tell proxies not to buffer the stream
  res.stream = std::move(sub);
  return res;
}

// --- Rights that change while a stream is open (docs/security.md) -----------------------------

void recheck_stream_rights(ApiContext& ctx, const std::optional<std::string>& user_id) {
  std::unordered_set<std::string> ids;
  if (user_id) {
    ids.insert(*user_id);
  } else {
    for (const auto& v : ctx.hub.viewers()) {
      ids.insert(v.user_id);
    }
  }
  if (ids.empty()) {
    return;
  }
  // What each user may read now: nothing (deleted, disabled) or their token version and role.
  struct Rights {
    std::int64_t token_version;
    bool reads_all;
  };
  std::unordered_map<std::string, std::optional<Rights>> now;
  ctx.store.read([&](store::Reader& r) {
    for (const auto& id : ids) {
      const auto user = r.find_user(id);
      now[id] = user && user->status == domain::UserStatus::active
                    ? std::optional<Rights>(Rights{user->token_version, domain::reads_all_jobs(user->role)})
                    : std::nullopt;
    }
  });
  const auto closed = ctx.hub.close_if([&](const events::Viewer& v) {
    const auto it = now.find(v.user_id);
    if (it == now.end()) {
      return false;  // not checked this time
    }
    const auto& rights = it->second;
    return !rights || rights->token_version != v.token_version || rights->reads_all != v.reads_all;
  });
  if (closed > 0) {
    spdlog::info("msg=\"ended event streams whose rights changed\" streams={}", closed);
  }
}

StreamRightsWatch::StreamRightsWatch(ApiContext& ctx, std::chrono::milliseconds interval)
    : ctx_(ctx), interval_(interval) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      try {
        recheck_stream_rights(ctx_);
      } catch (const std::exception& e) {
        spdlog::error("msg=\"event stream rights check failed\" error=\"{}\"", e.what());
      }
      lock.lock();
    }
  });
}

StreamRightsWatch::~StreamRightsWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace mladmin::api

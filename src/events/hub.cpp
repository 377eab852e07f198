#include "events/hub.hpp"

#include <algorithm>
#include <unordered_set>

#include "domain/job_access.hpp"
#include "http/sse.hpp"

namespace mladmin::events {

namespace {

/// How long a client waits before it reconnects (the stream's `retry` field).
constexpr std::chrono::milliseconds kReconnect{1000};

/// Ids continue across restarts: each process starts above any id an earlier one can have given
/// out (fewer than 1,000 events per millisecond), so a Last-Event-ID from before a restart is
/// simply too old and gets a snapshot.
std::uint64_t first_id() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return static_cast<std::uint64_t>(ms) * 1000;
}

}  // namespace

bool visible(const Viewer& viewer, const Event& event) {
  // The one rule of domain/job_access.hpp: scope_user_id is set exactly for jobs of scope user.
  return domain::may_access_job(viewer.reads_all, viewer.user_id, event.scope_user_id);
}

Subscription::Subscription(Hub& hub, Viewer viewer, const HubOptions& options, Clock::time_point expires)
    : hub_(hub),
      viewer_(std::move(viewer)),
      options_(options),
      expires_(expires),
      last_write_(Clock::now()) {}

Subscription::~Subscription() {
  detach();
}

void Subscription::attach(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

void Subscription::detach() {
  bool was_registered = false;
  {
    std::lock_guard lock(mutex_);
    wake_ = nullptr;
    was_registered = registered_;
    registered_ = false;
  }
  if (was_registered) {
    hub_.unregister(this);
  }
}

void Subscription::close() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    wake = wake_;
  }
  if (wake) {
    wake();
  }
}

void Subscription::offer(const std::shared_ptr<const Event>& event, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (closed_ || overflow_) {
    return;
  }
  bool wake = false;
  if (event->status_change) {
    // Never coalesced, never dropped: it carries the newest state, so a waiting progress event
    // of the same job has nothing more to say.
    pending_.erase(event->job_id);
    ready_.push_back(event);
    last_sent_[event->job_id] = now;
    wake = true;
  } else if (auto it = pending_.find(event->job_id); it != pending_.end()) {
    it->second.event = event;  // its turn is already set
  } else if (auto sent = last_sent_.find(event->job_id);
             sent == last_sent_.end() || now - sent->second >= options_.coalesce) {
    ready_.push_back(event);
    last_sent_[event->job_id] = now;
    wake = true;
  } else {
    pending_.emplace(event->job_id, Pending{event, sent->second + options_.coalesce});
    wake = true;  // so that the connection sets its timer to the new due time
  }
  if (ready_.size() > options_.client_queue) {
    overflow_ = true;
    ready_.clear();
    pending_.clear();
  }
  if (wake && wake_) {
    wake_();
  }
}

void Subscription::append_frame(std::string& out, const Event& event) {
  // Coalescing can send a job's progress after a newer event of another job; such an event goes
  // without an id so that the ids a client sees only grow (its Last-Event-ID stays the highest).
  if (event.id > last_id_sent_) {
    out += event.id_line;
    last_id_sent_ = event.id;
  }
  out += *event.frame;
}

void Subscription::add_frame(Chunk& chunk, const std::shared_ptr<const Event>& event, Clock::time_point now) {
  // As append_frame, but the bytes are the event's own, shared with every other client rather than
  // copied (docs/benchmarks.md, "Event fan-out"); the id line shares the event's ownership.
  if (event->id > last_id_sent_) {
    chunk.shared.emplace_back(event, &event->id_line);
    last_id_sent_ = event->id;
  }
  chunk.shared.push_back(event->frame);
  hub_.observe_delay(event->status_change, now - event->at);
}

http::BodyStream::Chunk Subscription::pull(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Chunk chunk;
  chunk.data = std::move(preamble_);
  preamble_.clear();
  if (closed_ || overflow_ || now >= expires_) {
    chunk.done = true;
    return chunk;
  }
  chunk.shared.reserve(2 * ready_.size());
  for (const auto& event : ready_) {
    add_frame(chunk, event, now);
  }
  ready_.clear();
  auto next = expires_;
  if (!pending_.empty()) {
    std::vector<std::shared_ptr<const Event>> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.due <= now) {
        due.push_back(std::move(it->second.event));
        it = pending_.erase(it);
      } else {
        next = std::min(next, it->second.due);
        ++it;
      }
    }
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a->id < b->id; });
    for (const auto& event : due) {
      add_frame(chunk, event, now);
      last_sent_[event->job_id] = now;
    }
  }
  if (chunk.empty() && now - last_write_ >= options_.heartbeat) {
    chunk.data = http::sse::heartbeat();
  }
  if (!chunk.empty()) {
    last_write_ = now;
  }
  // Forget when jobs last sent once that no longer delays anything.
  if (last_sent_.size() > 64) {
    std::erase_if(last_sent_, [&](const auto& kv) { return now - kv.second >= options_.coalesce; });
  }
  chunk.next_pull = std::min(next, last_write_ + options_.heartbeat);
  return chunk;
}

Hub::Hub(HubOptions options) : options_(options), next_id_(first_id()) {}

Hub::~Hub() {
  close_all();
}

void Hub::observe_delay(bool status_change, http::BodyStream::Clock::duration delay) {
  auto& counters = status_change ? status_delays_ : progress_delays_;
  const double seconds = std::chrono::duration<double>(delay).count();
  const auto& bounds = DeliveryDelays::kBounds;
  const auto bucket =
      static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  counters.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count();
  counters.sum_ns.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, ns)),
                            std::memory_order_relaxed);
}

DeliveryDelays Hub::delivery_delays() const {
  DeliveryDelays out;
  const auto read = [](const DelayCounters& from, DeliveryDelays::Counts& to) {
    for (std::size_t i = 0; i < to.buckets.size(); ++i) {
      to.buckets[i] = from.buckets[i].load(std::memory_order_relaxed);
    }
    to.sum_seconds = static_cast<double>(from.sum_ns.load(std::memory_order_relaxed)) / 1e9;
  };
  read(status_delays_, out.status);
  read(progress_delays_, out.progress);
  return out;
}

std::uint64_t Hub::publish(Event event) {
  // The frame is formatted here once, outside the lock; every client's write shares its bytes.
  event.frame = std::make_shared<const std::string>(http::sse::event("job", *event.data));
  const auto now = http::BodyStream::Clock::now();
  std::lock_guard lock(mutex_);
  event.id = next_id_++;
  event.at = now;
  event.id_line = http::sse::id_field(event.id);
  auto shared = std::make_shared<const Event>(std::move(event));
  recent_.push_back(shared);
  while (recent_.size() > options_.replay_events) {
    recent_.pop_front();
  }
  for (auto* sub : subs_) {
    if (visible(sub->viewer(), *shared)) {
      sub->offer(shared, now);
    }
  }
  return shared->id;
}

std::shared_ptr<Subscription> Hub::subscribe(const Viewer& viewer, std::optional<std::uint64_t> last_event_id,
                                             const SnapshotFn& snapshot,
                                             http::BodyStream::Clock::time_point expires) {
  auto sub = std::make_shared<Subscription>(*this, viewer, options_, expires);
  // Under the hub's lock, so that no event falls between what the client is told now and what
  // it is sent next.
  std::unique_lock lock(mutex_);
  const std::uint64_t last = next_id_ - 1;
  std::string preamble = http::sse::retry(kReconnect);
  const bool in_window =
      last_event_id && *last_event_id <= last &&
      (*last_event_id == last || (!recent_.empty() && *last_event_id + 1 >= recent_.front()->id));
  if (in_window) {
    // Replay what it missed: every status change, and the latest progress of each job.
    const auto first_missed = std::lower_bound(recent_.begin(), recent_.end(), *last_event_id + 1,
                                               [](const auto& e, std::uint64_t id) { return e->id < id; });
    std::vector<std::shared_ptr<const Event>> missed;
    for (auto it = first_missed; it != recent_.end(); ++it) {
      if (visible(viewer, **it)) {
        missed.push_back(*it);
      }
    }
    // A progress event older than the client's last id may still have been waiting for its
    // coalescing turn when the client went away: anything published less than one window
    // before that last id is sent again (the full job state, so a duplicate is harmless).
    std::vector<std::shared_ptr<const Event>> maybe_waiting;
    if (first_missed != recent_.begin()) {
      const auto seen_at = (*std::prev(first_missed))->at;
      std::unordered_map<std::string, std::shared_ptr<const Event>> newest;
      for (auto it = recent_.begin(); it != first_missed; ++it) {
        newest[(*it)->job_id] = *it;
      }
      std::unordered_set<std::string> in_missed;
      for (const auto& e : missed) {
        in_missed.insert(e->job_id);
      }
      for (const auto& [job, e] : newest) {
        if (!e->status_change && e->id != *last_event_id && e->at + options_.coalesce > seen_at &&
            !in_missed.contains(job) && visible(viewer, *e)) {
          maybe_waiting.push_back(e);
        }
      }
      std::sort(maybe_waiting.begin(), maybe_waiting.end(),
                [](const auto& a, const auto& b) { return a->id < b->id; });
    }
    std::unordered_set<std::string> later;
    std::vector<std::shared_ptr<const Event>> keep;
    for (auto it = missed.rbegin(); it != missed.rend(); ++it) {
      const bool superseded = later.contains((*it)->job_id);
      later.insert((*it)->job_id);
      if ((*it)->status_change || !superseded) {
        keep.push_back(*it);
      }
    }
    std::reverse(keep.begin(), keep.end());
    sub->last_id_sent_ = *last_event_id;
    keep.insert(keep.begin(), maybe_waiting.begin(), maybe_waiting.end());
    for (const auto& e : keep) {
      sub->append_frame(preamble, *e);
      sub->last_sent_[e->job_id] = http::BodyStream::Clock::now();
    }
    sub->preamble_ = std::move(preamble);
    sub->registered_ = true;
    subs_.push_back(sub.get());
    return sub;
  }
  // A snapshot reads the database: it is read after the lock is released, so that publishers
  // (the sync workers) do not wait for it. The stream is registered first with the snapshot's id,
  // so every event published from now on queues behind the snapshot. An event published while
  // the snapshot is read may carry an older state of its job than the snapshot does (the next
  // commit landed before the read): the client sees that state for a moment, and the event of
  // that next commit, which is published after it and so queued after it, restores the newest.
  sub->last_id_sent_ = last;
  sub->registered_ = true;
  subs_.push_back(sub.get());
  lock.unlock();
  preamble += http::sse::id_field(last) + http::sse::event("snapshot", snapshot(viewer));
  std::lock_guard sub_lock(sub->mutex_);
  sub->preamble_ = std::move(preamble);
  return sub;
}

void Hub::unregister(Subscription* sub) {
  std::lock_guard lock(mutex_);
  std::erase(subs_, sub);
}

std::size_t Hub::clients() const {
  std::lock_guard lock(mutex_);
  return subs_.size();
}

std::uint64_t Hub::last_id() const {
  std::lock_guard lock(mutex_);
  return next_id_ - 1;
}

void Hub::close_all() {
  // close() takes only the subscription's lock; holding the hub's keeps them registered (alive)
  // meanwhile.
  std::lock_guard lock(mutex_);
  for (auto* sub : subs_) {
    sub->close();
  }
}

// --- Rights that change while a stream is open (docs/security.md) -----------------------------

std::vector<Viewer> Hub::viewers() const {
  std::lock_guard lock(mutex_);
  std::vector<Viewer> out;
  out.reserve(subs_.size());
  for (const auto* sub : subs_) {
    out.push_back(sub->viewer());
  }
  return out;
}

std::size_t Hub::user_clients(std::string_view user_id) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(
      subs_.begin(), subs_.end(), [&](const auto* sub) { return sub->viewer().user_id == user_id; }));
}

std::size_t Hub::close_if(const std::function<bool(const Viewer&)>& pred) {
  // As in close_all(): the hub's lock keeps the subscriptions registered (alive) meanwhile.
  std::lock_guard lock(mutex_);
  std::size_t closed = 0;
  for (auto* sub : subs_) {
    if (pred(sub->viewer())) {
      sub->close();
      ++closed;
    }
  }
  return closed;
}

}  // namespace mladmin::events

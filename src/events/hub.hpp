#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.hpp"

namespace mladmin::events {

/// Tunables of the live event stream (docs/jobs.md).
struct HubOptions {
  std::chrono::milliseconds coalesce{50};      ///< at most one progress event per job per client this often
  std::chrono::milliseconds heartbeat{15000};  ///< a comment line after this long without a write
  std::size_t replay_events = 4096;            ///< events kept for Last-Event-ID replay
  std::size_t client_queue = 2048;             ///< events waiting for one client before it is dropped
  std::size_t max_streams_per_user = 5;        ///< open streams one user may hold (docs/security.md)
};

/// How long job events waited in the server between their publication (the engine told the hub
/// of a committed change) and their write to a client's socket, counted per client and event: the
/// server's part of an event's way to a client (docs/jobs.md, "How fast events arrive"). A
/// progress event's wait includes its coalescing turn.
struct DeliveryDelays {
  /// The buckets' upper bounds in seconds; one more bucket holds the rest.
  static constexpr std::array<double, 12> kBounds{0.001, 0.0025, 0.005, 0.01, 0.02, 0.03,
                                                  0.05,  0.075,  0.1,   0.25, 0.5,  1};
  struct Counts {
    std::array<std::uint64_t, kBounds.size() + 1> buckets{};  ///< per bucket, not cumulative
    double sum_seconds = 0;
  };
  Counts status;    ///< status changes
  Counts progress;  ///< progress
};

/// Who reads a stream: everything (ml_admin, admin) or one user's jobs.
struct Viewer {
  bool reads_all = false;
  std::string user_id;
  std::int64_t token_version = 0;  ///< of the token that opened the stream (docs/security.md)
};

/// One job change as the hub keeps it: who may read it and its `event: job` payload.
struct Event {
  std::uint64_t id = 0;
  std::string job_id;
  std::string user_id;                       ///< who started the job
  std::optional<std::string> scope_user_id;  ///< whose records it syncs
  bool status_change = false;
  std::shared_ptr<const std::string> data;  ///< the job JSON, one line
  http::BodyStream::Clock::time_point at;   ///< when it was published (set by the hub)
  /// Set by the hub when it publishes: the `job` event's frame (http/sse.hpp), formatted once and
  /// shared by every client; a client whose last id is below `id` gets `id_line` before it.
  std::shared_ptr<const std::string> frame;
  std::string id_line;
};

bool visible(const Viewer& viewer, const Event& event);

class Hub;

/// One client's stream. Status changes queue as they come; progress of a job waits until
/// `coalesce` has passed since that job's last event to this client, and only its latest state
/// is kept meanwhile. A client whose queue overflows (it stopped reading) is ended; it
/// reconnects with Last-Event-ID and is replayed or sent a snapshot.
class Subscription final : public http::BodyStream, public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(Hub& hub, Viewer viewer, const HubOptions& options, Clock::time_point expires);
  ~Subscription() override;

  void attach(std::function<void()> wake) override;
  Chunk pull(Clock::time_point now) override;
  void detach() override;

  const Viewer& viewer() const { return viewer_; }

  /// Called by the hub, under its lock, for every event this viewer may read.
  void offer(const std::shared_ptr<const Event>& event, Clock::time_point now);
  /// Called by the hub when it stops: the stream ends.
  void close();

 private:
  friend class Hub;
  struct Pending {
    std::shared_ptr<const Event> event;
    Clock::time_point due;
  };
  void append_frame(std::string& out, const Event& event);
  /// Adds the event's shared frame (and id line) to `chunk`, and counts its wait at `now`.
  void add_frame(Chunk& chunk, const std::shared_ptr<const Event>& event, Clock::time_point now);

  Hub& hub_;
  const Viewer viewer_;
  const HubOptions& options_;
  const Clock::time_point expires_;

  std::mutex mutex_;
  std::function<void()> wake_;
  std::deque<std::shared_ptr<const Event>> ready_;
  std::string preamble_;  ///< retry hint and snapshot or replay, sent first
  std::unordered_map<std::string, Pending> pending_;
  std::unordered_map<std::string, Clock::time_point> last_sent_;
  std::uint64_t last_id_sent_ = 0;
  Clock::time_point last_write_;
  bool overflow_ = false;
  bool closed_ = false;
  bool registered_ = false;
};

/// The fan-out of job changes to event-stream clients (docs/jobs.md). The engine's listener publishes
/// here; nothing polls the database. Thread-safe.
class Hub final {
 public:
  /// Builds the `event: snapshot` payload for a viewer: every active job and the last 20
  /// finished ones it may read, as a JSON object `{"jobs": [...]}`.
  using SnapshotFn = std::function<std::string(const Viewer&)>;

  explicit Hub(HubOptions options = {});
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  /// Assigns the next id and hands the event to every client that may read it.
  std::uint64_t publish(Event event);

  /// A new client. With `last_event_id` inside the replay window, the events it missed are
  /// queued first (only the latest progress of each job); otherwise, or without one, the
  /// stream starts with a snapshot. `expires` ends the stream (the token's expiry).
  std::shared_ptr<Subscription> subscribe(const Viewer& viewer, std::optional<std::uint64_t> last_event_id,
                                          const SnapshotFn& snapshot,
                                          http::BodyStream::Clock::time_point expires);

  std::size_t clients() const;
  std::uint64_t last_id() const;
  /// The delays of every event written to a client since the hub started.
  DeliveryDelays delivery_delays() const;
  const HubOptions& options() const { return options_; }
  /// Ends every stream (server shutdown).
  void close_all();

  // Rights that change while a stream is open (docs/security.md): the API re-checks the viewers
  // and ends the streams whose rights are gone.
  /// The viewer of every open stream.
  std::vector<Viewer> viewers() const;
  /// The open streams of one user.
  std::size_t user_clients(std::string_view user_id) const;
  /// Ends every stream whose viewer matches `pred` (called under the hub's lock: it must not
  /// block); answers how many.
  std::size_t close_if(const std::function<bool(const Viewer&)>& pred);

 private:
  friend class Subscription;
  void unregister(Subscription* sub);
  /// Called by a stream for each event it hands to its connection (lock-free).
  void observe_delay(bool status_change, http::BodyStream::Clock::duration delay);

  struct DelayCounters {
    std::array<std::atomic<std::uint64_t>, DeliveryDelays::kBounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  DelayCounters status_delays_;
  DelayCounters progress_delays_;

  const HubOptions options_;
  mutable std::mutex mutex_;
  std::uint64_t next_id_;
  std::deque<std::shared_ptr<const Event>> recent_;
  std::vector<Subscription*> subs_;
};

}  // namespace mladmin::events

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "client/http_client.hpp"
#include "client/sse_parser.hpp"

namespace mladmin::client {

/// The server answered an error (`{"error": {"code", "message"}}`); the message is the server's.
class RemoteError final : public std::runtime_error {
 public:
  RemoteError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

/// The RemoteError for an error answer: the server's `error.message` and `error.code` when the
/// body has them, else the status and the start of the body.
RemoteError remote_error(const Response& response);

/// The delay before reconnect attempt `attempt` (1, 2, …): `first` doubled at each attempt, at
/// most `max`, spread by `jitter` in [0, 1) over its last quarter so that many clients dropped
/// together do not come back in step.
std::chrono::milliseconds reconnect_delay(int attempt, std::chrono::milliseconds first,
                                          std::chrono::milliseconds max, double jitter);

struct EventStreamOptions {
  std::string token;
  std::string target = "/api/ml/sync/events";
  int max_attempts = 8;                         ///< failed reconnects in a row before giving up
  std::chrono::milliseconds first_delay{1000};  ///< replaced by the server's `retry:`
  std::chrono::milliseconds max_delay{15000};
  /// Nothing at all (not even a heartbeat comment, sent every 15 s) for this long: the connection
  /// is dead even if the socket does not know it yet.
  std::chrono::milliseconds idle_timeout{45000};
};

/// GET /api/ml/sync/events that stays connected: when the stream drops it reconnects after a
/// growing delay, with Last-Event-ID so that the server replays what was missed (or sends a
/// snapshot when that is too old). Single-threaded; the caller polls.
class EventStream final {
 public:
  using Notice = std::function<void(const std::string&)>;
  /// `notice` hears of drops and reconnects, in words for a person.
  EventStream(HttpClient& http, EventStreamOptions options, Notice notice = {});
  ~EventStream();

  /// Connects and waits for the response head: from then on no event is missed. Throws
  /// RemoteError when the server refuses (401 for a bad token), ClientError when it cannot be
  /// reached, Interrupted.
  void open();

  /// Waits up to `wait` for events and returns those that arrived (maybe none). Reconnects as
  /// needed; throws ClientError after max_attempts failed reconnects in a row, RemoteError when
  /// the server refuses a reconnect (the token expired), Interrupted.
  std::vector<SseEvent> poll(std::chrono::milliseconds wait);

  /// The id a reconnect sends as Last-Event-ID.
  const std::string& last_event_id() const { return parser_.last_event_id(); }

 private:
  void connect();
  void dropped(const std::string& why);

  using Clock = std::chrono::steady_clock;
  HttpClient& http_;
  EventStreamOptions options_;
  Notice notice_;
  SseParser parser_;
  std::unique_ptr<StreamReader> reader_;
  int failures_ = 0;  ///< reconnects in a row that did not bring an event
  Clock::time_point reconnect_at_{};
  Clock::time_point last_bytes_{};
};

}  // namespace mladmin::client

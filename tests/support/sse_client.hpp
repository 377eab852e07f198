#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mladmin::test {

/// One Server-Sent Event as a client sees it.
struct SseEvent {
  std::string id;     ///< empty when the event carried no id
  std::string event;  ///< "job", "snapshot", …
  std::string data;
  boost::json::value json() const;
};

/// A client of GET /api/ml/sync/events on 127.0.0.1:port that reads the stream on a thread of its
/// own and keeps every event, comment and the response head.
class SseClient final {
 public:
  SseClient(unsigned short port, const std::string& token, std::optional<std::string> last_event_id = {},
            const std::string& target = "/api/ml/sync/events");
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  using Predicate = std::function<bool(const std::vector<SseEvent>&)>;
  /// Waits until `pred` holds over the events received so far, or `deadline` passes.
  bool wait_for(const Predicate& pred, std::chrono::milliseconds deadline = std::chrono::seconds(30));
  /// Waits until the response head arrived (or the deadline passed); answers its status (0: none).
  int status(std::chrono::milliseconds deadline = std::chrono::seconds(10));
  std::string header(const std::string& lowercase_name) const;
  /// The body of a response that was not a stream (an error).
  std::string body() const;

  std::vector<SseEvent> events() const;
  std::size_t comments() const;
  /// Waits until at least `n` comment lines (heartbeats) arrived, or `deadline` passes.
  bool wait_comments(std::size_t n, std::chrono::milliseconds deadline = std::chrono::seconds(30));
  /// True once the server ended the stream or the connection.
  bool ended() const;
  bool wait_ended(std::chrono::milliseconds deadline = std::chrono::seconds(30));
  /// Closes the connection from this side.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The job events of one job id, in order.
std::vector<boost::json::value> job_events(const std::vector<SseEvent>& events, const std::string& job_id);

}  // namespace mladmin::test

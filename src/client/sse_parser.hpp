#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mladmin::client {

/// One Server-Sent Event as the WHATWG "event stream interpretation" dispatches it.
struct SseEvent {
  std::string type = "message";  ///< the `event:` field, "message" when there was none
  std::string data;              ///< the `data:` lines joined with '\n'
  std::string last_event_id;     ///< the stream's last event id when this event was dispatched
};

/// An incremental parser of `text/event-stream` bodies: feed it the bytes as they arrive, split
/// anywhere (inside a line, between CR and LF, inside a UTF-8 sequence), and it hands back each
/// complete event. Lines end with CRLF, LF or CR; `:` starts a comment; a field without a colon has
/// an empty value; one space after the colon is dropped; `retry:` with digits only sets the
/// reconnection delay; an `id:` containing NUL is ignored. Pure: no I/O, no clock.
class SseParser final {
 public:
  /// Events larger than this (or a line longer than it) make feed() throw std::length_error.
  explicit SseParser(std::size_t max_event_bytes = 16 * 1024 * 1024) : max_event_bytes_(max_event_bytes) {}

  /// Parses `bytes`; returns the events they completed, in order.
  std::vector<SseEvent> feed(std::string_view bytes);

  /// The id to send as Last-Event-ID when reconnecting ("" before any).
  const std::string& last_event_id() const { return last_event_id_; }
  /// The reconnection delay the server asked for with `retry:`, if it did.
  std::optional<std::chrono::milliseconds> retry() const { return retry_; }
  /// Comment lines seen (the server's heartbeats).
  std::size_t comments() const { return comments_; }

  /// Forgets a partly received event and line, as a client does when the connection drops; keeps
  /// the last event id and the retry delay for the reconnect.
  void reset_connection();

 private:
  void line_done(std::vector<SseEvent>& out);
  void process_field(std::string_view field, std::string_view value);

  std::size_t max_event_bytes_;
  std::string line_;
  bool after_cr_ = false;  ///< the previous byte ended a line with CR: a following LF belongs to it
  bool at_stream_start_ = true;
  std::string data_;
  std::string type_;
  std::string id_buffer_;
  std::string last_event_id_;
  std::optional<std::chrono::milliseconds> retry_;
  std::size_t comments_ = 0;
};

}  // namespace mladmin::client

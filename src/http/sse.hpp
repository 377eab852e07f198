#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

// The text/event-stream wire format (the HTML Living Standard's "server-sent events"), the one
// place that writes it: the event hub hands it job events and the API's snapshot, and writes
// the bytes it answers to its clients (docs/jobs.md, "The event stream").
namespace mladmin::http::sse {

/// The Content-Type of an event stream.
inline constexpr std::string_view kContentType = "text/event-stream; charset=utf-8";

/// One event: "event: <name>\n", one "data: " line per line of `data` (a line break inside the
/// data, "\n", "\r\n" or "\r", starts the next "data: " line, so a client reads the same text
/// back), and the blank line that ends it. `name` must be one line (std::invalid_argument).
std::string event(std::string_view name, std::string_view data);

/// The field that sets a client's Last-Event-ID, "id: <id>\n"; written just before the event it
/// names.
std::string id_field(std::uint64_t id);

/// How long a client waits before reconnecting, as a frame of its own: "retry: <ms>\n\n".
std::string retry(std::chrono::milliseconds delay);

/// A comment frame, ": <text>\n\n", which clients ignore: the heartbeat that keeps proxies and
/// idle timeouts from closing a quiet stream. `text` must be one line (std::invalid_argument).
std::string comment(std::string_view text);

/// The heartbeat frame, comment("keep-alive").
std::string_view heartbeat();

}  // namespace mladmin::http::sse

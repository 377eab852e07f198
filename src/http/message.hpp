#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mladmin::http {

/// An HTTP request as handlers see it, free of Beast types so that handlers compile quickly.
struct Request {
  std::string method;                                        ///< "GET", "POST", …
  std::string target;                                        ///< as sent, with the query
  std::string path;                                          ///< percent-decoded, without the query
  std::multimap<std::string, std::string> query;             ///< decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lowercased
  std::string body;       ///< empty when the route spools its body to a file
  std::string body_file;  ///< the spooled body's temporary file (RouteOptions::spool_body), or empty
  std::string remote_address;
  std::map<std::string, std::string> params;  ///< path parameters matched by the router (":id")
  std::string route;  ///< the matched route's pattern ("/api/ml/sync/job/:jobId"), empty if none
  /// What RouteOptions::before_body reserved for this request (the one import slot, say), handed
  /// on to the handler; released when the request is done, also when its body never arrives.
  std::shared_ptr<void> hold;

  /// The first header with this (lowercase) name.
  std::optional<std::string_view> header(std::string_view lowercase_name) const;
  /// The first query parameter with this name.
  std::optional<std::string_view> query_param(std::string_view name) const;
  const std::string& param(const std::string& name) const;
};

/// A response body produced over time, such as a Server-Sent Events stream. The server sends
/// the head with chunked encoding, calls attach() once with a function that wakes it (callable
/// from any thread, cheap, never blocks), then pull() whenever it is woken or the time pull()
/// asked for has come, until pull() says done, the client goes away or the server shuts down;
/// then detach(). attach, pull and detach are called from one connection at a time.
class BodyStream {
 public:
  using Clock = std::chrono::steady_clock;
  struct Chunk {
    std::string data;  ///< bytes to send now (may be empty)
    /// Bytes to send after `data`, shared with other connections rather than copied into each
    /// (an event's frame, formatted once for every client: docs/benchmarks.md, "Event fan-out").
    std::vector<std::shared_ptr<const std::string>> shared;
    bool done = false;            ///< end the response after sending `data` and `shared`
    Clock::time_point next_pull;  ///< pull again by then even if not woken

    bool empty() const { return data.empty() && shared.empty(); }
    /// `data` and then every `shared` part, as one string.
    std::string bytes() const {
      std::string out = data;
      for (const auto& part : shared) {
        out += *part;
      }
      return out;
    }
  };
  virtual ~BodyStream() = default;
  virtual void attach(std::function<void()> wake) = 0;
  virtual Chunk pull(Clock::time_point now) = 0;
  virtual void detach() = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// When set, `body` is sent first and the stream follows; the connection closes at its end.
  std::shared_ptr<BodyStream> stream;

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

/// Limits and timeouts of the server (docs/openapi.yaml; STYLE: every read has a deadline, every parser a
/// body limit).
struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::size_t io_threads = 1;
  std::size_t handler_threads = 4;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds read_timeout{30000};  ///< whole request, from its first byte
  std::chrono::milliseconds idle_timeout{60000};  ///< keep-alive connection with no request
  std::chrono::milliseconds shutdown_grace{5000};
  /// The request line and headers, from the first byte of a request (from the accept for a new
  /// connection's first one); a slow head closes the connection. See docs/security.md.
  std::chrono::milliseconds head_timeout{10000};
  /// Open connections at once; more get a 503 and are closed. Room for 10,000 idle event streams.
  std::size_t max_connections = 16384;
  /// Open connections at once from one IPv4 address or IPv6 /64 (docs/security.md).
  std::size_t max_connections_per_client = 10240;
};

}  // namespace mladmin::http

#pragma once

#include <functional>
#include <memory>

#include "http/message.hpp"
#include "http/router.hpp"

namespace mladmin::http {

/// The HTTP/1.1 server: Boost.Beast over Asio with C++20 coroutines, keep-alive, header and body
/// limits, read and idle deadlines. Handlers run on a separate pool so that a slow database call
/// never stalls the I/O threads. Stops gracefully on SIGINT/SIGTERM or stop(): stops accepting,
/// answers 503 to requests that arrive meanwhile, lets in-flight requests finish, closes idle
/// connections, and gives up waiting after `shutdown_grace`.
class Server final {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and listens; returns the bound port (useful with port 0). Throws std::runtime_error
  /// saying why it could not bind.
  unsigned short listen();

  /// Serves on the calling thread plus `io_threads - 1` more until stopped. `on_stopping` runs
  /// once when shutdown begins (before in-flight requests finish).
  void run(const std::function<void()>& on_stopping = {});

  /// Told of every answered request: method, route pattern ("" when no route matched), status
  /// and the time to the response head. Set before run(); called on I/O threads, so keep it
  /// quick.
  using Observer =
      std::function<void(std::string_view method, std::string_view route, int status, double seconds)>;
  void set_observer(Observer observer);

  /// Told of every failed accept (out of descriptors or kernel memory: the accept loop then waits
  /// before trying again, docs/security.md). Set before run(); called on an I/O thread.
  void set_accept_error_observer(std::function<void()> observer);

  /// Begins a graceful shutdown; callable from any thread.
  void stop();

  /// True once shutdown has begun (readiness turns false).
  bool draining() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The docs/openapi.yaml error body: {"error": {"code", "message", "details"}}.
Response error_response(int status, std::string_view code, std::string_view message,
                        const std::vector<std::pair<std::string, std::string>>& details = {});

}  // namespace mladmin::http

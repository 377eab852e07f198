#include "http/server.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace mladmin::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

Response error_response(int status, std::string_view code, std::string_view message,
                        const std::vector<std::pair<std::string, std::string>>& details) {
  boost::json::object err;
  err["code"] = code;
  err["message"] = message;
  boost::json::object det;
  for (const auto& [k, v] : details) {
    det[k] = v;
  }
  err["details"] = std::move(det);
  boost::json::object root;
  root["error"] = std::move(err);
  Response r;
  r.status = status;
  r.body = boost::json::serialize(root);
  return r;
}

namespace {

/// What the shutdown path needs of a live connection. Lives as long as the session's coroutine
/// and is touched only on the session's strand.
struct SessionState {
  beast::tcp_stream* stream = nullptr;
  bool idle = true;                  // waiting for (or reading) a request, not running a handler
  std::function<void()> end_stream;  // set while a streamed response is being sent
};

/// How a streamed response waits: a timer that the stream's wake function (any thread) and the
/// shutdown path cancel. Touched on the session's strand, except `woken`.
struct StreamWait {
  explicit StreamWait(const asio::any_io_executor& ex) : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  std::atomic<bool> woken{false};
  bool stop = false;         // the server is shutting down
  bool peer_gone = false;    // the client closed or reset the connection
  bool watch_ended = false;  // the coroutine watching the socket has returned
};

/// The temporary file of a spooled request body; removed when the request is done.
class SpoolFile final {
 public:
  SpoolFile() = default;
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  ~SpoolFile() {
    if (!path.empty()) {
      ::unlink(path.c_str());
    }
  }

  /// Creates the file (mode 0600, under TMPDIR) and hands it to `file` for writing.
  bool create(beast::file& file, boost::system::error_code& ec) {
    std::string name = (std::filesystem::temp_directory_path(ec) / "mladmin-upload-XXXXXX").string();
    if (ec) {
      return false;
    }
    const int fd = ::mkstemp(name.data());
    if (fd < 0) {
      ec.assign(errno, boost::system::system_category());
      return false;
    }
    path = std::move(name);
    file.native_handle(fd);
    return true;
  }

  std::string path;
};

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions opts, const Router& r)
      : options(std::move(opts)),
        router(r),
        ioc(static_cast<int>(std::max<std::size_t>(options.io_threads, 1))),
        handlers(std::max<std::size_t>(options.handler_threads, 1)),
        control(asio::make_strand(ioc)),
        acceptor(control),
        signals(control, SIGINT, SIGTERM),
        trigger(control, asio::steady_timer::time_point::max()) {}

  // Declared before the io_context so that they outlive it: destroying the io_context destroys
  // the frames of sessions still suspended, and their cleanup touches the registry.
  ServerOptions options;
  const Router& router;
  std::atomic<bool> draining{false};
  std::function<void()> on_stopping;
  Server::Observer observer;
  std::mutex sessions_mutex;
  std::uint64_t next_session = 0;
  std::unordered_map<std::uint64_t, std::pair<asio::any_io_executor, std::weak_ptr<SessionState>>> sessions;

  asio::io_context ioc;
  asio::thread_pool handlers;
  asio::strand<asio::io_context::executor_type> control;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer trigger;

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
          co_return;
        }
        spdlog::warn("msg=\"accept failed\" error=\"{}\"", ec.message());
        continue;
      }
      // Without TCP_NODELAY, a small write that follows one the peer has not acknowledged yet
      // waits for that acknowledgement (Nagle), and peers delay theirs by up to 40 ms: an event
      // that follows another within a few milliseconds (progress, then paused) arrived ~40 ms
      // late. Every response here goes out in one write, so nothing is gained by waiting.
      boost::system::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      auto exec = socket.get_executor();
      asio::co_spawn(exec, session(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  awaitable<void> shutdown_watch() {
    co_await trigger.async_wait(kNoThrow);
    draining = true;
    spdlog::info("msg=\"shutting down\" grace_ms={}", options.shutdown_grace.count());
    if (on_stopping) {
      on_stopping();
    }
    boost::system::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    close_idle_sessions();
    // Poll the in-flight count until it drains or the grace period ends; this runs once per
    // process lifetime, and a short timer keeps the code free of cross-thread notification.
    const auto deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
    asio::steady_timer tick(control);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(sessions_mutex);
        if (sessions.empty()) {
          break;
        }
      }
      close_idle_sessions();
      tick.expires_after(std::chrono::milliseconds(10));
      co_await tick.async_wait(kNoThrow);
    }
    ioc.stop();
  }

  void close_idle_sessions() {
    std::lock_guard lock(sessions_mutex);
    for (auto& [id, entry] : sessions) {
      asio::post(entry.first, [weak = entry.second] {
        auto state = weak.lock();
        if (state && state->end_stream) {
          state->end_stream();
        } else if (state && state->idle && state->stream != nullptr) {
          boost::system::error_code ignored;
          state->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
          state->stream->cancel();
        }
      });
    }
  }

  awaitable<void> session(beast::tcp_stream stream) {
    auto state = std::make_shared<SessionState>();
    state->stream = &stream;
    std::uint64_t id = 0;
    {
      std::lock_guard lock(sessions_mutex);
      id = next_session++;
      sessions.emplace(id, std::make_pair(stream.get_executor(), std::weak_ptr<SessionState>(state)));
    }
    struct Unregister {
      Impl* self;
      std::uint64_t id;
      ~Unregister() {
        std::lock_guard lock(self->sessions_mutex);
        self->sessions.erase(id);
      }
    } unregister{this, id};

    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      remote = ec ? std::string("unknown") : ep.address().to_string();
    }
    beast::flat_buffer buffer;
    for (;;) {
      if (draining) {
        break;
      }
      state->idle = true;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(boost::none);  // set below, once the headers tell which route it is
      stream.expires_after(options.idle_timeout);
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kNoThrow);
      const RouteOptions* route = hec ? nullptr : route_of(parser.get());
      const std::size_t limit =
          route != nullptr && route->max_body_bytes > 0 ? route->max_body_bytes : options.max_body_bytes;
      if (!hec) {
        if (const auto length = parser.content_length(); length && *length > limit) {
          hec = bhttp::error::body_limit;
        }
        parser.body_limit(limit);
      }
      std::optional<bhttp::request<bhttp::string_body>> spooled;
      SpoolFile spool;
      if (!hec && route != nullptr && route->spool_body) {
        auto [sec, refused] = co_await read_spooled(stream, buffer, parser, *route, remote, spool, spooled);
        if (refused) {
          co_await linger(stream);
          break;
        }
        hec = sec;
      } else if (!hec) {
        stream.expires_after(options.read_timeout);
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
        hec = bec;
      }
      if (hec) {
        if (hec == bhttp::error::body_limit) {
          co_await write_error(
              stream, 413, "payload_too_large",
              "the request body is larger than the limit of " + std::to_string(limit) + " bytes", remote);
        } else if (hec == bhttp::error::header_limit) {
          co_await write_error(stream, 431, "headers_too_large", "the request headers are too large", remote);
        } else if (hec != bhttp::error::end_of_stream && hec != asio::error::operation_aborted &&
                   hec != beast::error::timeout && hec != asio::error::eof &&
                   hec != asio::error::connection_reset && hec != bhttp::error::partial_message) {
          co_await write_error(stream, 400, "bad_request", "the request is not valid HTTP/1.1", remote);
        }
        if (hec == bhttp::error::body_limit || hec == bhttp::error::header_limit) {
          co_await linger(stream);
        }
        break;
      }
      state->idle = false;
      // Built apart from the co_await: GCC 12 mishandles a temporary of a conditional expression
      // inside one (it destroyed the message twice).
      bhttp::request<bhttp::string_body> raw;
      if (spooled) {
        raw = std::move(*spooled);
      } else {
        raw = parser.release();
      }
      const bool keep = co_await serve_one(stream, *state, std::move(raw), remote, spool.path);
      if (!keep) {
        break;
      }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
    state->stream = nullptr;
  }

  /// The request line and headers as handlers see them, without the body.
  static Request head_of(const bhttp::request_header<>& head, const std::string& remote) {
    Request req;
    req.method = std::string(head.method_string());
    req.target = std::string(head.target());
    req.remote_address = remote;
    for (const auto& field : head) {
      req.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
    }
    if (auto url = boost::urls::parse_origin_form(req.target)) {
      req.path = url->path();
      for (auto param : url->params()) {
        req.query.emplace(param.key, param.value);
      }
    }
    return req;
  }

  /// The options of the route a request goes to, or null (no route: the defaults apply, and
  /// serve_one answers 404 or 405).
  const RouteOptions* route_of(const bhttp::request_header<>& head) const {
    auto url = boost::urls::parse_origin_form(head.target());
    if (!url) {
      return nullptr;
    }
    Request probe;
    probe.method = std::string(head.method_string());
    probe.path = url->path();
    return router.match(probe).options;
  }

  /// Reads the body of a spooled route (RouteOptions::spool_body) into `spool`, a new temporary
  /// file, and leaves the request, with an empty body, in `out`. Runs the route's before_body
  /// check first; `refused` is true when a response was sent instead (the body is unread, so the
  /// connection must close).
  awaitable<std::pair<boost::system::error_code, bool>> read_spooled(
      beast::tcp_stream& stream, beast::flat_buffer& buffer,
      bhttp::request_parser<bhttp::string_body>& header, const RouteOptions& route, const std::string& remote,
      SpoolFile& spool, std::optional<bhttp::request<bhttp::string_body>>& out) {
    const auto started = std::chrono::steady_clock::now();
    const unsigned version = header.get().version();
    Request req = head_of(header.get(), remote);
    if (route.before_body) {
      router.match(req);  // fills the path parameters
      auto refusal = co_await asio::co_spawn(
          handlers,
          [&route, &req]() -> awaitable<std::optional<Response>> {
            try {
              co_return route.before_body(req);
            } catch (const std::exception& e) {
              spdlog::error("msg=\"unhandled exception\" path={} error=\"{}\"", req.path, e.what());
            }
            co_return error_response(500, "internal", "an internal error occurred; it has been logged");
          },
          use_awaitable);
      if (refusal) {
        co_await write(stream, *refusal, version, false, false, req.method, req.path, remote, started);
        co_return std::make_pair(boost::system::error_code(), true);
      }
    }
    boost::system::error_code ec;
    beast::file file;
    if (!spool.create(file, ec)) {
      spdlog::error("msg=\"cannot create a spool file\" path={} error=\"{}\"", req.path, ec.message());
      co_await write(stream, spool_error(ec), version, false, false, req.method, req.path, remote, started);
      co_return std::make_pair(boost::system::error_code(), true);
    }
    bhttp::request_parser<bhttp::file_body> parser{std::move(header)};
    parser.get().body().reset(std::move(file), ec);
    if (!ec && lowercase(parser.get()[bhttp::field::expect]) == "100-continue") {
      bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, version};
      stream.expires_after(options.read_timeout);
      std::tie(ec, std::ignore) = co_await bhttp::async_write(stream, go_on, kNoThrow);
    }
    // A deadline per read rather than for the whole body: a large upload over a slow link may
    // take longer than read_timeout, as long as it keeps moving.
    while (!ec && !parser.is_done()) {
      stream.expires_after(options.read_timeout);
      std::tie(ec, std::ignore) = co_await bhttp::async_read_some(stream, buffer, parser, kNoThrow);
    }
    if (ec == boost::system::errc::no_space_on_device || ec == boost::system::errc::file_too_large) {
      spdlog::error("msg=\"cannot store an upload\" path={} error=\"{}\"", req.path, ec.message());
      co_await write(stream, spool_error(ec), version, false, false, req.method, req.path, remote, started);
      co_return std::make_pair(boost::system::error_code(), true);
    }
    if (!ec) {
      out.emplace(std::move(parser.release().base()));
    }
    co_return std::make_pair(ec, false);
  }

  static Response spool_error(const boost::system::error_code& ec) {
    if (ec == boost::system::errc::no_space_on_device || ec == boost::system::errc::file_too_large) {
      return error_response(507, "insufficient_storage", "the server has no room to store the request body");
    }
    return error_response(500, "internal", "an internal error occurred; it has been logged");
  }

  /// After refusing a request whose bytes are still arriving, half-close and read what is left
  /// (bounded in bytes and time) before closing: closing a socket with unread data makes the
  /// kernel send a reset, which can destroy the error response before the client reads it.
  awaitable<void> linger(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::array<char, 16384> scratch{};
    std::size_t drained = 0;
    while (drained < 8 * options.max_body_bytes + (1 << 20)) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kNoThrow);
      if (ec) {
        break;
      }
      drained += n;
    }
  }

  awaitable<void> write_error(beast::tcp_stream& stream, int status, std::string_view code,
                              std::string message, const std::string& remote) {
    Response r = error_response(status, code, message);
    co_await write(stream, r, 11, false, false, "-", "-", remote, std::chrono::steady_clock::now());
  }

  /// Handles one parsed request; returns whether the connection stays open.
  awaitable<bool> serve_one(beast::tcp_stream& stream, SessionState& state,
                            bhttp::request<bhttp::string_body> raw, const std::string& remote,
                            std::string body_file = {}) {
    const auto started = std::chrono::steady_clock::now();
    Request req;
    req.method = std::string(raw.method_string());
    req.target = std::string(raw.target());
    req.remote_address = remote;
    req.body = std::move(raw.body());
    req.body_file = std::move(body_file);
    for (const auto& field : raw) {
      req.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
    }
    const bool keep_alive = raw.keep_alive() && !draining;
    const bool head = raw.method() == bhttp::verb::head;

    Response res;
    auto url = boost::urls::parse_origin_form(req.target);
    if (!url) {
      res = error_response(400, "bad_request", "the request target is not a valid path");
    } else {
      req.path = url->path();
      for (auto param : url->params()) {
        req.query.emplace(param.key, param.value);
      }
      if (draining) {
        res = error_response(503, "shutting_down", "the server is shutting down; retry on another node");
        res.header("Retry-After", "1");
      } else {
        auto match = router.match(req);
        if (match.handler == nullptr && match.allowed.empty()) {
          res = error_response(404, "not_found", "no route for " + req.method + " " + req.path);
        } else if (match.handler == nullptr) {
          std::string allow;
          for (const auto& m : match.allowed) {
            allow += allow.empty() ? m : ", " + m;
          }
          res = error_response(
              405, "method_not_allowed",
              "method " + req.method + " is not allowed on " + req.path + " (allowed: " + allow + ")");
          res.header("Allow", allow);
        } else {
          const Handler* handler = match.handler;
          res = co_await asio::co_spawn(
              handlers,
              [handler, &req]() -> awaitable<Response> {
                try {
                  co_return (*handler)(req);
                } catch (const std::exception& e) {
                  spdlog::error("msg=\"unhandled exception\" path={} error=\"{}\"", req.path, e.what());
                } catch (...) {
                  spdlog::error("msg=\"unhandled exception\" path={}", req.path);
                }
                co_return error_response(500, "internal", "an internal error occurred; it has been logged");
              },
              use_awaitable);
        }
      }
    }
    if (observer) {
      observer(req.method, req.route, res.status,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    if (res.stream && !head) {
      co_return co_await write_stream(stream, state, res, raw.version(), req.method, req.path, remote,
                                      started);
    }
    co_return co_await write(stream, res, raw.version(), keep_alive, head, req.method, req.path, remote,
                             started);
  }

  /// Sends a streamed response with chunked encoding until the stream ends, the client goes away
  /// or the server shuts down. A client that stops reading for `read_timeout` is dropped, so a
  /// stalled reader holds no more than the socket's buffers. Always closes the connection.
  awaitable<bool> write_stream(beast::tcp_stream& stream, SessionState& state, Response& r, unsigned version,
                               std::string_view method, std::string_view path, const std::string& remote,
                               std::chrono::steady_clock::time_point started) {
    bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(r.status), version};
    head.set(bhttp::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) {
      head.set(name, value);
    }
    head.set(bhttp::field::cache_control, "no-store");
    head.set("X-Content-Type-Options", "nosniff");
    head.keep_alive(false);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    stream.expires_after(options.read_timeout);
    auto [hec, hn] = co_await bhttp::async_write_header(stream, serializer, kNoThrow);
    stream.expires_never();
    if (hec) {
      co_return false;
    }

    auto wait = std::make_shared<StreamWait>(stream.get_executor());
    const auto exec = stream.get_executor();
    struct Detach {
      BodyStream& body;
      SessionState& state;
      ~Detach() {
        body.detach();
        state.end_stream = nullptr;
      }
    } detach{*r.stream, state};
    r.stream->attach([weak = std::weak_ptr<StreamWait>(wait), exec] {
      auto w = weak.lock();
      if (w && !w->woken.exchange(true)) {
        asio::post(exec, [weak] {
          if (auto w2 = weak.lock()) {
            w2->timer.cancel();
          }
        });
      }
    });
    state.end_stream = [w = wait.get()] {
      w->stop = true;
      w->timer.cancel();
    };
    // Watch the socket so that a client that goes away is noticed at once, not at the next
    // heartbeat.
    asio::co_spawn(
        exec,
        [w = wait, &socket = stream.socket()]() -> awaitable<void> {
          std::array<char, 256> scratch{};
          for (;;) {
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(scratch), kNoThrow);
            if (ec) {
              break;
            }
          }
          w->peer_gone = true;
          w->watch_ended = true;
          w->timer.cancel();
        },
        asio::detached);

    std::string out = std::move(r.body);
    bool ended = false;  // the stream said done, or the server is stopping: end it cleanly
    for (;;) {
      if (wait->peer_gone) {
        break;
      }
      if (wait->stop) {
        ended = true;
      }
      wait->woken = false;
      auto chunk = r.stream->pull(std::chrono::steady_clock::now());
      // Take the chunk's bytes rather than copy them, and let go of the buffer once written: a
      // stream spends most of its life idle, and a kept buffer (or a kept chunk) would hold a
      // copy of the largest thing it ever sent, such as a snapshot of tens of KiB.
      if (out.empty()) {
        out = std::move(chunk.data);
      } else {
        out += chunk.data;
      }
      std::string().swap(chunk.data);
      if (!out.empty()) {
        stream.expires_after(options.read_timeout);
        auto [wec, wn] = co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(out)), kNoThrow);
        stream.expires_never();
        std::string().swap(out);
        if (wec) {
          break;
        }
      }
      if (chunk.done || ended) {
        ended = true;
        break;
      }
      if (wait->woken || wait->peer_gone || wait->stop) {
        continue;
      }
      wait->timer.expires_at(chunk.next_pull);
      co_await wait->timer.async_wait(kNoThrow);
    }
    if (ended && !wait->peer_gone) {
      stream.expires_after(std::chrono::seconds(2));
      co_await asio::async_write(stream, bhttp::make_chunk_last(), kNoThrow);
      stream.expires_never();
    }
    // Stop the watcher and wait for it: it refers to this connection's socket.
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().cancel(ignored);
    while (!wait->watch_ended) {
      wait->timer.expires_at(asio::steady_timer::time_point::max());
      co_await wait->timer.async_wait(kNoThrow);
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("msg=\"stream ended\" method={} path={} status={} ms={:.2f} remote={}", method, path,
                 r.status, ms, remote);
    co_return false;
  }

  awaitable<bool> write(beast::tcp_stream& stream, const Response& r, unsigned version, bool keep_alive,
                        bool head, std::string_view method, std::string_view path, const std::string& remote,
                        std::chrono::steady_clock::time_point started) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(r.status), version};
    out.set(bhttp::field::content_type, r.content_type);
    bool has_cache_control = false;
    for (const auto& [name, value] : r.headers) {
      out.set(name, value);
      has_cache_control = has_cache_control || lowercase(name) == "cache-control";
    }
    if (!has_cache_control) {
      out.set(bhttp::field::cache_control, "no-store");
    }
    out.set("X-Content-Type-Options", "nosniff");
    out.keep_alive(keep_alive);
    out.body() = r.body;
    if (r.status != 304) {  // a 304 has no body, and its Content-Length would be the 200's
      out.prepare_payload();
    }
    if (head) {
      out.body().clear();
    }
    stream.expires_after(options.read_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, out, kNoThrow);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("msg=request method={} path={} status={} ms={:.2f} remote={}", method, path, r.status, ms,
                 remote);
    co_return !ec && keep_alive;
  }
};

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() {
  impl_->handlers.join();
}

unsigned short Server::listen() {
  auto& i = *impl_;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(i.options.host, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on '" + i.options.host + "': not an IP address");
  }
  tcp::endpoint endpoint(address, i.options.port);
  i.acceptor.open(endpoint.protocol());
  i.acceptor.set_option(asio::socket_base::reuse_address(true));
  i.acceptor.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + i.options.host + ":" + std::to_string(i.options.port) +
                             ": " + ec.message());
  }
  i.acceptor.listen(asio::socket_base::max_listen_connections);
  return i.acceptor.local_endpoint().port();
}

void Server::run(const std::function<void()>& on_stopping) {
  auto& i = *impl_;
  i.on_stopping = on_stopping;
  i.signals.async_wait([&i](const boost::system::error_code& ec, int) {
    if (!ec) {
      i.trigger.cancel();
    }
  });
  asio::co_spawn(i.control, i.shutdown_watch(), asio::detached);
  asio::co_spawn(i.control, i.accept_loop(), asio::detached);
  std::vector<std::thread> extra;
  for (std::size_t n = 1; n < i.options.io_threads; ++n) {
    extra.emplace_back([&i] { i.ioc.run(); });
  }
  i.ioc.run();
  for (auto& t : extra) {
    t.join();
  }
}

void Server::set_observer(Observer observer) {
  impl_->observer = std::move(observer);
}

void Server::stop() {
  asio::post(impl_->control, [i = impl_.get()] { i->trigger.cancel(); });
}

bool Server::draining() const {
  return impl_->draining;
}

}  // namespace mladmin::http

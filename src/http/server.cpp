#include "http/server.hpp"

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/detail/reactor.hpp>
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
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "http/log_text.hpp"

namespace mladmin::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(use_awaitable);

/// The most a session reads from its socket at once.
constexpr std::size_t kReadSize = 64 * 1024;
/// The name of a spooled body's temporary file, before mkstemp's six characters.
constexpr std::string_view kSpoolPrefix = "mladmin-upload-";

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

/// How a streamed response waits for its next write, and its write deadline (docs/benchmarks.md,
/// "Event fan-out"). The stream's wake function (any thread) resumes the waiting coroutine with one
/// post to its strand; a timer ends the wait at the time pull() asked for, and stays armed across
/// waits while that time is no earlier than its own (an early expiry costs one empty pull), so
/// that a busy stream does not re-arm it for every event. A second timer drops a client that
/// stops reading: armed when a write starts and finds it idle, it fires at most once per
/// `write_timeout` and only then looks at the write in progress, instead of a deadline armed and
/// cancelled around every write. Touched on the session's strand, except wake().
class StreamWait final : public std::enable_shared_from_this<StreamWait> {
  /// The waiting coroutine's completion handler, type-erased.
  struct Resume {
    virtual ~Resume() = default;
    virtual void operator()() = 0;
  };
  template <typename Handler>
  struct ResumeWith final : Resume {
    explicit ResumeWith(Handler h) : handler(std::move(h)) {}
    void operator()() override { std::move(handler)(); }
    Handler handler;
  };

 public:
  using Clock = asio::steady_timer::clock_type;

  StreamWait(const asio::any_io_executor& ex, tcp::socket& socket, std::chrono::milliseconds write_timeout)
      : executor_(ex), timer_(ex), write_timer_(ex), socket_(socket), write_timeout_(write_timeout) {}

  /// Any thread: ends the current wait, or the next one at once.
  void wake() {
    std::unique_ptr<Resume> handler;
    {
      std::lock_guard lock(mutex_);
      woken_ = true;
      handler = std::move(handler_);
    }
    if (handler) {
      resume_later(std::move(handler));
    }
  }

  /// Whether wake() was called since the last wait began; clears it.
  bool take_woken() {
    std::lock_guard lock(mutex_);
    return std::exchange(woken_, false);
  }

  /// Completes when woken (at once if woken since take_woken) or by `deadline`, maybe earlier.
  template <typename Token>
  auto async_wait(Clock::time_point deadline, Token&& token) {
    return asio::async_initiate<Token, void()>(
        [this, deadline](auto handler) {
          {
            std::unique_lock lock(mutex_);
            if (!woken_) {
              handler_ = std::make_unique<ResumeWith<decltype(handler)>>(std::move(handler));
              lock.unlock();
              arm(deadline);
              return;
            }
          }
          resume_later(std::make_unique<ResumeWith<decltype(handler)>>(std::move(handler)));
        },
        token);
  }

  /// A write begins (now) or ends; a write still in progress `write_timeout` after it began
  /// shuts the socket down, which ends the write with an error.
  void write_begins() {
    write_started_ = Clock::now();
    if (!write_timer_armed_) {
      write_timer_armed_ = true;
      arm_write_timer(write_started_ + write_timeout_);
    }
  }
  void write_ends() { write_started_ = Clock::time_point::max(); }

  /// The stream is over: stops both timers; a completion still queued finds nothing to do.
  void close() {
    closed_ = true;
    timer_.cancel();
    write_timer_.cancel();
  }

  bool stop = false;         // the server is shutting down
  bool peer_gone = false;    // the client closed or reset the connection
  bool watch_ended = false;  // the coroutine watching the socket has returned

 private:
  /// Resumes the waiting coroutine with one post to the session's strand, its executor.
  void resume_later(std::unique_ptr<Resume> handler) {
    asio::post(executor_, [handler = std::move(handler)] { (*handler)(); });
  }

  void arm(Clock::time_point deadline) {
    if (timer_armed_ && armed_at_ <= deadline) {
      return;
    }
    timer_armed_ = true;
    armed_at_ = deadline;
    const auto generation = ++arm_generation_;
    timer_.expires_at(deadline);  // cancels the wait of an earlier deadline, if any
    timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted || self->closed_ || generation != self->arm_generation_) {
        return;  // re-armed or closed meanwhile
      }
      self->timer_armed_ = false;
      std::unique_ptr<Resume> handler;
      {
        std::lock_guard lock(self->mutex_);
        handler = std::move(self->handler_);
      }
      if (handler) {
        (*handler)();  // on the session's strand already: resumes the coroutine here
      }
    });
  }

  void arm_write_timer(Clock::time_point at) {
    write_timer_.expires_at(at);
    write_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted || self->closed_) {
        return;
      }
      if (self->write_started_ == Clock::time_point::max()) {
        self->write_timer_armed_ = false;  // no write in progress: the next one arms it again
      } else if (Clock::now() - self->write_started_ >= self->write_timeout_) {
        self->write_timer_armed_ = false;
        boost::system::error_code ignored;
        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
        self->socket_.cancel(ignored);
      } else {
        self->arm_write_timer(self->write_started_ + self->write_timeout_);
      }
    });
  }

  const asio::any_io_executor executor_;
  std::mutex mutex_;  // guards woken_ and handler_, which wake() touches from any thread
  bool woken_ = false;
  std::unique_ptr<Resume> handler_;

  asio::steady_timer timer_;
  bool timer_armed_ = false;
  Clock::time_point armed_at_;
  std::uint64_t arm_generation_ = 0;

  asio::steady_timer write_timer_;
  bool write_timer_armed_ = false;
  Clock::time_point write_started_ = Clock::time_point::max();

  tcp::socket& socket_;
  const std::chrono::milliseconds write_timeout_;
  bool closed_ = false;
};

/// Keeps the reactor's per-socket state out of the pages that connections' own data uses
/// (docs/benchmarks.md, "Event fan-out"). Asio's epoll reactor allocates a small state object
/// (168 bytes) for every socket it watches and keeps it in a pool that it never frees, reusing it
/// for the next socket. Allocated one by one as connections were accepted, between each
/// connection's other allocations, 10,000 of them survived a burst of 10,000 event streams, one on
/// almost every page the streams had used, and kept about 40 MiB resident that malloc_trim could
/// not give back (found with heaptrack: the only allocations of the I/O thread that outlived the
/// streams, 10,000 of them). This fills the pool ahead of the open connections, a block of
/// states allocated in a row at a time, so that they sit together. Touched on the control strand.
class DescriptorStateReserve final {
 public:
  /// States allocated in a row at a time (about 170 KiB).
  static constexpr std::size_t kBlock = 1024;

  explicit DescriptorStateReserve(asio::io_context& ioc)
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
      : reactor_(asio::use_service<asio::detail::reactor>(static_cast<asio::execution_context&>(ioc)))
#endif
  {
    (void)ioc;
  }

  /// Makes sure that the pool holds states for `open` connections and a quarter of a block more.
  void ensure(std::size_t open) {
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
    if (open + kBlock / 4 <= reserved_) {
      return;
    }
    // Registering an invalid descriptor takes a state from the pool (a new one when the pool is
    // empty) and fails in epoll_ctl; cleaning up gives the state back to the pool, whose free list
    // the next sockets take from. Nothing reaches the kernel's epoll set.
    std::vector<asio::detail::reactor::per_descriptor_data> states(kBlock);
    for (auto& state : states) {
      reactor_.register_descriptor(-1, state);
    }
    for (auto& state : states) {
      reactor_.cleanup_descriptor_data(state);
    }
    reserved_ += kBlock;
#else
    (void)open;
#endif
  }

 private:
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  asio::detail::reactor& reactor_;
#endif
  std::size_t reserved_ = 0;
};

/// The temporary file of a spooled request body; removed when the request is done.
class SpoolFile final {
 public:
  SpoolFile() = default;
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  ~SpoolFile() { remove(); }

  /// Deletes the file now (an open descriptor keeps its bytes until it closes).
  void remove() {
    if (!path.empty()) {
      ::unlink(path.c_str());
      path.clear();
    }
  }

  /// Creates the file (mode 0600, under TMPDIR) and hands it to `file` for writing. The file is
  /// locked (flock) for as long as it is open, which tells sweep_stale_spools that it is in use.
  bool create(beast::file& file, boost::system::error_code& ec) {
    std::string name =
        (std::filesystem::temp_directory_path(ec) / (std::string(kSpoolPrefix) + "XXXXXX")).string();
    if (ec) {
      return false;
    }
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) {
      ec.assign(errno, boost::system::system_category());
      return false;
    }
    ::flock(fd, LOCK_EX | LOCK_NB);  // a new file: nobody else can hold its lock
    path = std::move(name);
    file.native_handle(fd);
    return true;
  }

  std::string path;
};

/// Removes the spool files that a process which crashed (or was killed) while receiving an upload
/// left in TMPDIR; returns how many. A live process holds the lock of each of its spool files and
/// the kernel drops it when the process dies, so a file whose lock can be taken belongs to
/// nobody, even when several servers share TMPDIR. See docs/security.md.
std::size_t sweep_stale_spools() {
  std::error_code ec;
  const auto dir = std::filesystem::temp_directory_path(ec);
  if (ec) {
    return 0;
  }
  std::size_t removed = 0;
  std::filesystem::directory_iterator it(dir, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (name.size() != kSpoolPrefix.size() + 6 || name.compare(0, kSpoolPrefix.size(), kSpoolPrefix) != 0 ||
        !it->is_regular_file(type_ec) || it->is_symlink(type_ec)) {
      continue;
    }
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      continue;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::unlink(it->path().c_str()) == 0) {
      ++removed;
    }
    ::close(fd);
  }
  return removed;
}

/// The key of a client for max_connections_per_client: its IPv4 address, or the /64 prefix of an
/// IPv6 one (a single host commonly holds a whole /64).
std::string client_key(const asio::ip::address& address) {
  if (address.is_v6() && !address.to_v6().is_v4_mapped()) {
    auto bytes = address.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return asio::ip::address_v6(bytes).to_string() + "/64";
  }
  return address.is_v6() ? asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string()
                         : address.to_string();
}

/// The raw bytes of the 503 sent to a connection over a cap.
std::string busy_response() {
  const Response r = error_response(503, "too_many_connections",
                                    "the server has too many open connections; retry in a moment");
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(r.body.size()) +
         "\r\nCache-Control: no-store\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + r.body;
}

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
        trigger(control, asio::steady_timer::time_point::max()),
        trim_timer(control),
        descriptor_states(ioc) {}

  // Declared before the io_context so that they outlive it: destroying the io_context destroys
  // the frames of sessions still suspended, and their cleanup touches the registry.
  ServerOptions options;
  const Router& router;
  std::atomic<bool> draining{false};
  std::function<void()> on_stopping;
  Server::Observer observer;
  std::function<void()> on_accept_error;
  std::mutex sessions_mutex;
  std::uint64_t next_session = 0;
  std::unordered_map<std::uint64_t, std::pair<asio::any_io_executor, std::weak_ptr<SessionState>>> sessions;
  // Open connections, in all and by client_key(), for the connection caps; under sessions_mutex.
  std::size_t open_connections = 0;
  std::unordered_map<std::string, std::size_t> connections_by_client;
  const std::string busy = busy_response();
  // Connections refused over a cap since the last warning (touched by the accept loop only).
  std::size_t refused_connections = 0;
  std::chrono::steady_clock::time_point refusals_logged{};

  asio::io_context ioc;
  asio::thread_pool handlers;
  asio::strand<asio::io_context::executor_type> control;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer trigger;

  // Memory after event streams end (docs/benchmarks.md, "Idle event-stream connections"): glibc
  // keeps what a burst of ended streams freed, well over a hundred MiB after 10,000. A quarter of a
  // second after a stream ends, malloc_trim hands the free pages back to the kernel, on a handler
  // thread so that the I/O thread does not wait for it; at most one is scheduled at a time.
  asio::steady_timer trim_timer;
  std::atomic<bool> trim_scheduled{false};
  DescriptorStateReserve descriptor_states;

  void stream_ended() {
#if defined(__GLIBC__)
    if (trim_scheduled.exchange(true)) {
      return;
    }
    asio::post(control, [this] {
      trim_timer.expires_after(std::chrono::milliseconds(250));
      trim_timer.async_wait([this](boost::system::error_code ec) {
        trim_scheduled = false;
        if (!ec) {
          asio::post(handlers, [] { ::malloc_trim(0); });
        }
      });
    });
#endif
  }

  /// A connection's place under the connection caps, given back when its session ends.
  class ConnectionSlot final {
   public:
    ConnectionSlot(Impl* impl, std::string client) : impl_(impl), client_(std::move(client)) {}
    ConnectionSlot(ConnectionSlot&& other) noexcept
        : impl_(std::exchange(other.impl_, nullptr)), client_(std::move(other.client_)) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ~ConnectionSlot() {
      if (impl_ != nullptr) {
        std::lock_guard lock(impl_->sessions_mutex);
        --impl_->open_connections;
        if (auto it = impl_->connections_by_client.find(client_);
            it != impl_->connections_by_client.end() && --it->second == 0) {
          impl_->connections_by_client.erase(it);
        }
      }
    }

   private:
    Impl* impl_;
    std::string client_;
  };

  /// A slot for a new connection from `client`, or nothing when max_connections or
  /// max_connections_per_client is reached.
  std::optional<ConnectionSlot> take_slot(const std::string& client) {
    std::lock_guard lock(sessions_mutex);
    if (open_connections >= options.max_connections) {
      return std::nullopt;
    }
    auto it = connections_by_client.try_emplace(client, 0).first;
    if (it->second >= options.max_connections_per_client) {
      return std::nullopt;
    }
    ++it->second;
    ++open_connections;
    return ConnectionSlot(this, client);
  }

  /// Answers a connection over a cap with a 503 and closes it, without waiting for anything: the
  /// few bytes fit in any socket buffer, and nothing is read (a client whose request is already
  /// on its way may see a reset instead). Warns at most once a minute, with a count.
  template <class Socket>
  void refuse_connection(Socket& socket) {
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(busy), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    ++refused_connections;
    const auto now = std::chrono::steady_clock::now();
    if (now - refusals_logged >= std::chrono::minutes(1)) {
      spdlog::warn("msg=\"refused connections over the cap\" count={} max_connections={} max_per_client={}",
                   refused_connections, options.max_connections, options.max_connections_per_client);
      refused_connections = 0;
      refusals_logged = now;
    }
  }

  awaitable<void> accept_loop() {
    asio::steady_timer pause(control);
    std::chrono::milliseconds backoff{0};
    for (;;) {
      {
        std::unique_lock lock(sessions_mutex);
        const std::size_t open = open_connections;
        lock.unlock();
        descriptor_states.ensure(open + 1);  // the socket this accept is about to register
      }
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
          co_return;
        }
        // Out of descriptors (EMFILE, ENFILE) or kernel memory, the connection stays queued and
        // accepting again at once fails again at once: retrying in a loop spun a core and filled
        // the log. Wait instead, 10 ms doubling to 1 s, until a closing connection frees a
        // descriptor; warn once per episode. See docs/security.md.
        if (on_accept_error) {
          on_accept_error();
        }
        if (backoff.count() == 0) {
          spdlog::warn("msg=\"accept failed; retrying with backoff\" error=\"{}\"", ec.message());
        }
        backoff = std::clamp(backoff * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
        pause.expires_after(backoff);
        co_await pause.async_wait(kNoThrow);
        continue;
      }
      if (backoff.count() != 0) {
        spdlog::info("msg=\"accepting connections again\"");
        backoff = std::chrono::milliseconds(0);
      }
      boost::system::error_code remote_ec;
      const auto peer = socket.remote_endpoint(remote_ec);
      std::string remote = remote_ec ? std::string("unknown") : peer.address().to_string();
      auto slot = take_slot(remote_ec ? remote : client_key(peer.address()));
      if (!slot) {
        refuse_connection(socket);
        continue;
      }
      // Without TCP_NODELAY, a small write that follows one the peer has not acknowledged yet
      // waits for that acknowledgement (Nagle), and peers delay theirs by up to 40 ms: an event
      // that follows another within a few milliseconds (progress, then paused) arrived ~40 ms
      // late. Every response here goes out in one write, so nothing is gained by waiting.
      boost::system::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      auto exec = socket.get_executor();
      asio::co_spawn(exec, session(beast::tcp_stream(std::move(socket)), std::move(*slot), std::move(remote)),
                     asio::detached);
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

  awaitable<void> session(beast::tcp_stream stream, [[maybe_unused]] ConnectionSlot slot,
                          std::string remote) {
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

    // Bounded (docs/security.md, "Limits against exhaustion"): the parser consumes header and
    // body bytes as they arrive, but keeps a chunk-size line with its extensions, or a trailer
    // section, in the buffer until it is complete, and neither counts toward the header or body
    // limit. A read that would grow the buffer past this bound fails with buffer_overflow (400).
    beast::flat_buffer buffer(options.max_header_bytes + kReadSize);
    bool first_request = true;
    for (;;) {
      if (draining) {
        break;
      }
      state->idle = true;
      // A kept-alive connection may wait idle_timeout for its next request to begin; from its
      // first byte (from the accept, for a connection's first request) the whole head must arrive
      // within head_timeout, so that trickling header bytes holds a connection for seconds, not
      // for a minute per byte.
      if (!first_request && buffer.size() == 0) {
        stream.expires_after(options.idle_timeout);
        auto [wec, wn] = co_await stream.async_read_some(buffer.prepare(kReadSize), kNoThrow);
        if (wec) {
          break;
        }
        buffer.commit(wn);
      }
      first_request = false;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(boost::none);  // set below, once the headers tell which route it is
      stream.expires_after(options.head_timeout);
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kNoThrow);
      if (!hec && parser.get().count(bhttp::field::transfer_encoding) > 0 && !parser.chunked()) {
        // RFC 9112 §6.3: when the last transfer coding is not chunked, a request's length cannot
        // be known. Beast reads such a request as bodiless and would parse its body as the next
        // request (request smuggling past a proxy that frames it otherwise): refuse and close.
        hec = bhttp::error::bad_transfer_encoding;
      }
      // The target is parsed and the route matched once per request, here: the body limit, the
      // before_body check and serve_one all use this head and this match.
      Request head;
      bool target_ok = false;
      Router::Match match;
      if (!hec) {
        target_ok = read_head(parser.get(), remote, head);
        if (target_ok) {
          match = router.match(head);
        }
      }
      const RouteOptions* route = match.options;
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
      std::shared_ptr<void> hold;  // what before_body reserved; kept until the request is done
      if (!hec && route != nullptr && route->spool_body) {
        auto [sec, refused] =
            co_await read_spooled(stream, buffer, parser, *route, head, remote, spool, spooled, hold);
        if (refused) {  // read_spooled gave back what it reserved before answering
          co_await linger(stream);
          break;
        }
        hec = sec;
      } else if (!hec) {
        // The route's before_body check (the caller's token) runs before a body that is still
        // on its way is read, so that nobody without a valid token makes the server take in
        // max_body_bytes. A body already in the buffer is read first: checking it first would
        // save nothing and cost a second check.
        const auto length = parser.content_length();
        const bool body_coming = parser.chunked() || (length && *length > buffer.size());
        if (route != nullptr && route->before_body && body_coming) {
          const auto started = std::chrono::steady_clock::now();
          if (auto refusal = co_await check_before_body(*route, head)) {
            co_await write(stream, *refusal, parser.get().version(), false, false, head.method, head.path,
                           remote, started);
            co_await linger(stream);
            break;
          }
          hold = std::move(head.hold);
        }
        stream.expires_after(options.read_timeout);
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kNoThrow);
        hec = bec;
      }
      if (hec) {
        // What the request reserved (the import slot) and its spool go before the refusal is
        // sent: the client has its answer and may send the next upload at once.
        hold.reset();
        spool.remove();
        if (hec == bhttp::error::body_limit) {
          co_await write_error(
              stream, 413, "payload_too_large",
              "the request body is larger than the limit of " + std::to_string(limit) + " bytes", remote);
        } else if (hec == bhttp::error::header_limit) {
          co_await write_error(stream, 431, "headers_too_large", "the request headers are too large", remote);
        } else if (hec == bhttp::error::bad_transfer_encoding) {
          co_await write_error(stream, 400, "bad_request",
                               "the request's Transfer-Encoding must end in chunked, without Content-Length",
                               remote);
        } else if (hec == bhttp::error::buffer_overflow) {
          co_await write_error(
              stream, 400, "bad_request",
              "a chunk-size line, its extensions or the trailers of the request are too long", remote);
        } else if (hec != bhttp::error::end_of_stream && hec != asio::error::operation_aborted &&
                   hec != beast::error::timeout && hec != asio::error::eof &&
                   hec != asio::error::connection_reset && hec != bhttp::error::partial_message) {
          co_await write_error(stream, 400, "bad_request", "the request is not valid HTTP/1.1", remote);
        }
        if (hec == bhttp::error::body_limit || hec == bhttp::error::header_limit ||
            hec == bhttp::error::bad_transfer_encoding || hec == bhttp::error::buffer_overflow) {
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
      const bool keep = co_await serve_one(stream, *state, std::move(raw), std::move(head), target_ok, match,
                                           remote, spool.path, std::move(hold));
      if (!keep) {
        break;
      }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
    state->stream = nullptr;
  }

  /// The request line and headers as handlers see them, without the body, into `req`; false when
  /// the target is not a valid origin-form path (serve_one answers 400).
  static bool read_head(const bhttp::request_header<>& head, const std::string& remote, Request& req) {
    req.method = std::string(head.method_string());
    req.target = std::string(head.target());
    req.remote_address = remote;
    for (const auto& field : head) {
      req.headers.emplace_back(lowercase(field.name_string()), std::string(field.value()));
    }
    auto url = boost::urls::parse_origin_form(req.target);
    if (!url) {
      return false;
    }
    req.path = url->path();
    for (auto param : url->params()) {
      req.query.emplace(param.key, param.value);
    }
    return true;
  }

  /// Runs the route's before_body check on the handler pool with the request's head (matched: its
  /// path parameters are filled); the response it refuses with, if any. What it reserved is left
  /// in `head.hold`.
  awaitable<std::optional<Response>> check_before_body(const RouteOptions& route, Request& head) {
    co_return co_await asio::co_spawn(
        handlers,
        [&route, &head]() -> awaitable<std::optional<Response>> {
          try {
            co_return route.before_body(head);
          } catch (const std::exception& e) {
            spdlog::error("msg=\"unhandled exception\" path=\"{}\" error=\"{}\"", log_text(head.path),
                          log_text(e.what()));
          }
          co_return error_response(500, "internal", "an internal error occurred; it has been logged");
        },
        use_awaitable);
  }

  /// Reads the body of a spooled route (RouteOptions::spool_body) into `spool`, a new temporary
  /// file, and leaves the request, with an empty body, in `out`. Runs the route's before_body
  /// check first (what it reserved goes to `hold`); `refused` is true when a response was sent
  /// instead (the body is unread, so the connection must close).
  awaitable<std::pair<boost::system::error_code, bool>> read_spooled(
      beast::tcp_stream& stream, beast::flat_buffer& buffer,
      bhttp::request_parser<bhttp::string_body>& header, const RouteOptions& route, Request& req,
      const std::string& remote, SpoolFile& spool, std::optional<bhttp::request<bhttp::string_body>>& out,
      std::shared_ptr<void>& hold) {
    const auto started = std::chrono::steady_clock::now();
    const unsigned version = header.get().version();
    if (route.before_body) {
      if (auto refusal = co_await check_before_body(route, req)) {
        co_await write(stream, *refusal, version, false, false, req.method, req.path, remote, started);
        co_return std::make_pair(boost::system::error_code(), true);
      }
      hold = std::move(req.hold);
    }
    boost::system::error_code ec;
    beast::file file;
    if (!spool.create(file, ec)) {
      spdlog::error("msg=\"cannot create a spool file\" path=\"{}\" error=\"{}\"", log_text(req.path),
                    ec.message());
      hold.reset();
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
      spdlog::error("msg=\"cannot store an upload\" path=\"{}\" error=\"{}\"", log_text(req.path),
                    ec.message());
      hold.reset();
      spool.remove();
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

  /// Handles one parsed request, whose head (read_head) and route match the session loop made;
  /// returns whether the connection stays open.
  awaitable<bool> serve_one(beast::tcp_stream& stream, SessionState& state,
                            bhttp::request<bhttp::string_body> raw, Request req, bool target_ok,
                            const Router::Match& match, const std::string& remote, std::string body_file,
                            std::shared_ptr<void> hold) {
    const auto started = std::chrono::steady_clock::now();
    req.body = std::move(raw.body());
    req.body_file = std::move(body_file);
    req.hold = std::move(hold);
    const bool keep_alive = raw.keep_alive() && !draining;
    const bool head = raw.method() == bhttp::verb::head;

    Response res;
    if (!target_ok) {
      res = error_response(400, "bad_request", "the request target is not a valid path");
    } else {
      if (draining) {
        res = error_response(503, "shutting_down", "the server is shutting down; retry on another node");
        res.header("Retry-After", "1");
      } else {
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
        } else if (match.options != nullptr && match.options->run_inline) {
          // A handler that never blocks answers here, on the I/O thread: the hop to the handler
          // pool and back costs more than it does (docs/performance.md).
          res = run_guarded(*match.handler, req);
        } else {
          // A route that can often answer from memory tries that here first (the job view).
          std::optional<Response> quick;
          if (match.options != nullptr && match.options->try_inline) {
            quick = run_guarded(match.options->try_inline, req);
          }
          if (quick) {
            res = std::move(*quick);
          } else {
            const Handler* handler = match.handler;
            res = co_await asio::co_spawn(
                handlers, [handler, &req]() -> awaitable<Response> { co_return run_guarded(*handler, req); },
                use_awaitable);
          }
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
    co_return co_await write(stream, std::move(res), raw.version(), keep_alive, head, req.method, req.path,
                             remote, started);
  }

  /// Runs `handler` (a route's handler, or its try_inline) where it is called; an exception it
  /// lets out is logged and answers 500.
  template <typename Callable>
  static auto run_guarded(const Callable& handler, Request& req) -> decltype(handler(req)) {
    try {
      return handler(req);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"unhandled exception\" path=\"{}\" error=\"{}\"", log_text(req.path),
                    log_text(e.what()));
    } catch (...) {
      spdlog::error("msg=\"unhandled exception\" path=\"{}\"", log_text(req.path));
    }
    return error_response(500, "internal", "an internal error occurred; it has been logged");
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

    // The stream's writes try a non-blocking send first (below); asynchronous operations work as
    // before on a socket in non-blocking mode.
    boost::system::error_code nb_ec;
    stream.socket().non_blocking(true, nb_ec);
    const auto exec = stream.get_executor();
    auto wait = std::make_shared<StreamWait>(exec, stream.socket(), options.read_timeout);
    struct Detach {
      BodyStream& body;
      SessionState& state;
      ~Detach() {
        body.detach();
        state.end_stream = nullptr;
      }
    } detach{*r.stream, state};
    r.stream->attach([weak = std::weak_ptr<StreamWait>(wait)] {
      if (auto w = weak.lock()) {
        w->wake();
      }
    });
    state.end_stream = [w = wait.get()] {
      w->stop = true;
      w->wake();
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
          w->wake();
        },
        asio::detached);

    std::string first = std::move(r.body);
    std::vector<asio::const_buffer> buffers;
    bool ended = false;  // the stream said done, or the server is stopping: end it cleanly
    for (;;) {
      if (wait->peer_gone) {
        break;
      }
      if (wait->stop) {
        ended = true;
      }
      wait->take_woken();
      auto chunk = r.stream->pull(std::chrono::steady_clock::now());
      if (!first.empty()) {
        chunk.data.insert(0, first);
        std::string().swap(first);
      }
      if (!chunk.empty()) {
        // One chunk of the chunked encoding, written from the chunk's own bytes and the frames it
        // shares with other streams, without copying them. The chunk (and its buffers) go once
        // written: a stream spends most of its life idle, and a kept buffer would hold a copy of
        // the largest thing it ever sent, such as a snapshot of tens of KiB.
        std::size_t size = chunk.data.size();
        for (const auto& part : chunk.shared) {
          size += part->size();
        }
        std::array<char, 24> size_line{};
        char* end = std::to_chars(size_line.data(), size_line.data() + size_line.size() - 2, size, 16).ptr;
        *end++ = '\r';
        *end++ = '\n';
        buffers.clear();
        buffers.reserve(chunk.shared.size() + 3);
        buffers.emplace_back(size_line.data(), static_cast<std::size_t>(end - size_line.data()));
        if (!chunk.data.empty()) {
          buffers.emplace_back(chunk.data.data(), chunk.data.size());
        }
        for (const auto& part : chunk.shared) {
          buffers.emplace_back(part->data(), part->size());
        }
        buffers.emplace_back("\r\n", 2);
        // Most writes fit in the socket's send buffer: one non-blocking send does them, without an
        // asynchronous operation's round trip through the scheduler and back to the coroutine
        // (docs/benchmarks.md, "Event fan-out"). What it leaves goes out asynchronously, under the
        // write deadline.
        const std::size_t total = size + buffers.front().size() + 2;
        boost::system::error_code wec;
        std::size_t sent = stream.socket().write_some(
            std::span<const asio::const_buffer>(buffers.data(), buffers.size()), wec);
        if (wec == asio::error::would_block || wec == asio::error::try_again) {
          wec = {};
          sent = 0;
        }
        if (!wec && sent < total) {
          std::size_t first = 0;
          while (sent >= buffers[first].size()) {
            sent -= buffers[first].size();
            ++first;
          }
          buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(first));
          buffers.front() += sent;
          wait->write_begins();
          std::tie(wec, std::ignore) = co_await asio::async_write(
              stream.socket(), std::span<const asio::const_buffer>(buffers.data(), buffers.size()), kNoThrow);
          wait->write_ends();
        }
        if (buffers.capacity() > 16) {
          std::vector<asio::const_buffer>().swap(buffers);
        }
        if (wec) {
          break;
        }
      }
      if (chunk.done || ended) {
        ended = true;
        break;
      }
      const auto next_pull = chunk.next_pull;
      std::string().swap(chunk.data);  // let go of the bytes while waiting
      std::vector<std::shared_ptr<const std::string>>().swap(chunk.shared);
      if (wait->peer_gone || wait->stop) {
        continue;
      }
      co_await wait->async_wait(next_pull, use_awaitable);
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
      wait->take_woken();
      co_await wait->async_wait(asio::steady_timer::time_point::max(), use_awaitable);
    }
    wait->close();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    stream_ended();
    spdlog::info("msg=\"stream ended\" method={} path=\"{}\" status={} ms={:.2f} remote={}", log_text(method),
                 log_text(path), r.status, ms, remote);
    co_return false;
  }

  /// Sends `r` (taken by value: its body moves into the message, not copied).
  awaitable<bool> write(beast::tcp_stream& stream, Response r, unsigned version, bool keep_alive, bool head,
                        std::string_view method, std::string_view path, const std::string& remote,
                        std::chrono::steady_clock::time_point started) {
    // The head is formatted here, as Beast's serializer wrote it (the same fields in the same
    // order), and sent with the body in one gathered write: the serializer's buffer views cost
    // about a tenth of a request that does nothing (docs/benchmarks.md, "Request path").
    std::string text;
    text.reserve(192 + r.content_type.size());
    const auto field = [&text](std::string_view name, std::string_view value) {
      text.append(name).append(": ").append(value).append("\r\n");
    };
    text.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ").append(std::to_string(r.status)).append(1, ' ');
    text.append(bhttp::obsolete_reason(static_cast<bhttp::status>(r.status))).append("\r\n");
    field("Content-Type", r.content_type);
    bool has_cache_control = false;
    for (std::size_t i = 0; i < r.headers.size(); ++i) {
      const std::string& name = r.headers[i].first;
      // A later field of the same name replaces an earlier one; the server's own comes last.
      bool replaced = beast::iequals(name, "X-Content-Type-Options");
      for (std::size_t j = i + 1; j < r.headers.size() && !replaced; ++j) {
        replaced = beast::iequals(name, r.headers[j].first);
      }
      if (!replaced) {
        field(name, r.headers[i].second);
        has_cache_control = has_cache_control || beast::iequals(name, "Cache-Control");
      }
    }
    if (!has_cache_control) {
      field("Cache-Control", "no-store");
    }
    field("X-Content-Type-Options", "nosniff");
    if (version >= 11 && !keep_alive) {
      field("Connection", "close");
    } else if (version < 11 && keep_alive) {
      field("Connection", "keep-alive");
    }
    // 1xx, 204 and 304 have no body; a 304's Content-Length would be the 200's.
    const bool bodiless = r.status / 100 == 1 || r.status == 204 || r.status == 304;
    if (!bodiless) {
      field("Content-Length", std::to_string(r.body.size()));
    }
    text.append("\r\n");
    const std::array<asio::const_buffer, 2> buffers{
        asio::buffer(text), head || bodiless ? asio::const_buffer() : asio::buffer(r.body)};
    stream.expires_after(options.read_timeout);
    auto [ec, n] = co_await asio::async_write(stream, buffers, kNoThrow);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    // The method and path are the client's: escaped and quoted, so that they cannot forge a line
    // or a field of the log. Escaped only when the line is written (at log level info).
    if (spdlog::should_log(spdlog::level::info)) {
      spdlog::info("msg=request method={} path=\"{}\" status={} ms={:.2f} remote={}", log_text(method),
                   log_text(path), r.status, ms, remote);
    }
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
  if (const auto swept = sweep_stale_spools(); swept > 0) {
    spdlog::info("msg=\"removed upload spool files left by a stopped process\" count={}", swept);
  }
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

void Server::set_accept_error_observer(std::function<void()> observer) {
  impl_->on_accept_error = std::move(observer);
}

void Server::stop() {
  asio::post(impl_->control, [i = impl_.get()] { i->trigger.cancel(); });
}

bool Server::draining() const {
  return impl_->draining;
}

}  // namespace mladmin::http

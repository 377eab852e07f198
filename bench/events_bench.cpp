// Live event stream benchmarks (docs/jobs.md, docs/benchmarks.md) against a running `mladmin serve` on
// loopback; bench/events.sh starts the server and runs both modes.
//
//   events_bench latency --url URL --token T [--pid SERVER_PID] [--clients N=1] [--pauses P=5]
//                        [--short-runs M=20] [--threads 1] [--timeout-s 600] [--dump FILE]
//     Opens N event streams (raw sockets, a minimal chunked/SSE reader on `threads` Asio
//     threads), runs one full scope-all journal sync, pausing and resuming it P times, then M
//     incremental scope-all journal syncs with nothing to do (queued, running, completed in quick
//     succession), and prints over every client:
//       status change → received: POST → `queued`, POST pause → `paused`, POST resume → `running`,
//                                  job `updatedAt` → first `running`, `endTime` → `completed`;
//                                  and any status change's `updatedAt` → receipt, over every run,
//                                  the long run's alone (while it syncs at full speed) and the
//                                  short runs' alone;
//       progress: receipt − the event's `updatedAt` (set just before its batch's transaction
//                 commits; 50 ms coalescing included); and per progress event, its first receipt
//                 (updatedAt → the first client's) and the first client's receipt → the last's;
//       fan-out: per status change, the first client's receipt → the last client's;
//     and, with --pid, the CPU the server and the bench used and how long the server's threads
//     waited for a CPU, and the server's I/O thread CPU per job event (user and system) and job
//     events per write (each write is one chunk of the chunked encoding). --dump writes every
//     job event of the first client as TSV.
//   events_bench idle --url URL --token T --pid SERVER_PID [--connections 10000]
//                     [--concurrency 200] [--history 0] [--healthz 200]
//     Runs `history` empty incremental syncs (so that each stream starts with a snapshot of that
//     many finished jobs, up to 20), opens `connections` event streams, `concurrency` at a time,
//     that then sit idle, and prints the server's VmRSS and descriptor count before, while
//     holding and after closing them, the time to open them, and /healthz latency before and
//     while holding them.
//
// The server and this program share the machine's clock: `updatedAt` (ms, truncated) is compared
// with the receipt time read from the system clock. The bench raises its own descriptor limit.
// Every wait is bounded (--timeout-s); nothing here asserts a time.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "domain/clock.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using namespace std::chrono_literals;

/// Milliseconds since the epoch on the system clock, with microseconds: the clock the server's
/// `updatedAt` comes from.
double wall_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "events_bench: %s\n", message.c_str());
  std::exit(1);
}

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  std::string port;
  std::string token;
  std::size_t clients = 1;
  int pauses = 5;
  int short_runs = 20;
  std::size_t threads = 1;
  double timeout_s = 600;
  int pid = 0;
  std::size_t connections = 10000;
  std::size_t concurrency = 200;
  int history = 0;
  int healthz = 200;
  std::string dump;  ///< latency: write every job event of the first client here (tab-separated)
};

Options parse_args(int argc, char** argv) {
  if (argc < 2) {
    die("usage: events_bench latency|idle --url URL --token TOKEN [options] (see the top of "
        "events_bench.cpp)");
  }
  Options o;
  o.mode = argv[1];
  if (o.mode != "latency" && o.mode != "idle") {
    die("the first argument is latency or idle");
  }
  for (int i = 2; i < argc; i += 2) {
    const std::string key = argv[i];
    if (i + 1 >= argc) {
      die("missing value for " + key);
    }
    const std::string value = argv[i + 1];
    if (key == "--url") {
      // http://HOST:PORT
      const auto rest = value.substr(value.find("//") == std::string::npos ? 0 : value.find("//") + 2);
      const auto colon = rest.rfind(':');
      if (colon == std::string::npos) {
        die("--url must be http://HOST:PORT");
      }
      o.host = rest.substr(0, colon);
      o.port = rest.substr(colon + 1);
      while (!o.port.empty() && o.port.back() == '/') {
        o.port.pop_back();
      }
    } else if (key == "--token") {
      o.token = value;
    } else if (key == "--clients") {
      o.clients = std::stoul(value);
    } else if (key == "--pauses") {
      o.pauses = std::stoi(value);
    } else if (key == "--short-runs") {
      o.short_runs = std::stoi(value);
    } else if (key == "--threads") {
      o.threads = std::max<std::size_t>(1, std::stoul(value));
    } else if (key == "--timeout-s") {
      o.timeout_s = std::stod(value);
    } else if (key == "--pid") {
      o.pid = std::stoi(value);
    } else if (key == "--connections") {
      o.connections = std::stoul(value);
    } else if (key == "--concurrency") {
      o.concurrency = std::max<std::size_t>(1, std::stoul(value));
    } else if (key == "--history") {
      o.history = std::stoi(value);
    } else if (key == "--healthz") {
      o.healthz = std::stoi(value);
    } else if (key == "--dump") {
      o.dump = value;
    } else {
      die("unknown option " + key);
    }
  }
  if (o.port.empty() || o.token.empty()) {
    die("--url and --token are required");
  }
  if (o.mode == "idle" && o.pid <= 0) {
    die("idle needs --pid of the server (its memory and descriptors are read from /proc)");
  }
  return o;
}

/// Raises this process's soft descriptor limit to its hard limit; the streams need one each.
void raise_fd_limit(std::size_t needed) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    die("getrlimit failed");
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed + 64) {
    die("RLIMIT_NOFILE is " + std::to_string(lim.rlim_cur) + ", need about " + std::to_string(needed + 64) +
        " (raise the hard limit: ulimit -Hn)");
  }
}

// ---------------------------------------------------------------------------------------------
// A blocking HTTP/1.1 client for the control calls (one connection per call, Connection: close).

struct HttpResult {
  int status = 0;
  std::string body;
};

HttpResult http_call(const Options& o, const std::string& method, const std::string& target,
                     const std::string& body = {}) {
  asio::io_context ioc;
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  asio::connect(socket, resolver.resolve(o.host, o.port));
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
                    "\r\nAuthorization: Bearer " + o.token + "\r\nConnection: close\r\n";
  if (!body.empty()) {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  asio::write(socket, asio::buffer(req));
  std::string raw;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(raw), ec);  // to EOF (Connection: close)
  HttpResult r;
  if (raw.size() > 12 && raw.starts_with("HTTP/1.")) {
    r.status = std::atoi(raw.c_str() + 9);
  }
  const auto end = raw.find("\r\n\r\n");
  if (end != std::string::npos) {
    r.body = raw.substr(end + 4);
  }
  return r;
}

/// The server's own count of how long job events waited between their publication and their
/// write to a client (GET /metrics: mladmin_event_delivery_seconds{kind}): cumulative counts by
/// bucket bound ("+Inf" included), per kind.
using DelayBuckets = std::map<std::string, std::map<double, double>>;

DelayBuckets server_delays(const Options& o) {
  DelayBuckets out;
  const auto r = http_call(o, "GET", "/metrics");
  const std::string_view prefix = "mladmin_event_delivery_seconds_bucket{";
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with(prefix)) {
      continue;
    }
    const auto kind_at = line.find("kind=\"");
    const auto le_at = line.find("le=\"");
    const auto close = line.find('}');
    if (kind_at == std::string::npos || le_at == std::string::npos || close == std::string::npos) {
      continue;
    }
    const std::string kind = line.substr(kind_at + 6, line.find('"', kind_at + 6) - kind_at - 6);
    const std::string le = line.substr(le_at + 4, line.find('"', le_at + 4) - le_at - 4);
    const double bound = le == "+Inf" ? INFINITY : std::stod(le);
    out[kind][bound] = std::stod(line.substr(close + 1));
  }
  return out;
}

/// "p50 ≤ 5 ms, p99 ≤ 30 ms, 99.7 % ≤ 50 ms (N)": quantiles of what the server counted between two
/// readings, as the upper bound of the bucket that holds them.
std::string delay_summary(const std::map<double, double>& before, const std::map<double, double>& after) {
  std::vector<std::pair<double, double>> cumulative;  // bound, count since `before`
  for (const auto& [bound, count] : after) {
    const auto b = before.find(bound);
    cumulative.emplace_back(bound, count - (b == before.end() ? 0 : b->second));
  }
  if (cumulative.empty() || cumulative.back().second <= 0) {
    return "(none)";
  }
  const double total = cumulative.back().second;
  const auto quantile = [&](double q) {
    for (const auto& [bound, count] : cumulative) {
      if (count >= q * total) {
        return std::isinf(bound)
                   ? std::string("> 1 s")
                   : "<= " + std::to_string(static_cast<int>(std::lround(bound * 1000))) + " ms";
      }
    }
    return std::string("?");
  };
  double within_50 = 0;
  for (const auto& [bound, count] : cumulative) {
    if (bound <= 0.05 + 1e-9) {
      within_50 = count;
    }
  }
  char line[200];
  std::snprintf(line, sizeof line, "p50 %s, p99 %s, %.2f %% <= 50 ms (%.0f)", quantile(0.5).c_str(),
                quantile(0.99).c_str(), 100.0 * within_50 / total, total);
  return line;
}

std::string json_string(const boost::json::value& v, std::string_view key) {
  if (const auto* obj = v.if_object()) {
    if (const auto* field = obj->if_contains(key); field != nullptr && field->is_string()) {
      return std::string(field->as_string());
    }
  }
  return {};
}

/// Starts a scope-all journal sync; answers the job id.
std::string start_sync(const Options& o, const std::string& mode) {
  const auto r =
      http_call(o, "POST", "/api/ml/sync/journal-entries", R"({"scope":"all","mode":")" + mode + R"("})");
  if (r.status != 202) {
    die("starting a sync answered " + std::to_string(r.status) + ": " + r.body);
  }
  boost::system::error_code ec;
  const auto v = boost::json::parse(r.body, ec);
  const auto id = ec ? std::string() : json_string(v, "id");
  if (id.empty()) {
    die("no job id in " + r.body);
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// A minimal reader of the event stream: the response head, chunked framing, SSE frames.

class StreamDecoder {
 public:
  /// Feeds bytes; calls on_frame(event, data) for each complete event. False on a bad response.
  template <class F>
  bool feed(std::string_view bytes, F&& on_frame) {
    buf_.append(bytes);
    std::size_t pos = 0;
    for (;;) {
      if (state_ == State::head) {
        const auto end = buf_.find("\r\n\r\n", pos);
        if (end == std::string::npos) {
          break;
        }
        std::string head = buf_.substr(pos, end - pos);
        for (auto& c : head) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        status_ = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
        if (status_ != 200 || head.find("transfer-encoding: chunked") == std::string::npos) {
          error_ = buf_.substr(pos);
          return false;
        }
        pos = end + 4;
        state_ = State::size;
      } else if (state_ == State::size) {
        const auto end = buf_.find("\r\n", pos);
        if (end == std::string::npos) {
          break;
        }
        chunk_left_ = std::strtoul(buf_.c_str() + pos, nullptr, 16);
        chunks_ += chunk_left_ > 0 ? 1 : 0;
        pos = end + 2;
        state_ = chunk_left_ == 0 ? State::done : State::data;
      } else if (state_ == State::data) {
        const std::size_t n = std::min(chunk_left_, buf_.size() - pos);
        if (n == 0) {
          break;
        }
        sse_.append(buf_, pos, n);
        pos += n;
        chunk_left_ -= n;
        if (chunk_left_ == 0) {
          state_ = State::data_end;
        }
      } else if (state_ == State::data_end) {
        if (buf_.size() - pos < 2) {
          break;
        }
        pos += 2;
        state_ = State::size;
      } else {
        break;
      }
    }
    buf_.erase(0, pos);
    split(on_frame);
    return true;
  }

  bool done() const { return state_ == State::done; }
  /// Chunks of the chunked encoding received so far: the server writes each in one gather write.
  std::size_t chunks() const { return chunks_; }
  const std::string& error() const { return error_; }
  int status() const { return status_; }

 private:
  enum class State { head, size, data, data_end, done };

  template <class F>
  void split(F&& on_frame) {
    std::size_t pos = 0;
    for (;;) {
      const auto end = sse_.find("\n\n", pos);
      if (end == std::string::npos) {
        break;
      }
      std::string_view block(sse_.data() + pos, end - pos);
      pos = end + 2;
      std::string_view event;
      std::string data;
      bool has_data = false;
      while (!block.empty()) {
        const auto nl = block.find('\n');
        const auto line = block.substr(0, nl);
        block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
        if (line.empty() || line[0] == ':') {
          continue;
        }
        const auto colon = line.find(':');
        const auto field = line.substr(0, colon);
        auto value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') {
          value.remove_prefix(1);
        }
        if (field == "event") {
          event = value;
        } else if (field == "data") {
          if (has_data) {
            data += '\n';
          }
          data += value;
          has_data = true;
        }
      }
      if (has_data) {
        on_frame(event.empty() ? std::string_view("message") : event, std::string_view(data));
      }
    }
    sse_.erase(0, pos);
  }

  State state_ = State::head;
  std::string buf_;
  std::string sse_;
  std::size_t chunk_left_ = 0;
  std::size_t chunks_ = 0;
  int status_ = 0;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// Stream clients.

/// A status change as one client saw it.
struct StatusSeen {
  std::string job_id;
  std::string status;
  int nth = 0;          ///< 1 for the first time this client saw this job enter this status
  double received = 0;  ///< wall_ms()
  std::optional<double> updated_at;
  std::optional<double> end_time;
};

/// What the clients share with the driver: how many are ready, and how many saw each status.
struct Board {
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t ready = 0;
  std::size_t failed = 0;
  std::map<std::string, std::size_t> seen;  // "job/status#nth" → clients

  void add_ready(bool ok) {
    {
      std::lock_guard lock(mutex);
      ++(ok ? ready : failed);
    }
    cv.notify_all();
  }
  std::string awaited;  ///< what wait_seen waits for, and for how many clients
  std::size_t awaited_n = 0;

  void note(const std::string& key) {
    bool reached = false;
    {
      std::lock_guard lock(mutex);
      // Only the client that completes what the driver waits for wakes it: a wake per client (a
      // futex call here, a context switch there) put 1,000 wake-ups per event on the two cores
      // that the server's fan-out shares with this bench (docs/benchmarks.md, "The bench's own
      // share").
      reached = ++seen[key] >= awaited_n && key == awaited;
    }
    if (reached) {
      cv.notify_all();
    }
  }
  /// Waits until `n` clients saw `key`; false after `limit`.
  bool wait_seen(const std::string& key, std::size_t n, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    awaited = key;
    awaited_n = n;
    const bool ok = cv.wait_for(lock, limit, [&] { return seen[key] >= n; });
    awaited.clear();
    return ok;
  }
};

std::string seen_key(const std::string& job, const std::string& status, int nth) {
  return job + "/" + status + "#" + std::to_string(nth);
}

struct Client {
  explicit Client(const asio::any_io_executor& ex) : socket(ex) {}
  tcp::socket socket;
  StreamDecoder decoder;
  bool snapshot = false;
  std::size_t snapshot_bytes = 0;
  std::unordered_map<std::string, std::string> last_status;
  std::map<std::pair<std::string, std::string>, int> status_count;
  std::vector<StatusSeen> statuses;
  std::vector<double> progress;  ///< receipt − updatedAt of each progress event, ms
  std::vector<std::pair<std::string, double>> progress_at;  ///< each progress event's job#updatedAt, receipt
  std::FILE* dump = nullptr;                                ///< every job event, when asked for
  std::size_t job_events = 0;
  std::size_t job_bytes = 0;
  bool ended = false;
};

/// The string value of a top-level field of the job JSON the server writes (compact, keys once;
/// a quote inside a string is escaped, so `"key":"` cannot match inside a value). Cheaper than a
/// parse, which matters when 1,000 clients share the machine with the server.
std::string_view field_text(std::string_view json, std::string_view key) {
  std::string pattern;
  pattern.reserve(key.size() + 4);
  pattern += '"';
  pattern += key;
  pattern += "\":\"";
  const auto at = json.find(pattern);
  if (at == std::string_view::npos) {
    return {};
  }
  const auto start = at + pattern.size();
  const auto end = json.find('"', start);
  return end == std::string_view::npos ? std::string_view() : json.substr(start, end - start);
}

std::optional<double> field_time(std::string_view json, std::string_view key) {
  const auto text = field_text(json, key);
  if (text.empty()) {
    return std::nullopt;
  }
  const auto ms = mladmin::domain::parse_iso8601(text);
  return ms ? std::optional<double>(static_cast<double>(*ms)) : std::nullopt;
}

/// One frame of a stream: a snapshot makes the client ready; a job event is a status change when
/// its status differs from the last one this client saw for the job, progress otherwise.
void on_frame(Client& c, Board& board, std::string_view event, std::string_view data, double received) {
  if (event == "snapshot") {
    c.snapshot = true;
    c.snapshot_bytes = data.size();
    return;
  }
  if (event != "job") {
    return;
  }
  ++c.job_events;
  c.job_bytes += data.size();
  const std::string id(field_text(data, "id"));
  const auto status = field_text(data, "status");
  const auto updated = field_time(data, "updatedAt");
  if (c.dump != nullptr) {
    std::fprintf(c.dump, "%.3f\t%.0f\t%.3f\t%.*s\t%.*s\n", received, updated.value_or(0),
                 received - updated.value_or(received), static_cast<int>(status.size()), status.data(),
                 static_cast<int>(field_text(data, "id").size()), field_text(data, "id").data());
  }
  auto& last = c.last_status[id];
  if (last != status) {
    last = status;
    const int nth = ++c.status_count[{id, last}];
    c.statuses.push_back(StatusSeen{id, last, nth, received, updated, field_time(data, "endTime")});
    board.note(seen_key(id, last, nth));
  } else if (updated) {
    c.progress.push_back(received - *updated);
    c.progress_at.emplace_back(id + "#" + std::to_string(static_cast<long long>(*updated)), received);
  }
}

/// Connects, asks for the stream and reads until its snapshot arrived.
awaitable<bool> open_stream(Client& c, const Options& o, Board& board, const tcp::endpoint& endpoint) {
  auto [cec] = co_await c.socket.async_connect(endpoint, asio::as_tuple(use_awaitable));
  if (cec) {
    co_return false;
  }
  const std::string req = "GET /api/ml/sync/events HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
                          "\r\nAuthorization: Bearer " + o.token + "\r\nAccept: text/event-stream\r\n\r\n";
  auto [wec, wn] = co_await asio::async_write(c.socket, asio::buffer(req), asio::as_tuple(use_awaitable));
  if (wec) {
    co_return false;
  }
  std::array<char, 16384> buf{};
  while (!c.snapshot) {
    auto [ec, n] = co_await c.socket.async_read_some(asio::buffer(buf), asio::as_tuple(use_awaitable));
    if (ec) {
      co_return false;
    }
    const double received = wall_ms();
    const bool ok =
        c.decoder.feed(std::string_view(buf.data(), n),
                       [&](std::string_view ev, std::string_view d) { on_frame(c, board, ev, d, received); });
    if (!ok) {
      std::fprintf(stderr, "events_bench: stream refused: %s\n", c.decoder.error().substr(0, 300).c_str());
      co_return false;
    }
  }
  co_return true;
}

/// Reads the stream until it ends or the socket is closed.
awaitable<void> listen_stream(Client& c, Board& board) {
  std::array<char, 16384> buf{};
  for (;;) {
    auto [ec, n] = co_await c.socket.async_read_some(asio::buffer(buf), asio::as_tuple(use_awaitable));
    if (ec) {
      break;
    }
    const double received = wall_ms();
    c.decoder.feed(std::string_view(buf.data(), n),
                   [&](std::string_view ev, std::string_view d) { on_frame(c, board, ev, d, received); });
  }
  c.ended = true;
}

/// Opens every client, `concurrency` at a time; each then keeps reading when `listen` is set.
void open_all(std::vector<std::unique_ptr<Client>>& clients, const Options& o, Board& board,
              const tcp::endpoint& endpoint, std::size_t concurrency, bool listen) {
  auto next = std::make_shared<std::atomic<std::size_t>>(0);
  for (std::size_t w = 0; w < std::min(concurrency, clients.size()); ++w) {
    asio::co_spawn(
        clients[w]->socket.get_executor(),
        [&clients, &o, &board, endpoint, next, listen]() -> awaitable<void> {
          for (;;) {
            const std::size_t i = next->fetch_add(1);
            if (i >= clients.size()) {
              co_return;
            }
            Client& c = *clients[i];
            const bool ok = co_await open_stream(c, o, board, endpoint);
            board.add_ready(ok);
            if (ok && listen) {
              asio::co_spawn(c.socket.get_executor(), listen_stream(c, board), asio::detached);
            }
          }
        },
        asio::detached);
  }
}

// ---------------------------------------------------------------------------------------------
// Figures.

struct Stats {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  void print(const char* label) {
    if (v.empty()) {
      std::printf("  %-44s %8s\n", label, "(none)");
      return;
    }
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) {
      const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
      return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
    };
    double sum = 0;
    for (double x : v) {
      sum += x;
    }
    std::printf("  %-44s %8zu %9.2f %9.2f %9.2f %9.2f\n", label, v.size(), pct(0.5), pct(0.99), v.back(),
                sum / static_cast<double>(v.size()));
  }
};

void print_header() {
  std::printf("  %-44s %8s %9s %9s %9s %9s\n", "(ms)", "count", "p50", "p99", "max", "mean");
}

std::optional<long> proc_status_kib(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) {
      return std::atol(line.c_str() + field.size() + 1);
    }
  }
  return std::nullopt;
}

/// User and system CPU time, in seconds, from a /proc stat file (a process's or a thread's).
std::pair<double, double> stat_user_sys_s(const std::string& path) {
  std::ifstream in(path);
  std::string all;
  std::getline(in, all);
  const auto paren = all.rfind(')');
  if (paren == std::string::npos) {
    return {0, 0};
  }
  std::istringstream fields(all.substr(paren + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) {  // state … cmajflt
    fields >> skip;
  }
  double utime = 0;
  double stime = 0;
  fields >> utime >> stime;
  const auto tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return {utime / tick, stime / tick};
}

/// CPU time (user + system) a process has used, in seconds, from /proc/PID/stat.
double proc_cpu_s(int pid) {
  const auto [user, sys] = stat_user_sys_s("/proc/" + std::to_string(pid) + "/stat");
  return user + sys;
}

/// The same, of the process's main thread (the server's I/O thread), split into user and system.
std::pair<double, double> main_thread_user_sys_s(int pid) {
  return stat_user_sys_s("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/stat");
}

/// Per thread of a process: seconds on a CPU and seconds spent runnable but waiting for one (the
/// first two fields of /proc/PID/task/TID/schedstat): how much a busy machine delayed it.
std::map<int, std::pair<double, double>> thread_times(int pid) {
  std::map<int, std::pair<double, double>> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::ifstream in(it->path() / "schedstat");
    double on_cpu = 0;
    double waiting = 0;
    if (in >> on_cpu >> waiting) {
      out[std::atoi(it->path().filename().c_str())] = {on_cpu / 1e9, waiting / 1e9};
    }
  }
  return out;
}

double self_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  std::string five;
  in >> one >> five;
  return one + " " + five;
}

/// Kernel memory of the slab caches a TCP connection uses (its socket, inode, file, dentry and
/// epoll entry), whole machine, in KiB: active objects × object size from /proc/slabinfo (root
/// only; 0 when unreadable). Not part of any process's VmRSS.
long socket_slab_kib() {
  std::ifstream in("/proc/slabinfo");
  std::string line;
  double bytes = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    double active = 0;
    double total = 0;
    double size = 0;
    if (fields >> name >> active >> total >> size &&
        (name == "TCP" || name == "sock_inode_cache" || name == "filp" || name == "dentry" ||
         name == "eventpoll_epi")) {
      bytes += active * size;
    }
  }
  return static_cast<long>(bytes / 1024);
}

long fd_count(int pid) {
  std::error_code ec;
  long n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

std::string nofile_limit(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("Max open files")) {
      return line;
    }
  }
  return "?";
}

Stats time_healthz(const Options& o, int n) {
  Stats s;
  for (int i = 0; i < n; ++i) {
    const auto t = std::chrono::steady_clock::now();
    const auto r = http_call(o, "GET", "/healthz");
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    if (r.status != 200) {
      die("/healthz answered " + std::to_string(r.status));
    }
    s.add(ms);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------

struct Marks {
  std::map<std::string, double> started;                  // job → wall_ms() just before its POST
  std::map<std::pair<std::string, int>, double> paused;   // (job, nth) → before POST pause
  std::map<std::pair<std::string, int>, double> resumed;  // (job, nth) → before POST resume
};

int run_latency(const Options& o) {
  raise_fd_limit(o.clients);
  asio::io_context ioc(static_cast<int>(o.threads));
  tcp::resolver resolver(ioc);
  const tcp::endpoint endpoint = *resolver.resolve(o.host, o.port).begin();
  auto work = asio::make_work_guard(ioc);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < o.threads; ++i) {
    threads.emplace_back([&ioc] { ioc.run(); });
  }
  const auto limit = std::chrono::milliseconds(static_cast<long>(o.timeout_s * 1000));
  Board board;
  std::vector<std::unique_ptr<Client>> clients;
  for (std::size_t i = 0; i < o.clients; ++i) {
    clients.push_back(std::make_unique<Client>(asio::make_strand(ioc)));
  }
  if (!o.dump.empty()) {
    clients.front()->dump = std::fopen(o.dump.c_str(), "w");
    if (clients.front()->dump == nullptr) {
      die("cannot write " + o.dump);
    }
    std::fprintf(clients.front()->dump, "received_ms\tupdated_at_ms\tlatency_ms\tstatus\tjob\n");
  }
  const auto open_start = std::chrono::steady_clock::now();
  open_all(clients, o, board, endpoint, std::min<std::size_t>(o.clients, 200), true);
  {
    std::unique_lock lock(board.mutex);
    if (!board.cv.wait_for(lock, limit, [&] { return board.ready + board.failed >= o.clients; })) {
      die("streams did not open in time");
    }
    if (board.failed > 0) {
      die(std::to_string(board.failed) + " streams failed to open");
    }
  }
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
  const std::size_t n = o.clients;
  auto wait_all = [&](const std::string& job, const std::string& status, int nth) {
    if (!board.wait_seen(seen_key(job, status, nth), n, limit)) {
      die("not every client saw job " + job + " " + status + " #" + std::to_string(nth));
    }
  };

  // The long run: a full sync, paused and resumed along the way.
  Marks marks;
  const auto phase_start = std::chrono::steady_clock::now();
  const double server_cpu0 = o.pid > 0 ? proc_cpu_s(o.pid) : 0;
  const auto io_user_sys0 = o.pid > 0 ? main_thread_user_sys_s(o.pid) : std::pair<double, double>{0, 0};
  const double bench_cpu0 = self_cpu_s();
  const auto threads0 = o.pid > 0 ? thread_times(o.pid) : std::map<int, std::pair<double, double>>();
  const auto own_threads0 = thread_times(static_cast<int>(::getpid()));
  const std::string load0 = load_average();
  const auto delays0 = server_delays(o);
  const double t0 = wall_ms();
  const std::string job = start_sync(o, "full");
  marks.started[job] = t0;
  wait_all(job, "running", 1);
  int pauses_done = 0;
  for (int k = 1; k <= o.pauses; ++k) {
    std::this_thread::sleep_for(k == 1 ? 1000ms : 700ms);
    const double tp = wall_ms();
    const auto r = http_call(o, "POST", "/api/ml/sync/job/" + job + "/pause");
    if (r.status != 200 || r.body.find(R"("status":"paused")") == std::string::npos) {
      std::printf("pause #%d not applied (HTTP %d): the job had finished; fewer pauses measured\n", k,
                  r.status);
      break;
    }
    marks.paused[{job, k}] = tp;
    wait_all(job, "paused", k);
    std::this_thread::sleep_for(200ms);
    const double tr = wall_ms();
    const auto rr = http_call(o, "POST", "/api/ml/sync/job/" + job + "/resume");
    if (rr.status != 200) {
      die("resume answered " + std::to_string(rr.status) + ": " + rr.body);
    }
    marks.resumed[{job, k}] = tr;
    wait_all(job, "running", k + 1);
    pauses_done = k;
  }
  wait_all(job, "completed", 1);
  const auto final_job = http_call(o, "GET", "/api/ml/sync/job/" + job);

  // Short runs: incremental syncs with nothing to do.
  for (int i = 0; i < o.short_runs; ++i) {
    const double ts = wall_ms();
    const std::string short_job = start_sync(o, "incremental");
    marks.started[short_job] = ts;
    wait_all(short_job, "completed", 1);
  }
  const double phase_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start).count();
  const auto delays1 = server_delays(o);
  const double server_cpu = o.pid > 0 ? proc_cpu_s(o.pid) - server_cpu0 : 0;
  auto io_user_sys = o.pid > 0 ? main_thread_user_sys_s(o.pid) : std::pair<double, double>{0, 0};
  io_user_sys.first -= io_user_sys0.first;
  io_user_sys.second -= io_user_sys0.second;
  const double bench_cpu = self_cpu_s() - bench_cpu0;
  // The main thread runs the I/O (with the default io_threads = 1); the busiest other one is the
  // sync worker.
  double server_wait = 0;
  std::pair<double, double> main_thread{0, 0};
  std::pair<double, double> busiest_other{0, 0};
  if (o.pid > 0) {
    for (const auto& [tid, times] : thread_times(o.pid)) {
      const auto before = threads0.contains(tid) ? threads0.at(tid) : std::pair<double, double>{0, 0};
      const std::pair<double, double> used{times.first - before.first, times.second - before.second};
      server_wait += used.second;
      if (tid == o.pid) {
        main_thread = used;
      } else if (used.first > busiest_other.first) {
        busiest_other = used;
      }
    }
  }
  // This bench's own threads (the streams' reader, the driver): how long they waited for a core
  // is part of every receipt's latency that the server does not cause.
  std::pair<double, double> own{0, 0};
  for (const auto& [tid, times] : thread_times(static_cast<int>(::getpid()))) {
    const auto before = own_threads0.contains(tid) ? own_threads0.at(tid) : std::pair<double, double>{0, 0};
    own.first += times.first - before.first;
    own.second += times.second - before.second;
  }
  const std::string load1 = load_average();
  std::this_thread::sleep_for(100ms);  // let the last reads land before closing
  for (auto& c : clients) {
    asio::post(c->socket.get_executor(), [&c] {
      boost::system::error_code ignored;
      c->socket.close(ignored);
    });
  }
  work.reset();
  for (auto& t : threads) {
    t.join();
  }

  if (clients.front()->dump != nullptr) {
    std::fclose(clients.front()->dump);
  }

  // Figures.
  Stats queued, running_first, paused, paused_commit, resumed, completed, all_status, commit_to_receipt,
      long_commit_to_receipt, short_commit_to_receipt, progress;
  std::size_t job_events = 0;
  std::size_t job_bytes = 0;
  std::size_t writes = 0;  // chunks after each stream's first (its snapshot): the server's writes
  std::size_t long_progress_min = SIZE_MAX;
  std::size_t long_progress_max = 0;
  std::size_t missing = 0;
  std::map<std::string, std::pair<double, double>> spread_of;  // status change → first, last receipt
  std::map<std::string, std::pair<double, double>>
      progress_spread_of;  // progress event → first, last receipt
  const std::size_t expected_status = 3 + 2 * static_cast<std::size_t>(pauses_done) + 3 * o.short_runs;
  for (const auto& c : clients) {
    job_events += c->job_events;
    job_bytes += c->job_bytes;
    writes += c->decoder.chunks() > 0 ? c->decoder.chunks() - 1 : 0;
    long_progress_min = std::min(long_progress_min, c->progress.size());
    long_progress_max = std::max(long_progress_max, c->progress.size());
    for (double x : c->progress) {
      progress.add(x);
    }
    for (const auto& [key, received] : c->progress_at) {
      auto [it, fresh] = progress_spread_of.try_emplace(key, received, received);
      it->second.first = std::min(it->second.first, received);
      it->second.second = std::max(it->second.second, received);
    }
    if (c->statuses.size() < expected_status) {
      missing += expected_status - c->statuses.size();
    }
    for (const auto& s : c->statuses) {
      std::optional<double> latency;
      if (s.status == "queued" && marks.started.contains(s.job_id)) {
        latency = s.received - marks.started[s.job_id];
        queued.add(*latency);
      } else if (s.status == "paused" && marks.paused.contains({s.job_id, s.nth})) {
        latency = s.received - marks.paused[{s.job_id, s.nth}];
        paused.add(*latency);
        if (s.updated_at) {
          paused_commit.add(s.received - *s.updated_at);
        }
      } else if (s.status == "running" && s.nth > 1 && marks.resumed.contains({s.job_id, s.nth - 1})) {
        latency = s.received - marks.resumed[{s.job_id, s.nth - 1}];
        resumed.add(*latency);
      } else if (s.status == "running" && s.nth == 1 && s.updated_at) {
        latency = s.received - *s.updated_at;
        running_first.add(*latency);
      } else if (s.status == "completed" && s.end_time) {
        latency = s.received - *s.end_time;
        completed.add(*latency);
      }
      if (latency) {
        all_status.add(*latency);
      }
      if (s.updated_at) {
        commit_to_receipt.add(s.received - *s.updated_at);
        // The long run's (its queued to its completed, the pauses and resumes while it syncs at
        // full speed: issue 13's condition) apart from the short runs' (a burst of three status
        // changes per empty sync, no sync at work).
        (s.job_id == job ? long_commit_to_receipt : short_commit_to_receipt).add(s.received - *s.updated_at);
      }
      auto& [first, last] = spread_of[seen_key(s.job_id, s.status, s.nth)];
      first = first == 0 ? s.received : std::min(first, s.received);
      last = std::max(last, s.received);
    }
  }
  Stats spread;
  Stats progress_first, progress_spread;  // per progress event: its first receipt, first → last
  for (const auto& [key, range] : progress_spread_of) {
    const double updated = std::atof(key.c_str() + key.rfind('#') + 1);
    progress_first.add(range.first - updated);
    progress_spread.add(range.second - range.first);
  }
  for (const auto& [key, range] : spread_of) {
    spread.add(range.second - range.first);
  }
  boost::system::error_code ec;
  const auto fj = boost::json::parse(final_job.body, ec);
  std::printf("events_bench latency: %zu clients (opened in %.2f s), %zu receiver thread(s)\n", n, open_s,
              o.threads);
  if (!ec && fj.is_object()) {
    const auto& obj = fj.as_object();
    std::printf(
        "long run: full sync job %s, status %s, %lld items processed, running time %.2f s, %.0f items/s, "
        "%d pause/resume cycles\n",
        job.c_str(), json_string(fj, "status").c_str(),
        static_cast<long long>(obj.at("processedItems").to_number<double>()),
        obj.at("duration").is_number() ? obj.at("duration").to_number<double>() / 1000.0 : 0.0,
        obj.at("itemsPerSecond").to_number<double>(), pauses_done);
  }
  std::printf("short runs: %d incremental syncs with nothing to do (queued, running, completed)\n",
              o.short_runs);
  std::printf(
      "CPU over the measured %.2f s: server %.2f s (%.0f %% of one core)%s, bench %.2f s (%.0f %%); server "
      "threads runnable but waiting for a CPU: %.2f s; load average %s at the start, %s at the end\n",
      phase_s, server_cpu, 100 * server_cpu / phase_s, o.pid > 0 ? "" : " [no --pid given]", bench_cpu,
      100 * bench_cpu / phase_s, server_wait, load0.c_str(), load1.c_str());
  std::printf("bench threads (the streams' reader, the driver): %.2f s on a CPU, %.2f s waiting for one\n",
              own.first, own.second);
  if (o.pid > 0) {
    std::printf(
        "server main (I/O) thread: %.2f s on a CPU, %.2f s waiting for one; busiest other thread (the sync "
        "worker): %.2f s on a CPU, %.2f s waiting\n",
        main_thread.first, main_thread.second, busiest_other.first, busiest_other.second);
    std::printf("server main (I/O) thread CPU per job event delivered: %.1f us\n",
                job_events ? 1e6 * main_thread.first / static_cast<double>(job_events) : 0.0);
    // From /proc/PID/task/PID/stat (clock ticks, 10 ms): the split of the figure above.
    const double events = job_events ? static_cast<double>(job_events) : 1.0;
    std::printf(
        "  of which user %.1f us, system %.1f us (utime/stime); %zu writes to the streams after their "
        "snapshots, %.2f job events per write\n",
        1e6 * io_user_sys.first / events, 1e6 * io_user_sys.second / events, writes,
        writes ? static_cast<double>(job_events) / static_cast<double>(writes) : 0.0);
  }
  std::printf(
      "job events received: %zu (%.0f per client), mean size %.0f bytes; progress events of the long run "
      "per client: %zu..%zu; status changes missing: %zu\n",
      job_events, static_cast<double>(job_events) / static_cast<double>(n),
      job_events ? static_cast<double>(job_bytes) / static_cast<double>(job_events) : 0.0, long_progress_min,
      long_progress_max, missing);
  std::printf("status change -> event received, every client:\n");
  print_header();
  queued.print("POST start -> queued (created)");
  running_first.print("updatedAt -> running (claimed by a worker)");
  paused.print("POST pause -> paused");
  paused_commit.print("  (of which updatedAt -> paused)");
  resumed.print("POST resume -> running");
  completed.print("endTime -> completed");
  all_status.print("all of the above");
  commit_to_receipt.print("(any status change: updatedAt -> receipt)");
  long_commit_to_receipt.print("(the long run's: updatedAt -> receipt)");
  short_commit_to_receipt.print("(the short runs': updatedAt -> receipt)");
  std::printf("progress -> event received (receipt - updatedAt of the batch commit):\n");
  print_header();
  progress.print("progress events");
  // Per event rather than per receipt: whether a late progress event was late for every client
  // (its commit, its coalescing turn, the server's I/O thread) or for the last ones (the fan-out).
  progress_first.print("progress per event: updatedAt -> 1st receipt");
  progress_spread.print("progress per event: 1st -> last receipt");
  std::printf("fan-out: first client's receipt -> last client's, per status change:\n");
  print_header();
  spread.print("status changes");
  // The server's part of the way, counted by the server (bucket bounds): from the hub's
  // publication to the write to each client's socket; the rest of a receipt's latency is the
  // commit before the publication and the client's receiving after the write.
  std::printf(
      "server's part (GET /metrics, mladmin_event_delivery_seconds): publication -> written to each "
      "client:\n");
  for (const char* kind : {"status", "progress"}) {
    const auto before = delays0.contains(kind) ? delays0.at(kind) : std::map<double, double>();
    const auto after = delays1.contains(kind) ? delays1.at(kind) : std::map<double, double>();
    std::printf("  %-9s %s\n", kind, delay_summary(before, after).c_str());
  }
  return missing == 0 ? 0 : 2;
}

int run_idle(const Options& o) {
  raise_fd_limit(o.connections);
  std::printf("events_bench idle: server pid %d, %s\n", o.pid, nofile_limit(o.pid).c_str());
  for (int i = 0; i < o.history; ++i) {
    const std::string id = start_sync(o, "incremental");
    for (int tries = 0;; ++tries) {
      const auto r = http_call(o, "GET", "/api/ml/sync/job/" + id);
      if (r.body.find(R"("status":"completed")") != std::string::npos) {
        break;
      }
      if (tries > 1000) {
        die("history job " + id + " did not complete");
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  const auto healthz_before = time_healthz(o, o.healthz);
  std::this_thread::sleep_for(500ms);
  const long rss0 = proc_status_kib(o.pid, "VmRSS").value_or(0);
  const long slab0 = socket_slab_kib();
  const long fds0 = fd_count(o.pid);

  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  const tcp::endpoint endpoint = *resolver.resolve(o.host, o.port).begin();
  Board board;
  std::vector<std::unique_ptr<Client>> clients;
  for (std::size_t i = 0; i < o.connections; ++i) {
    clients.push_back(std::make_unique<Client>(ioc.get_executor()));
  }
  const auto open_start = std::chrono::steady_clock::now();
  open_all(clients, o, board, endpoint, o.concurrency, false);
  ioc.run();  // returns when every stream has its snapshot (or failed)
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
  if (board.failed > 0) {
    die(std::to_string(board.failed) + " of " + std::to_string(o.connections) + " streams failed to open");
  }
  std::this_thread::sleep_for(2s);
  const long rss1 = proc_status_kib(o.pid, "VmRSS").value_or(0);
  const long slab1 = socket_slab_kib();
  const long fds1 = fd_count(o.pid);
  const auto healthz_holding = time_healthz(o, o.healthz);

  const auto close_start = std::chrono::steady_clock::now();
  for (auto& c : clients) {
    boost::system::error_code ignored;
    c->socket.close(ignored);
  }
  long fds2 = fd_count(o.pid);
  while (fds2 > fds0 && std::chrono::steady_clock::now() - close_start < 30s) {
    std::this_thread::sleep_for(20ms);
    fds2 = fd_count(o.pid);
  }
  const double close_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - close_start).count();
  std::this_thread::sleep_for(1s);
  const long rss2 = proc_status_kib(o.pid, "VmRSS").value_or(0);

  const double per = static_cast<double>(rss1 - rss0) / static_cast<double>(o.connections);
  std::printf("opened %zu event streams in %.2f s (%.0f per s, %zu at a time); snapshot %zu bytes each\n",
              o.connections, open_s, static_cast<double>(o.connections) / open_s, o.concurrency,
              clients.front()->snapshot_bytes);
  std::printf("server VmRSS: %ld KiB before, %ld KiB holding them, %ld KiB after closing them\n", rss0, rss1,
              rss2);
  std::printf("memory per idle stream: %.2f KiB\n", per);
  std::printf(
      "kernel slab memory of sockets, files, dentries and epoll entries (whole machine, both ends, not in "
      "VmRSS): %ld KiB before, %ld KiB holding them; half the growth per stream: %.2f KiB\n",
      slab0, slab1, static_cast<double>(slab1 - slab0) / 2.0 / static_cast<double>(o.connections));
  std::printf("server descriptors: %ld before, %ld holding, %ld after closing (back in %.2f s)\n", fds0, fds1,
              fds2, close_s);
  std::printf("GET /healthz, %d sequential requests, one connection each:\n", o.healthz);
  print_header();
  Stats(healthz_before).print("before opening the streams");
  Stats(healthz_holding).print("while holding them");
  return fds2 <= fds0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  return o.mode == "latency" ? run_latency(o) : run_idle(o);
}

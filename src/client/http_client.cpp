#include "client/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <optional>

#include "client/text.hpp"

namespace mladmin::client {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kBodyLimit = 64 * 1024 * 1024;
constexpr std::size_t kErrorBodyLimit = 1024 * 1024;
constexpr auto kSlice = std::chrono::milliseconds(100);

/// One connection and the state of its one pending operation. Every operation's completion writes
/// here, never into a caller's locals, so the destructor may drain abandoned operations safely.
struct Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    boost::system::error_code ignored;
    socket.close(ignored);
    resolver.cancel();
    ioc.restart();
    ioc.poll();
  }

  asio::io_context ioc;
  tcp::resolver resolver{ioc};
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  std::optional<bhttp::request<bhttp::string_body>> request;
  std::optional<bhttp::response_parser<bhttp::string_body>> whole;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> streamed;
  tcp::resolver::results_type endpoints;

  bool done = false;
  boost::system::error_code ec;

  auto completion() {
    done = false;
    ec = {};
    return [this](boost::system::error_code e, const auto&...) {
      ec = e;
      done = true;
    };
  }

  /// Runs the pending operation until it completes (true) or `deadline` passes (false); throws
  /// Interrupted when `interrupted` says so.
  bool wait(Clock::time_point deadline, const std::function<bool()>& interrupted) {
    while (!done) {
      if (interrupted && interrupted()) {
        throw Interrupted();
      }
      const auto now = Clock::now();
      if (now >= deadline) {
        return false;
      }
      if (ioc.stopped()) {
        ioc.restart();
      }
      ioc.run_one_for(std::min<Clock::duration>(kSlice, deadline - now));
    }
    return true;
  }
};

std::string describe(const boost::system::error_code& ec) {
  if (ec == asio::error::eof || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
      ec == asio::error::connection_reset) {
    return "the server closed the connection";
  }
  return ec.message();
}

void connect(Connection& c, const ServerUrl& url, Clock::time_point deadline, const ClientOptions& options) {
  c.resolver.async_resolve(url.host, url.port,
                           [&c](boost::system::error_code e, tcp::resolver::results_type results) {
                             c.ec = e;
                             c.endpoints = std::move(results);
                             c.done = true;
                           });
  c.done = false;
  if (!c.wait(deadline, options.interrupted)) {
    throw ClientError(cat("cannot resolve ", url.host, ": no answer in time"));
  }
  if (c.ec) {
    throw ClientError(cat("cannot resolve ", url.host, ": ", c.ec.message()));
  }
  asio::async_connect(c.socket, c.endpoints, c.completion());
  if (!c.wait(deadline, options.interrupted)) {
    throw ClientError(cat("cannot reach ", url.text, ": no answer in time"));
  }
  if (c.ec) {
    throw ClientError(cat("cannot reach ", url.text, ": ", c.ec.message()));
  }
}

void send(Connection& c, const ServerUrl& url, std::string_view method, std::string_view target,
          const Headers& headers, std::string_view body, Clock::time_point deadline,
          const ClientOptions& options) {
  auto& req = c.request.emplace();
  req.method_string(method);
  req.target(cat(url.base_path, target));
  req.version(11);
  req.set(bhttp::field::host, url.host_header);
  req.set(bhttp::field::user_agent, "mladmin-cli");
  for (const auto& [name, value] : headers) {
    req.set(name, value);
  }
  req.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.prepare_payload();
  }
  bhttp::async_write(c.socket, req, c.completion());
  if (!c.wait(deadline, options.interrupted)) {
    throw ClientError(cat(url.text, " did not take the request in time"));
  }
  if (c.ec) {
    throw ClientError(cat("sending to ", url.text, " failed: ", describe(c.ec)));
  }
}

std::string header_value(const bhttp::fields& fields, bhttp::field name) {
  auto it = fields.find(name);
  return it == fields.end() ? std::string() : std::string(it->value());
}

class BeastStreamReader final : public StreamReader {
 public:
  explicit BeastStreamReader(std::unique_ptr<Connection> c) : c_(std::move(c)) {}
  ~BeastStreamReader() override { c_.reset(); }  // drains the pending read while buffer_ lives

  Chunk read(std::chrono::milliseconds wait) override {
    Chunk chunk;
    if (ended_) {
      chunk.ended = true;
      return chunk;
    }
    auto& parser = *c_->streamed;
    if (!pending_) {
      parser.get().body().data = buffer_;
      parser.get().body().size = sizeof buffer_;
      bhttp::async_read_some(c_->socket, c_->buffer, parser, c_->completion());
      pending_ = true;
    }
    if (!c_->wait(Clock::now() + wait, {})) {
      return chunk;  // nothing yet; the read stays pending for the next call
    }
    pending_ = false;
    chunk.data.assign(buffer_, sizeof buffer_ - parser.get().body().size);
    if (c_->ec && c_->ec != bhttp::error::need_buffer) {
      ended_ = chunk.ended = true;
      chunk.error = describe(c_->ec);
    } else if (parser.is_done()) {
      ended_ = chunk.ended = true;
    }
    return chunk;
  }

 private:
  std::unique_ptr<Connection> c_;
  char buffer_[16384];
  bool pending_ = false;
  bool ended_ = false;
};

}  // namespace

ServerUrl parse_server_url(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https")) {
    throw ClientError(cat("'", text, "' is not a server URL; give one like http://127.0.0.1:8080"));
  }
  const auto& u = *parsed;
  if (u.scheme() == "https") {
    throw ClientError(cat(
        "'", text,
        "': https is not supported; give the plain http:// address (behind a TLS proxy, its inner side)"));
  }
  if (u.host().empty()) {
    throw ClientError(cat("'", text, "' has no host"));
  }
  if (u.has_userinfo() || u.has_query() || u.has_fragment()) {
    throw ClientError(cat("'", text, "': give the server's address only, without user, query or fragment"));
  }
  ServerUrl out;
  out.text = std::string(text);
  out.host = std::string(u.host_address());  // an IPv6 literal without its brackets
  out.host_header = std::string(u.encoded_host_and_port());
  if (u.has_port()) {
    out.port = std::string(u.port());
  }
  out.base_path = std::string(u.encoded_path());
  while (!out.base_path.empty() && out.base_path.back() == '/') {
    out.base_path.pop_back();
  }
  return out;
}

HttpClient::HttpClient(ServerUrl url, ClientOptions options)
    : url_(std::move(url)), options_(std::move(options)) {}

HttpClient::~HttpClient() = default;

Response HttpClient::request(std::string_view method, std::string_view target, const Headers& headers,
                             std::string_view body) {
  const auto deadline = Clock::now() + options_.timeout;
  Connection c;
  connect(c, url_, deadline, options_);
  send(c, url_, method, target, headers, body, deadline, options_);
  auto& parser = c.whole.emplace();
  parser.body_limit(kBodyLimit);
  if (method == "HEAD") {
    parser.skip(true);
  }
  bhttp::async_read(c.socket, c.buffer, parser, c.completion());
  if (!c.wait(deadline, options_.interrupted)) {
    throw ClientError(cat(url_.text, " did not answer in time"));
  }
  if (c.ec) {
    throw ClientError(cat("reading the answer of ", url_.text, " failed: ", describe(c.ec)));
  }
  Response out;
  out.status = static_cast<int>(parser.get().result_int());
  out.content_type = header_value(parser.get(), bhttp::field::content_type);
  out.body = std::move(parser.get().body());
  return out;
}

HttpClient::Opened HttpClient::open_stream(std::string_view target, const Headers& headers) {
  const auto deadline = Clock::now() + options_.timeout;
  auto c = std::make_unique<Connection>();
  connect(*c, url_, deadline, options_);
  Headers all{{"Accept", "text/event-stream"}, {"Cache-Control", "no-cache"}};
  all.insert(all.end(), headers.begin(), headers.end());
  send(*c, url_, "GET", target, all, {}, deadline, options_);
  auto& parser = c->streamed.emplace();
  parser.body_limit(boost::none);  // a stream has no end in sight; the SSE parser bounds one event
  bhttp::async_read_header(c->socket, c->buffer, parser, c->completion());
  if (!c->wait(deadline, options_.interrupted)) {
    throw ClientError(cat(url_.text, " did not answer in time"));
  }
  if (c->ec) {
    throw ClientError(cat("reading the answer of ", url_.text, " failed: ", describe(c->ec)));
  }
  Opened out;
  out.head.status = static_cast<int>(parser.get().result_int());
  out.head.content_type = header_value(parser.get(), bhttp::field::content_type);
  auto reader = std::make_unique<BeastStreamReader>(std::move(c));
  if (out.head.status == 200) {
    out.body = std::move(reader);
    return out;
  }
  // An error answer: read its (small) body for the message.
  while (out.head.body.size() < kErrorBodyLimit) {
    const auto remaining = deadline - Clock::now();
    if (remaining <= Clock::duration::zero()) {
      break;
    }
    auto chunk = reader->read(std::chrono::duration_cast<std::chrono::milliseconds>(remaining));
    out.head.body += chunk.data;
    if (chunk.ended) {
      break;
    }
  }
  return out;
}

}  // namespace mladmin::client

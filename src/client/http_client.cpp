#include "client/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <cstdlib>

#include "client/text.hpp"
#include "util/text.hpp"

namespace mladmin::client {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBodyLimit = 64 * 1024 * 1024;
constexpr std::size_t kErrorBodyLimit = 1024 * 1024;
/// A stream's bytes waiting for the reader beyond this pause the transfer until it reads.
constexpr std::size_t kStreamBacklog = 1024 * 1024;
constexpr auto kSlice = std::chrono::milliseconds(100);

void init_curl_once() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    throw ClientError(cat("libcurl failed to initialise: ", curl_easy_strerror(code)));
  }
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
      return false;
    }
  }
  return true;
}

std::string trim(std::string_view s) {
  return std::string(util::trim_line(s));
}

/// One request on a multi handle of its own, so that the caller's thread can wait on it in slices
/// (Ctrl-C, a stream's read with a deadline) instead of blocking inside libcurl.
class Transfer final {
 public:
  Transfer(const ServerUrl& url, const ClientOptions& options, std::string_view method,
           std::string_view target, const Headers& headers, std::string_view body, bool stream)
      : url_(url), stream_(stream), request_body_(body) {
    init_curl_once();
    multi_ = curl_multi_init();
    easy_ = curl_easy_init();
    if (multi_ == nullptr || easy_ == nullptr) {
      throw ClientError("libcurl could not set up a request");
    }
    const std::string full = cat(url.origin, url.base_path, target);
    curl_easy_setopt(easy_, CURLOPT_URL, full.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "mladmin-cli");
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    // Certificates are verified (libcurl's default, said here so that nobody turns it off by
    // accident): against `ca_file` when given, else the system's store.
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options.ca_file.empty()) {
      curl_easy_setopt(easy_, CURLOPT_CAINFO, options.ca_file.c_str());
    }
    if (stream) {
      curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
    }
    for (const auto& [name, value] : headers) {
      headers_ = curl_slist_append(headers_, cat(name, ": ", value).c_str());
    }
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip for big bodies
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    if (method == "HEAD") {
      curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    } else if (method != "GET" || !body.empty()) {
      if (method == "POST") {
        curl_easy_setopt(easy_, CURLOPT_POST, 1L);
      } else {
        curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
      }
      if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, request_body_.c_str());
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body_.size()));
      }
    }
    curl_multi_add_handle(multi_, easy_);
  }

  ~Transfer() {
    if (multi_ != nullptr && easy_ != nullptr) {
      curl_multi_remove_handle(multi_, easy_);
    }
    if (easy_ != nullptr) {
      curl_easy_cleanup(easy_);
    }
    if (multi_ != nullptr) {
      curl_multi_cleanup(multi_);
    }
    curl_slist_free_all(headers_);
  }

  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  /// Drives the transfer until `ready` answers true or the transfer ends (true), or `deadline`
  /// passes (false); throws Interrupted when `interrupted` says so.
  bool run(Clock::time_point deadline, const std::function<bool()>& interrupted,
           const std::function<bool()>& ready) {
    for (;;) {
      int running = 0;
      if (const CURLMcode mc = curl_multi_perform(multi_, &running); mc != CURLM_OK) {
        throw ClientError(cat("talking to ", url_.text, " failed: ", curl_multi_strerror(mc)));
      }
      int left = 0;
      while (const CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg == CURLMSG_DONE) {
          finished_ = true;
          result_ = m->data.result;
        }
      }
      if (finished_ || ready()) {
        return true;
      }
      if (interrupted && interrupted()) {
        throw Interrupted();
      }
      const auto now = Clock::now();
      if (now >= deadline) {
        return false;
      }
      const auto slice = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::min<Clock::duration>(kSlice, deadline - now));
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::max<std::int64_t>(1, slice.count())),
                      nullptr);
    }
  }

  bool finished() const { return finished_; }
  bool failed() const { return finished_ && result_ != CURLE_OK; }
  bool head_done() const { return head_done_; }
  int status() const { return status_; }
  const std::string& content_type() const { return content_type_; }

  /// Takes the body received so far (resuming a transfer paused for a slow reader).
  std::string take_body() {
    std::string out = std::move(body_);
    body_.clear();
    if (paused_) {
      paused_ = false;
      curl_easy_pause(easy_, CURLPAUSE_CONT);  // may deliver at once, into body_
      out += body_;
      body_.clear();
    }
    return out;
  }

  /// Why the transfer failed, in one line for a person.
  std::string failure() const {
    const std::string detail = error_[0] != '\0' ? trim(error_) : std::string(curl_easy_strerror(result_));
    switch (result_) {
      case CURLE_PEER_FAILED_VERIFICATION:
        return cat("cannot reach ", url_.text, ": its TLS certificate is not trusted (", detail,
                   "); if a private CA signed it, pass that CA with --ca-file PEM or MLADMIN_CA_FILE");
      case CURLE_SSL_CACERT_BADFILE:
        return cat("cannot use the CA file to verify ", url_.text, ": ", detail);
      case CURLE_SSL_CONNECT_ERROR:
        return cat("cannot reach ", url_.text, ": the TLS handshake failed (", detail, ")");
      case CURLE_COULDNT_RESOLVE_HOST:
        return cat("cannot resolve ", url_.host, ": ", detail);
      case CURLE_COULDNT_CONNECT:
        return cat("cannot reach ", url_.text, ": ", detail);
      case CURLE_OPERATION_TIMEDOUT:
        return cat("cannot reach ", url_.text, ": no answer in time");
      case CURLE_WRITE_ERROR:
        if (too_long_) {
          return cat("the answer of ", url_.text, " is over 64 MiB");
        }
        break;
      case CURLE_GOT_NOTHING:
      case CURLE_RECV_ERROR:
      case CURLE_PARTIAL_FILE:
      case CURLE_SEND_ERROR:
        return "the server closed the connection";
      default:
        break;
    }
    return cat("talking to ", url_.text, " failed: ", detail);
  }

 private:
  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    if (t->stream_) {
      if (t->body_.size() >= kStreamBacklog) {
        t->paused_ = true;
        return CURL_WRITEFUNC_PAUSE;
      }
    } else if (t->body_.size() + n > kBodyLimit) {
      t->too_long_ = true;
      return 0;  // aborts the transfer
    }
    t->body_.append(data, n);
    return n;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t n = size * count;
    const std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
      // A status line: "HTTP/1.1 200 OK", "HTTP/2 200". A new response (after a 1xx) starts over.
      const auto space = line.find(' ');
      t->status_ =
          space == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(space + 1, 3)).c_str());
      t->content_type_.clear();
    } else if (starts_with_nocase(line, "content-type:")) {
      t->content_type_ = trim(line.substr(13));
    } else if (trim(line).empty() && t->status_ >= 200) {
      t->head_done_ = true;
    }
    return n;
  }

  ServerUrl url_;
  bool stream_;
  std::string request_body_;
  CURLM* multi_ = nullptr;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
  bool finished_ = false;
  CURLcode result_ = CURLE_OK;
  int status_ = 0;
  bool head_done_ = false;
  std::string content_type_;
  std::string body_;
  bool too_long_ = false;
  bool paused_ = false;
};

class CurlStreamReader final : public StreamReader {
 public:
  explicit CurlStreamReader(std::unique_ptr<Transfer> t) : t_(std::move(t)) {}

  Chunk read(std::chrono::milliseconds wait) override {
    Chunk chunk;
    if (ended_) {
      chunk.ended = true;
      return chunk;
    }
    std::string pending = t_->take_body();
    if (pending.empty()) {
      t_->run(Clock::now() + wait, {}, [this] { return false; });
      pending = t_->take_body();
    }
    chunk.data = std::move(pending);
    if (t_->finished()) {
      // Everything that arrived before the end is in this chunk.
      chunk.data += t_->take_body();
      ended_ = chunk.ended = true;
      if (t_->failed()) {
        chunk.error = t_->failure();
      }
    }
    return chunk;
  }

 private:
  std::unique_ptr<Transfer> t_;
  bool ended_ = false;
};

}  // namespace

ServerUrl parse_server_url(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https")) {
    throw ClientError(cat("'", text, "' is not a server URL; give one like http://127.0.0.1:8080"));
  }
  const auto& u = *parsed;
  if (u.host().empty()) {
    throw ClientError(cat("'", text, "' has no host"));
  }
  if (u.has_userinfo() || u.has_query() || u.has_fragment()) {
    throw ClientError(cat("'", text, "': give the server's address only, without user, query or fragment"));
  }
  ServerUrl out;
  out.text = std::string(text);
  out.tls = u.scheme() == "https";
  out.host = std::string(u.host_address());  // an IPv6 literal without its brackets
  out.port = u.has_port() ? std::string(u.port()) : std::string(out.tls ? "443" : "80");
  out.origin = cat(out.tls ? "https://" : "http://", u.encoded_host_and_port());
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
  Transfer t(url_, options_, method, target, headers, body, false);
  if (!t.run(deadline, options_.interrupted, [] { return false; })) {
    throw ClientError(cat(url_.text, " did not answer in time"));
  }
  if (t.failed()) {
    throw ClientError(t.failure());
  }
  Response out;
  out.status = t.status();
  out.content_type = t.content_type();
  out.body = t.take_body();
  return out;
}

HttpClient::Opened HttpClient::open_stream(std::string_view target, const Headers& headers) {
  const auto deadline = Clock::now() + options_.timeout;
  Headers all{{"Accept", "text/event-stream"}, {"Cache-Control", "no-cache"}};
  all.insert(all.end(), headers.begin(), headers.end());
  auto t = std::make_unique<Transfer>(url_, options_, "GET", target, all, std::string_view{}, true);
  Transfer& transfer = *t;
  if (!transfer.run(deadline, options_.interrupted, [&transfer] { return transfer.head_done(); })) {
    throw ClientError(cat(url_.text, " did not answer in time"));
  }
  if (transfer.failed() && !transfer.head_done()) {
    throw ClientError(transfer.failure());
  }
  Opened out;
  out.head.status = transfer.status();
  out.head.content_type = transfer.content_type();
  auto reader = std::make_unique<CurlStreamReader>(std::move(t));
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

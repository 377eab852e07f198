#include "sink/http_sink.hpp"
#include "util/text.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mladmin::sink {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxAnswerBytes = 4 * 1024 * 1024;
constexpr std::size_t kBodyExcerptBytes = 200;
// The loop looks at every stop token at least this often, so that a stop is answered within
// 100 ms even when no socket moves (the stop callback also wakes it at once).
constexpr std::chrono::milliseconds kMaxPoll{40};
constexpr auto kLatencyWindow = std::chrono::minutes(5);
constexpr std::size_t kMaxLatencySamples = 100000;

void init_curl_once() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    throw std::runtime_error(std::string("libcurl failed to initialise: ") + curl_easy_strerror(code));
  }
}

domain::TimestampMs wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// At most `limit` bytes of `text`, never cutting a UTF-8 sequence in two.
std::string excerpt(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end));
}

std::string trim(std::string_view s) {
  return std::string(util::trim_line(s));
}

/// The delay a Retry-After value asks for: delay-seconds or an HTTP date; nullopt when neither.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value) {
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) {
      return std::chrono::milliseconds(std::numeric_limits<std::int32_t>::max());
    }
    return std::chrono::seconds(std::stoll(value));
  }
  const time_t at = curl_getdate(value.c_str(), nullptr);
  if (at == -1) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(
      std::max<std::int64_t>(0, static_cast<std::int64_t>(at) * 1000 - wall_ms()));
}

/// The `rejected` list of a 2xx answer, or nullopt when the body is not the documented shape.
std::optional<std::vector<Rejection>> parse_answer(const std::string& body, std::string& problem) {
  if (trim(body).empty()) {
    return std::vector<Rejection>{};
  }
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    problem = "the body is not a JSON object";
    return std::nullopt;
  }
  std::vector<Rejection> out;
  const json::value* rejected = v.as_object().if_contains("rejected");
  if (rejected == nullptr || rejected->is_null()) {
    return out;
  }
  if (!rejected->is_array()) {
    problem = "'rejected' is not an array";
    return std::nullopt;
  }
  for (const auto& item : rejected->as_array()) {
    const json::object* o = item.if_object();
    const json::value* type = o ? o->if_contains("sourceType") : nullptr;
    const json::value* id = o ? o->if_contains("sourceId") : nullptr;
    const json::value* reason = o ? o->if_contains("reason") : nullptr;
    if (type == nullptr || !type->is_string() || id == nullptr || !id->is_string()) {
      problem = "an entry of 'rejected' lacks sourceType or sourceId";
      return std::nullopt;
    }
    auto parsed = domain::parse_source_type(type->as_string());
    if (!parsed) {
      problem = "an entry of 'rejected' has an unknown sourceType";
      return std::nullopt;
    }
    Rejection r;
    r.source_type = *parsed;
    r.source_id = std::string(id->as_string());
    r.reason = reason != nullptr && reason->is_string() && !reason->as_string().empty()
                   ? std::string(reason->as_string())
                   : "refused by the ML service (no reason given)";
    out.push_back(std::move(r));
  }
  return out;
}

struct Wake {
  CURLM* multi;
  void operator()() const noexcept { curl_multi_wakeup(multi); }
};

}  // namespace

namespace {

/// A handler of Boost.JSON's basic_parser that keeps nothing: the parser only validates.
struct ValidateOnly {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  using ec = boost::system::error_code;
  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }
  bool on_array_begin(ec&) { return true; }
  bool on_array_end(std::size_t, ec&) { return true; }
  bool on_object_begin(ec&) { return true; }
  bool on_object_end(std::size_t, ec&) { return true; }
  bool on_string_part(json::string_view, std::size_t, ec&) { return true; }
  bool on_string(json::string_view, std::size_t, ec&) { return true; }
  bool on_key_part(json::string_view, std::size_t, ec&) { return true; }
  bool on_key(json::string_view, std::size_t, ec&) { return true; }
  bool on_number_part(json::string_view, ec&) { return true; }
  bool on_int64(std::int64_t, json::string_view, ec&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, ec&) { return true; }
  bool on_double(double, json::string_view, ec&) { return true; }
  bool on_bool(bool, ec&) { return true; }
  bool on_null(ec&) { return true; }
  bool on_comment_part(json::string_view, ec&) { return true; }
  bool on_comment(json::string_view, ec&) { return true; }
};

/// Whether `text` is one JSON object (checked without building it).
bool is_json_object(std::string_view text) {
  if (text.empty() || text.front() != '{') {
    return false;
  }
  json::basic_parser<ValidateOnly> p(json::parse_options{});
  boost::system::error_code ec;
  const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  return !ec && n == text.size();
}

/// Appends `s` to `out` as a JSON string (quoted and escaped by Boost.JSON's serializer).
void append_string(std::string& out, std::string_view s, json::serializer& sr) {
  sr.reset(json::string_view(s.data(), s.size()));
  char buf[4096];
  while (!sr.done()) {
    const auto part = sr.read(buf, sizeof buf);
    out.append(part.data(), part.size());
  }
}

}  // namespace

std::string batch_to_json(const Batch& batch) {
  // Written straight into the body, without a tree of json::value: a batch of 500 documents
  // costs a few µs per document less (docs/benchmarks.md, "The sink's own CPU").
  std::size_t size = 80 + batch.batch_id.size() + batch.job_id.size() + 60 * batch.deletes.size();
  for (const auto& u : batch.upserts) {
    size += 200 + u.source_id.size() + u.user_id.size() + u.title.size() + u.text.size() +
            u.metadata_json.size() + u.version.size();
  }
  std::string out;
  out.reserve(size + size / 16);  // room for some escapes
  json::serializer sr;
  out += R"({"batchId":)";
  append_string(out, batch.batch_id, sr);
  out += R"(,"jobId":)";
  append_string(out, batch.job_id, sr);
  out += R"(,"upserts":[)";
  bool first = true;
  for (const auto& u : batch.upserts) {
    out += first ? R"({"sourceType":)" : R"(,{"sourceType":)";
    first = false;
    append_string(out, domain::to_string(u.source_type), sr);
    out += R"(,"sourceId":)";
    append_string(out, u.source_id, sr);
    out += R"(,"userId":)";
    append_string(out, u.user_id, sr);
    out += R"(,"title":)";
    append_string(out, u.title, sr);
    out += R"(,"text":)";
    append_string(out, u.text, sr);
    out += R"(,"metadata":)";
    // The store's metadata (a JSON object, as the shaper serialized it) goes in as it is, once
    // checked; anything that is not one JSON object goes as {}.
    if (const auto metadata = util::trim_line(u.metadata_json); is_json_object(metadata)) {
      out += metadata;
    } else {
      out += "{}";
    }
    out += R"(,"version":)";
    append_string(out, u.version, sr);
    out += R"(,"updatedAt":")";
    out += domain::format_iso8601(u.updated_at);  // digits and punctuation only
    out += R"("})";
  }
  out += R"(],"deletes":[)";
  first = true;
  for (const auto& d : batch.deletes) {
    out += first ? R"({"sourceType":)" : R"(,{"sourceType":)";
    first = false;
    append_string(out, domain::to_string(d.source_type), sr);
    out += R"(,"sourceId":)";
    append_string(out, d.source_id, sr);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string redact_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return "(an invalid URL)";
  }
  boost::urls::url u(*parsed);
  u.remove_userinfo();
  u.remove_query();
  u.remove_fragment();
  return std::string(u.buffer());
}

namespace {

/// One batch on its way: thread-owned by the loop once taken from the queue.
struct Delivery {
  std::string batch_id;
  std::string job_id;
  std::size_t upserts = 0;
  std::size_t deletes = 0;
  std::string body;
  std::stop_token stop;
  std::function<void(Outcome)> done;
  std::optional<std::stop_callback<Wake>> on_stop;
  Steady::time_point submitted;
  Steady::time_point next_at;
  int attempts = 0;
  std::string last_error;
  // The request in flight, if any.
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Steady::time_point started;
  std::string answer;
  bool answer_too_long = false;
  std::string retry_after;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* d = static_cast<Delivery*>(user);
  const size_t n = size * count;
  if (d->answer.size() + n > kMaxAnswerBytes) {
    d->answer_too_long = true;
    return 0;  // aborts the transfer
  }
  d->answer.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* d = static_cast<Delivery*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string head(line.substr(0, kName.size()));
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    if (head == kName) {
      d->retry_after = trim(line.substr(kName.size()));
    }
  }
  // A new response (after an interim one) starts over.
  if (line.starts_with("HTTP/")) {
    d->retry_after.clear();
  }
  return n;
}

}  // namespace

struct HttpSink::Impl {
  MlServiceConfig config;
  HttpSinkTuning tuning;
  RequestObserver observer;
  std::string endpoint;
  std::string redacted;
  CURLM* multi = nullptr;

  std::mutex queue_mutex;
  std::vector<std::unique_ptr<Delivery>> incoming;
  bool quit = false;

  mutable std::mutex status_mutex;
  std::optional<AcknowledgedBatch> last_ack;
  std::optional<std::string> last_error;
  std::optional<domain::TimestampMs> last_error_at;
  mutable std::deque<std::pair<Steady::time_point, double>> latencies;
  std::atomic<std::size_t> in_flight{0};

  // Loop thread only.
  std::vector<std::unique_ptr<Delivery>> deliveries;
  Steady::time_point next_start_allowed{};
  std::mt19937_64 random{std::random_device{}()};

  std::thread thread;

  void run();
  void start_request(Delivery& d, Steady::time_point now);
  /// The request of `d` ended with `code`: either finishes `d` (true) or schedules a retry.
  bool on_request_done(Delivery& d, CURLcode code);
  void finish(Delivery& d, Outcome outcome);
  bool retry_or_give_up(Delivery& d, std::string error, std::optional<std::chrono::milliseconds> retry_after);
  void release_request(Delivery& d);
  void note_error(const std::string& message);
};

HttpSink::HttpSink(MlServiceConfig config, HttpSinkTuning tuning, RequestObserver observer)
    : impl_(std::make_unique<Impl>()) {
  init_curl_once();
  auto parsed = boost::urls::parse_uri(config.url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty()) {
    throw std::runtime_error("the ML service URL must be an http:// or https:// URL with a host");
  }
  impl_->config = std::move(config);
  impl_->tuning = tuning;
  impl_->observer = std::move(observer);
  std::string base = impl_->config.url;
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  impl_->endpoint = base + "/v1/batches";
  impl_->redacted = redact_url(impl_->config.url);
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr) {
    throw std::runtime_error("libcurl: curl_multi_init failed");
  }
  // Connections stay open between requests (HTTP/1.1 keep-alive); one per batch in flight.
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, 64L);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

HttpSink::~HttpSink() {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->quit = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->thread.join();
  curl_multi_cleanup(impl_->multi);
}

std::size_t HttpSink::batch_items() const {
  return impl_->config.batch_items;
}

std::size_t HttpSink::max_in_flight() const {
  return impl_->config.max_in_flight;
}

void HttpSink::send(Batch batch, std::stop_token stop, std::function<void(Outcome)> done) {
  auto d = std::make_unique<Delivery>();
  d->batch_id = batch.batch_id;
  d->job_id = batch.job_id;
  d->upserts = batch.upserts.size();
  d->deletes = batch.deletes.size();
  d->body = batch_to_json(batch);
  d->stop = stop;
  d->done = std::move(done);
  d->submitted = Steady::now();
  d->next_at = d->submitted;
  impl_->in_flight.fetch_add(1);
  // The callback only wakes the loop; the loop sees the token and answers `abandoned`.
  d->on_stop.emplace(std::move(stop), Wake{impl_->multi});
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->incoming.push_back(std::move(d));
  }
  curl_multi_wakeup(impl_->multi);
}

HttpSinkStatus HttpSink::status() const {
  HttpSinkStatus s;
  s.url = impl_->redacted;
  s.in_flight = impl_->in_flight.load();
  std::lock_guard lock(impl_->status_mutex);
  s.last_acknowledged = impl_->last_ack;
  s.last_error = impl_->last_error;
  s.last_error_at = impl_->last_error_at;
  const auto cutoff = Steady::now() - kLatencyWindow;
  while (!impl_->latencies.empty() && impl_->latencies.front().first < cutoff) {
    impl_->latencies.pop_front();
  }
  if (!impl_->latencies.empty()) {
    std::vector<double> v;
    v.reserve(impl_->latencies.size());
    for (const auto& [at, ms] : impl_->latencies) {
      v.push_back(ms);
    }
    std::sort(v.begin(), v.end());
    auto rank = [&v](double q) {
      const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
      return v[std::min(i, v.size() - 1)];
    };
    s.ack_latency_p50_ms = rank(0.5);
    s.ack_latency_p99_ms = rank(0.99);
  }
  return s;
}

void HttpSink::Impl::note_error(const std::string& message) {
  std::lock_guard lock(status_mutex);
  last_error = message;
  last_error_at = wall_ms();
}

void HttpSink::Impl::release_request(Delivery& d) {
  if (d.easy != nullptr) {
    curl_multi_remove_handle(multi, d.easy);
    curl_easy_cleanup(d.easy);
    d.easy = nullptr;
  }
  if (d.headers != nullptr) {
    curl_slist_free_all(d.headers);
    d.headers = nullptr;
  }
}

void HttpSink::Impl::finish(Delivery& d, Outcome outcome) {
  release_request(d);
  if (outcome.kind == OutcomeKind::acknowledged) {
    const auto now = Steady::now();
    const double ms = std::chrono::duration<double, std::milli>(now - d.submitted).count();
    std::lock_guard lock(status_mutex);
    last_ack = AcknowledgedBatch{.batch_id = d.batch_id,
                                 .job_id = d.job_id,
                                 .upserts = d.upserts,
                                 .deletes = d.deletes,
                                 .rejected = outcome.rejected.size(),
                                 .at = wall_ms()};
    latencies.emplace_back(now, ms);
    while (latencies.size() > kMaxLatencySamples ||
           (!latencies.empty() && latencies.front().first < now - kLatencyWindow)) {
      latencies.pop_front();
    }
  } else if (outcome.kind != OutcomeKind::abandoned) {
    note_error(outcome.reason);
  }
  d.on_stop.reset();
  in_flight.fetch_sub(1);
  auto done = std::move(d.done);
  d.done = nullptr;
  if (done) {
    done(std::move(outcome));
  }
}

void HttpSink::Impl::start_request(Delivery& d, Steady::time_point now) {
  d.easy = curl_easy_init();
  if (d.easy == nullptr) {
    d.next_at = now + std::chrono::milliseconds(100);
    return;
  }
  ++d.attempts;
  d.answer.clear();
  d.answer_too_long = false;
  d.retry_after.clear();
  d.error_buffer[0] = '\0';
  d.started = now;
  d.headers = curl_slist_append(d.headers, "Content-Type: application/json");
  d.headers = curl_slist_append(d.headers, "Accept: application/json");
  d.headers = curl_slist_append(d.headers, ("Idempotency-Key: " + d.batch_id).c_str());
  d.headers = curl_slist_append(d.headers, "Expect:");  // no 100-continue round trip
  if (!config.token.empty()) {
    d.headers = curl_slist_append(d.headers, ("Authorization: Bearer " + config.token).c_str());
  }
  CURL* e = d.easy;
  curl_easy_setopt(e, CURLOPT_URL, endpoint.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, d.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(d.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, d.headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "mladmin");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(config.timeout_ms));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!config.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_CAINFO, config.ca_file.c_str());
  }
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &d);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &d);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d.error_buffer);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &d);
  curl_multi_add_handle(multi, e);
}

bool HttpSink::Impl::retry_or_give_up(Delivery& d, std::string error,
                                      std::optional<std::chrono::milliseconds> retry_after) {
  release_request(d);
  d.last_error = std::move(error);
  if (d.attempts >= config.max_attempts) {
    finish(d, Outcome{OutcomeKind::unavailable,
                      {},
                      "ML service unavailable: " + d.last_error + " (after " + std::to_string(d.attempts) +
                          (d.attempts == 1 ? " attempt)" : " attempts)")});
    return true;
  }
  note_error("ML service unavailable: " + d.last_error + " (attempt " + std::to_string(d.attempts) + " of " +
             std::to_string(config.max_attempts) + ", retrying)");
  std::chrono::milliseconds delay;
  if (retry_after) {
    delay = std::min(*retry_after, tuning.retry_after_cap);
  } else {
    // Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))].
    const int shift = std::min(d.attempts - 1, 30);
    const auto ceiling =
        std::min<std::int64_t>(tuning.backoff_cap.count(), tuning.backoff_base.count() << shift);
    delay = std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling)(random));
  }
  d.next_at = Steady::now() + delay;
  return false;
}

bool HttpSink::Impl::on_request_done(Delivery& d, CURLcode code) {
  const double seconds = std::chrono::duration<double>(Steady::now() - d.started).count();
  auto observe = [&](std::string_view outcome) {
    if (observer) {
      observer(outcome, seconds);
    }
  };
  if (code != CURLE_OK) {
    observe("network_error");
    std::string detail = d.error_buffer[0] != '\0' ? d.error_buffer : curl_easy_strerror(code);
    if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
        code == CURLE_SSL_CERTPROBLEM) {
      // Retrying cannot help until someone fixes the certificate or ca_file.
      release_request(d);
      finish(d, Outcome{OutcomeKind::unavailable,
                        {},
                        "ML service unavailable: TLS certificate verification failed: " + detail});
      return true;
    }
    if (code == CURLE_WRITE_ERROR && d.answer_too_long) {
      detail = "the answer is longer than " + std::to_string(kMaxAnswerBytes) + " bytes";
    }
    return retry_or_give_up(d, detail, std::nullopt);
  }
  long status = 0;
  curl_easy_getinfo(d.easy, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) {
    std::string problem;
    auto rejected = parse_answer(d.answer, problem);
    if (!rejected) {
      observe("malformed_answer");
      return retry_or_give_up(d, "malformed answer to HTTP " + std::to_string(status) + ": " + problem,
                              std::nullopt);
    }
    observe("acknowledged");
    finish(d, Outcome{OutcomeKind::acknowledged, std::move(*rejected), {}});
    return true;
  }
  if (status == 408 || status == 429 || status >= 500) {
    observe("retryable_status");
    auto retry_after = parse_retry_after(d.retry_after);
    return retry_or_give_up(d, "HTTP " + std::to_string(status), retry_after);
  }
  observe("refused");
  std::string reason = "ML service refused the batch: " + std::to_string(status);
  const std::string body = excerpt(trim(d.answer), kBodyExcerptBytes);
  if (!body.empty()) {
    reason += " " + body;
  }
  finish(d, Outcome{OutcomeKind::refused, {}, std::move(reason)});
  return true;
}

void HttpSink::Impl::run() {
  for (;;) {
    {
      std::lock_guard lock(queue_mutex);
      for (auto& d : incoming) {
        deliveries.push_back(std::move(d));
      }
      incoming.clear();
      if (quit) {
        break;
      }
    }
    auto now = Steady::now();
    std::optional<Steady::time_point> wake_at;
    for (auto& d : deliveries) {
      if (d->done && d->stop.stop_requested()) {
        finish(*d,
               Outcome{OutcomeKind::abandoned, {}, "the sync was stopped before the ML service answered"});
        continue;
      }
      if (d->easy != nullptr || !d->done) {
        continue;
      }
      if (now < d->next_at) {
        wake_at = std::min(wake_at.value_or(d->next_at), d->next_at);
        continue;
      }
      if (config.requests_per_second > 0) {
        if (now < next_start_allowed) {
          wake_at = std::min(wake_at.value_or(next_start_allowed), next_start_allowed);
          continue;
        }
        const auto interval = std::chrono::duration_cast<Steady::duration>(
            std::chrono::duration<double>(1.0 / config.requests_per_second));
        next_start_allowed = std::max(now, next_start_allowed) + interval;
      }
      start_request(*d, now);
    }
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      Delivery* d = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&d));
      const CURLcode code = msg->data.result;
      if (d != nullptr) {
        on_request_done(*d, code);
      }
    }
    std::erase_if(deliveries, [](const auto& d) { return !d->done; });

    long curl_timeout = -1;
    curl_multi_timeout(multi, &curl_timeout);
    // Idle, nothing needs looking at: send() wakes the loop.
    auto wait = deliveries.empty() ? std::chrono::milliseconds(1000) : kMaxPoll;
    if (curl_timeout >= 0) {
      wait = std::min(wait, std::chrono::milliseconds(curl_timeout));
    }
    if (wake_at) {
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(*wake_at - Steady::now()));
    }
    wait = std::max(wait, std::chrono::milliseconds(0));
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
  for (auto& d : deliveries) {
    if (d->done) {
      finish(*d, Outcome{OutcomeKind::abandoned, {}, "mladmin is shutting down"});
    }
  }
  deliveries.clear();
}

}  // namespace mladmin::sink

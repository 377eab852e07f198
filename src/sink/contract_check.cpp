#include "sink/contract_check.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <vector>

#include "sink/http_sink.hpp"

namespace mladmin::sink {

namespace {

namespace json = boost::json;

struct Answer {
  long status = 0;
  std::string body;
  std::string error;  ///< a transport failure, when status is 0
};

size_t append(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

class Probe {
 public:
  explicit Probe(const ContractCheckOptions& options) : options_(options) {
    MlServiceConfig config;
    config.url = options.url;
    config.token = options.token;
    config.ca_file = options.ca_file;
    config.timeout_ms = options.timeout.count();
    config.max_attempts = 2;
    HttpSinkTuning tuning;
    tuning.backoff_base = std::chrono::milliseconds(100);
    tuning.retry_after_cap = std::chrono::milliseconds(5000);
    sink_ = std::make_unique<HttpSink>(config, tuning);
    base_ = options.url;
    while (!base_.empty() && base_.back() == '/') {
      base_.pop_back();
    }
    std::random_device random;
    static constexpr char kHex[] = "0123456789abcdef";
    prefix_ = "mladmin-check-";
    for (int i = 0; i < 8; ++i) {
      prefix_.push_back(kHex[random() % 16]);
    }
    prefix_ += "-";
  }

  const std::string& prefix() const { return prefix_; }

  Outcome post(Batch batch, HttpSink* through = nullptr) {
    std::promise<Outcome> promise;
    auto future = promise.get_future();
    (through != nullptr ? through : sink_.get())->send(std::move(batch), {}, [&promise](Outcome o) {
      promise.set_value(std::move(o));
    });
    return future.get();
  }

  std::string next_batch_id() { return prefix_ + "batch-" + std::to_string(++batches_); }

  /// GET {url}/v1/documents/{sourceType}/{sourceId}.
  Answer get_document(domain::SourceType type, const std::string& id) {
    Answer a;
    CURL* e = curl_easy_init();
    if (e == nullptr) {
      a.error = "curl_easy_init failed";
      return a;
    }
    char* escaped = curl_easy_escape(e, id.c_str(), static_cast<int>(id.size()));
    const std::string url = base_ + "/v1/documents/" + std::string(domain::to_string(type)) + "/" + escaped;
    curl_free(escaped);
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    if (!options_.token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + options_.token).c_str());
    }
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &a.body);
    if (!options_.ca_file.empty()) {
      curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    }
    const CURLcode code = curl_easy_perform(e);
    if (code == CURLE_OK) {
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a.status);
    } else {
      a.error = error[0] != '\0' ? error : curl_easy_strerror(code);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    return a;
  }

  /// nullopt when the service holds `version` of the document; else what is wrong.
  std::optional<std::string> expect_version(domain::SourceType type, const std::string& id,
                                            const std::string& version) {
    const Answer a = get_document(type, id);
    if (a.status == 0) {
      return "GET /v1/documents/… failed: " + a.error;
    }
    if (a.status == 404) {
      return "GET /v1/documents/" + std::string(domain::to_string(type)) + "/" + id +
             " answered 404; expected version \"" + version + "\"";
    }
    if (a.status != 200) {
      return "GET /v1/documents/… answered " + std::to_string(a.status) + "; expected 200";
    }
    boost::system::error_code ec;
    const json::value v = json::parse(a.body, ec);
    const json::value* held = (!ec && v.is_object()) ? v.as_object().if_contains("version") : nullptr;
    if (held == nullptr || !held->is_string()) {
      return "GET /v1/documents/… answered 200 without a string \"version\"";
    }
    if (held->as_string() != version) {
      return "the service holds version \"" + std::string(held->as_string()) + "\"; expected \"" + version +
             "\"";
    }
    return std::nullopt;
  }

  std::optional<std::string> expect_absent(domain::SourceType type, const std::string& id) {
    const Answer a = get_document(type, id);
    if (a.status == 0) {
      return "GET /v1/documents/… failed: " + a.error;
    }
    if (a.status != 404) {
      return "GET /v1/documents/" + std::string(domain::to_string(type)) + "/" + id + " answered " +
             std::to_string(a.status) + "; expected 404 (not held)";
    }
    return std::nullopt;
  }

 private:
  const ContractCheckOptions& options_;
  std::unique_ptr<HttpSink> sink_;
  std::string base_;
  std::string prefix_;
  int batches_ = 0;
};

Upsert probe_upsert(const std::string& id, const std::string& version, const std::string& text,
                    const std::string& title = "mladmin contract check") {
  Upsert u;
  u.source_type = domain::SourceType::journal_entries;
  u.source_id = id;
  u.user_id = "mladmin-check";
  u.title = title;
  u.text = text;
  u.metadata_json = R"({"probe":true})";
  u.version = version;
  u.updated_at = 1764547200000;  // 2025-12-01T00:00:00Z
  return u;
}

/// nullopt when `o` is an acknowledgement without rejections; else what is wrong.
std::optional<std::string> expect_clean_ack(const Outcome& o) {
  if (o.kind != OutcomeKind::acknowledged) {
    return o.reason.empty() ? std::string("the batch was not acknowledged") : o.reason;
  }
  if (!o.rejected.empty()) {
    return "the service rejected " + o.rejected.front().source_id + ": " + o.rejected.front().reason;
  }
  return std::nullopt;
}

bool is_rejected(const Outcome& o, const std::string& id) {
  for (const auto& r : o.rejected) {
    if (r.source_id == id) {
      return true;
    }
  }
  return false;
}

/// Not a rule: how long a small batch takes on the kept-alive connection, the median of
/// kTimedBatches deletes of `never_held` (after one more that the timing leaves out).
/// About 40 ms is the mark of a receiver that writes its answer in two parts with Nagle's
/// algorithm on (docs/ml-service-api.md, "Connections"): it bounds every job's rate.
void note_answer_time(Probe& probe, const Delete& never_held, std::ostream& out) {
  constexpr int kTimedBatches = 5;
  constexpr auto kSlow = std::chrono::milliseconds(30);
  std::vector<std::chrono::steady_clock::duration> times;
  for (int i = 0; i <= kTimedBatches; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const Outcome o = probe.post(Batch{probe.next_batch_id(), "mladmin-check", {}, {never_held}});
    if (o.kind != OutcomeKind::acknowledged) {
      return;  // the rules above say why
    }
    if (i > 0) {
      times.push_back(std::chrono::steady_clock::now() - start);
    }
  }
  std::sort(times.begin(), times.end());
  const auto median = times[times.size() / 2];
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f", std::chrono::duration<double, std::milli>(median).count());
  out << "  note  a small batch took " << ms << " ms (median of " << kTimedBatches
      << ", one kept-alive connection)\n";
  if (median >= kSlow) {
    out << "        a receiver that writes its answer's headers and body apart with Nagle's algorithm on\n"
           "        waits about 40 ms each time for mladmin's delayed ACK, which bounds every job's rate:\n"
           "        answer in one write or set TCP_NODELAY (docs/ml-service-api.md, \"Connections\")\n";
  }
}

}  // namespace

bool check_contract(const ContractCheckOptions& options, std::ostream& out) {
  Probe probe(options);
  const auto type = domain::SourceType::journal_entries;
  const std::string a = probe.prefix() + "a";
  const std::string b = probe.prefix() + "b";
  const std::string bad = probe.prefix() + "invalid";
  const std::string missing = probe.prefix() + "never-held";
  out << "Checking the ML service contract (docs/ml-service-api.md) against " << redact_url(options.url)
      << "\nwith probe documents named " << probe.prefix() << "*\n";

  int number = 0;
  int held = 0;
  int failed = 0;
  auto rule = [&](const std::string& name, const std::function<std::optional<std::string>()>& body) {
    ++number;
    std::optional<std::string> problem;
    try {
      problem = body();
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (problem) {
      ++failed;
      out << "  FAIL  " << number << ". " << name << "\n        " << *problem << "\n";
    } else {
      ++held;
      out << "  ok    " << number << ". " << name << "\n";
    }
    out.flush();
  };
  auto upsert_batch = [&](const std::string& id, const std::string& version) {
    Batch batch{
        probe.next_batch_id(), "mladmin-check", {probe_upsert(id, version, "probe text " + version)}, {}};
    return batch;
  };

  rule("an upsert is acknowledged and the service then holds its version",
       [&]() -> std::optional<std::string> {
         if (auto p = expect_clean_ack(probe.post(upsert_batch(a, "v1")))) {
           return p;
         }
         return probe.expect_version(type, a, "v1");
       });
  rule("the same upsert again (a new batch) is acknowledged and changes nothing",
       [&]() -> std::optional<std::string> {
         if (auto p = expect_clean_ack(probe.post(upsert_batch(a, "v1")))) {
           return p;
         }
         return probe.expect_version(type, a, "v1");
       });
  rule("a newer version replaces the one held", [&]() -> std::optional<std::string> {
    if (auto p = expect_clean_ack(probe.post(upsert_batch(a, "v2")))) {
      return p;
    }
    return probe.expect_version(type, a, "v2");
  });
  rule("a repeated (sourceType, sourceId, version) is a no-op: v1 again leaves v2 held",
       [&]() -> std::optional<std::string> {
         if (auto p = expect_clean_ack(probe.post(upsert_batch(a, "v1")))) {
           return p;
         }
         return probe.expect_version(type, a, "v2");
       });
  rule("a delete is acknowledged and the document is no longer held", [&]() -> std::optional<std::string> {
    if (auto p =
            expect_clean_ack(probe.post(Batch{probe.next_batch_id(), "mladmin-check", {}, {{type, a}}}))) {
      return p;
    }
    return probe.expect_absent(type, a);
  });
  rule("a delete of a document never held is a success", [&]() -> std::optional<std::string> {
    return expect_clean_ack(probe.post(Batch{probe.next_batch_id(), "mladmin-check", {}, {{type, missing}}}));
  });
  Batch mixed{probe.next_batch_id(),
              "mladmin-check",
              {probe_upsert(b, "v1", "probe text"), probe_upsert(bad, "v1", "", "")},
              {}};
  rule("an invalid item (empty title and text) is rejected by name while the rest of its batch is applied",
       [&]() -> std::optional<std::string> {
         const Outcome o = probe.post(mixed);
         if (o.kind != OutcomeKind::acknowledged) {
           return o.reason;
         }
         if (!is_rejected(o, bad)) {
           return "\"rejected\" does not name " + bad + " (an upsert with empty title and text)";
         }
         if (is_rejected(o, b)) {
           return "\"rejected\" names the valid item " + b;
         }
         if (auto p = probe.expect_version(type, b, "v1")) {
           return p;
         }
         return probe.expect_absent(type, bad);
       });
  rule("the same Idempotency-Key again gets the same answer", [&]() -> std::optional<std::string> {
    const Outcome o = probe.post(mixed);
    if (o.kind != OutcomeKind::acknowledged) {
      return o.reason;
    }
    if (!is_rejected(o, bad) || o.rejected.size() != 1) {
      return "the repeated batch's \"rejected\" differs from the first answer";
    }
    return probe.expect_version(type, b, "v1");
  });
  if (options.token.empty()) {
    out << "  skip  " << ++number << ". a request with a wrong token is refused (no token given)\n";
  } else {
    rule("a request with a wrong token is refused with 401 or 403", [&]() -> std::optional<std::string> {
      MlServiceConfig config;
      config.url = options.url;
      config.token = "mladmin-check-wrong-token";
      config.ca_file = options.ca_file;
      config.timeout_ms = options.timeout.count();
      config.max_attempts = 1;
      HttpSink wrong(config);
      const Outcome o = probe.post(upsert_batch(probe.prefix() + "intruder", "v1"), &wrong);
      if (o.kind == OutcomeKind::refused &&
          (o.reason.find(": 401") != std::string::npos || o.reason.find(": 403") != std::string::npos)) {
        return std::nullopt;
      }
      return o.kind == OutcomeKind::acknowledged ? "the batch was acknowledged" : o.reason;
    });
  }
  // Leave nothing behind (best effort; not a rule).
  probe.post(Batch{probe.next_batch_id(), "mladmin-check", {}, {{type, a}, {type, b}, {type, bad}}});
  note_answer_time(probe, {type, missing}, out);

  out << held << " of " << (held + failed) << " rules hold: "
      << (failed == 0 ? "the service keeps the contract\n" : "the service does NOT keep the contract\n");
  return failed == 0;
}

}  // namespace mladmin::sink

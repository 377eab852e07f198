#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "domain/clock.hpp"
#include "sink/sink.hpp"

// The sink that delivers batches to an external ML service over HTTP(S) with libcurl
// (docs/ml-service-api.md describes the wire contract, retries and TLS).
namespace mladmin::sink {

/// The `[ml_service]` settings (config.example.toml documents each key).
struct MlServiceConfig {
  std::string url;  ///< base URL; empty: no external sink
  std::string token;
  std::size_t batch_items = 500;
  std::size_t max_in_flight = 4;
  std::int64_t timeout_ms = 10000;
  int max_attempts = 8;
  double requests_per_second = 0;  ///< 0: no ceiling
  std::string ca_file;             ///< PEM bundle; empty: the system's CA store
};

/// Knobs that are not configuration: tests shorten the backoff.
struct HttpSinkTuning {
  std::chrono::milliseconds backoff_base{250};  ///< the first retry waits up to this (full jitter)
  std::chrono::milliseconds backoff_cap{30000};
  std::chrono::milliseconds retry_after_cap{600000};  ///< a longer Retry-After is cut to this
};

/// The last batch the service acknowledged (GET /api/ml/service's `lastAcknowledgedBatch`).
struct AcknowledgedBatch {
  std::string batch_id;
  std::string job_id;
  std::size_t upserts = 0;  ///< documents sent in it (the rejected ones included)
  std::size_t deletes = 0;
  std::size_t rejected = 0;  ///< upserts the service refused in its answer
  domain::TimestampMs at = 0;
};

/// What GET /api/ml/service shows.
struct HttpSinkStatus {
  std::string url;                                     ///< without userinfo, query or fragment
  std::optional<AcknowledgedBatch> last_acknowledged;  ///< since the process started
  std::optional<std::string> last_error;
  std::optional<domain::TimestampMs> last_error_at;
  std::size_t in_flight = 0;                 ///< batches handed to send() and not yet done
  std::optional<double> ack_latency_p50_ms;  ///< send() to acknowledgement, last 5 minutes
  std::optional<double> ack_latency_p99_ms;
};

/// One HTTP request's end, for metrics: `outcome` is acknowledged, retryable_status, refused,
/// network_error or malformed_answer; `seconds` from the request's start to its end.
using RequestObserver = std::function<void(std::string_view outcome, double seconds)>;

/// The JSON body of `batch` as sent to POST {url}/v1/batches.
std::string batch_to_json(const Batch& batch);

/// `url` without userinfo, query and fragment (safe to show and log).
std::string redact_url(std::string_view url);

/// Delivers batches with libcurl's multi interface on one thread of its own: keep-alive
/// connections are reused, https verifies the peer against the system CA store or `ca_file`.
/// Thread-safe; the destructor completes every pending send with `abandoned`.
class HttpSink final : public Sink {
 public:
  /// Throws std::runtime_error when libcurl cannot be set up or `config.url` is not http(s).
  HttpSink(MlServiceConfig config, HttpSinkTuning tuning = {}, RequestObserver observer = {});
  ~HttpSink() override;
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  std::size_t batch_items() const override;
  std::size_t max_in_flight() const override;
  void send(Batch batch, std::stop_token stop, std::function<void(Outcome)> done) override;

  HttpSinkStatus status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mladmin::sink

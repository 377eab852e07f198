#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/job.hpp"

namespace mladmin::metrics {

/// What a scrape reads at the moment it happens rather than counting as it goes.
struct Gauges {
  std::vector<std::pair<domain::JobStatus, std::int64_t>> jobs_by_status;
  std::size_t event_clients = 0;
  /// The rights cache's counts so far (accounts::RightsCache::Stats), exposed as counters.
  std::uint64_t rights_cache_emptied = 0;
  std::uint64_t rights_cache_user_reads = 0;
  /// The engine's write transactions of sync slices (sync::CommitStats), exposed as counters.
  std::uint64_t sync_write_transactions = 0;
  std::uint64_t sync_shared_write_transactions = 0;
  double sync_writer_cpu_seconds = 0;
  /// The store's WAL upkeep (store::WalActivity); absent for a store without a WAL.
  bool has_wal = false;
  double wal_bytes = 0;
  std::uint64_t wal_writer_checkpoints = 0;
  double wal_writer_checkpoint_seconds = 0;
  std::uint64_t wal_restarts = 0;
  std::uint64_t wal_checkpointer_passes = 0;
  std::uint64_t wal_truncations = 0;
  bool has_search_index = false;  ///< the store indexes in a thread of its own (SQLite)
  std::uint64_t search_index_passes = 0;
  std::uint64_t search_index_documents = 0;
  std::int64_t search_index_behind = 0;
  /// The event hub's delivery delays (events::DeliveryDelays), one histogram per kind of event
  /// ("status", "progress"), exposed as mladmin_event_delivery_seconds{kind}.
  struct Delays {
    std::string kind;
    std::vector<std::uint64_t> buckets;  ///< per bucket, not cumulative: one more than the bounds
    double sum_seconds = 0;
  };
  std::vector<double> event_delivery_bounds;  ///< the buckets' upper bounds, seconds
  std::vector<Delays> event_delivery;
};

/// The process's Prometheus metrics (prometheus-cpp's registry behind a narrow interface, so
/// that its headers stay in one translation unit). Thread-safe.
class Metrics final {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// One answered HTTP request: `route` is the route pattern, "" when nothing matched. Methods
  /// outside GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS count as method="other".
  void observe_request(std::string_view method, std::string_view route, int status, double seconds);

  /// The accept loop failed to take a connection (out of descriptors or kernel memory); it waits
  /// before the next try (docs/security.md).
  void observe_accept_error();

  /// A committed job change (the engine's listener): counts the items it processed since the
  /// last change this process saw, and its duration when it finished.
  void observe_job(const domain::Job& job, bool status_changed);

  /// One request to the external ML service ended (docs/ml-service-api.md): `outcome` is
  /// acknowledged, retryable_status, refused, network_error or malformed_answer.
  void observe_ml_request(std::string_view outcome, double seconds);

  /// The Prometheus text exposition (format 0.0.4) of every metric plus `gauges`.
  std::string render(const Gauges& gauges);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mladmin::metrics

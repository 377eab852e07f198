#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_map>

namespace mladmin::metrics {

namespace {

const prometheus::Histogram::BucketBoundaries kRequestBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};
const prometheus::Histogram::BucketBoundaries kMlBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2.5,   5,    10,  30};
const prometheus::Histogram::BucketBoundaries kJobBuckets = {0.1, 0.5, 1,   5,    10,   30,
                                                             60,  300, 900, 3600, 14400};

/// The method label: one of a fixed set, so that a client sending made-up method tokens cannot
/// create a series per token (each one lives, and is scraped, until the process exits).
std::string_view method_label(std::string_view method) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) {
      return known;
    }
  }
  return "other";
}

/// The status label: the server only answers statuses of 100-599; anything else folds into one.
std::string status_label(int status) {
  return status >= 100 && status <= 599 ? std::to_string(status) : "other";
}

}  // namespace

struct Metrics::Impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("mladmin_http_requests_total")
          .Help("HTTP requests answered, by route, method and status")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& request_seconds =
      prometheus::BuildHistogram()
          .Name("mladmin_http_request_duration_seconds")
          .Help("Time from a request's arrival to its response head, by route")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& accept_errors =
      prometheus::BuildCounter()
          .Name("mladmin_http_accept_errors_total")
          .Help("Failed accepts (out of descriptors or memory), each followed by a wait of 10 ms to 1 s")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& items =
      prometheus::BuildCounter()
          .Name("mladmin_sync_items_total")
          .Help("Items processed by sync jobs, by type and outcome")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& job_seconds =
      prometheus::BuildHistogram()
          .Name("mladmin_sync_job_duration_seconds")
          .Help("Running time of finished sync jobs, by type and final status")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& jobs = prometheus::BuildGauge()
                                                    .Name("mladmin_sync_jobs")
                                                    .Help("Sync jobs in the database, by status")
                                                    .Register(registry);
  prometheus::Family<prometheus::Gauge>& clients = prometheus::BuildGauge()
                                                       .Name("mladmin_event_clients")
                                                       .Help("Connected live event stream clients")
                                                       .Register(registry);
  prometheus::Family<prometheus::Counter>& rights_emptied =
      prometheus::BuildCounter()
          .Name("mladmin_rights_cache_emptied_total")
          .Help("Times the users' rights cache was emptied: an account changed, here or in another process")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& rights_reads =
      prometheus::BuildCounter()
          .Name("mladmin_rights_cache_user_reads_total")
          .Help("Users read from the database by a token check because their rights were not in memory")
          .Register(registry);
  // The engine's commits and the store's WAL (docs/performance.md): counts kept where they
  // happen, read by a scrape.
  prometheus::Family<prometheus::Counter>& write_transactions =
      prometheus::BuildCounter()
          .Name("mladmin_sync_write_transactions_total")
          .Help("Write transactions that committed sync slices")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& shared_transactions =
      prometheus::BuildCounter()
          .Name("mladmin_sync_shared_write_transactions_total")
          .Help("Of these, those that held the commits of several jobs")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& writer_cpu =
      prometheus::BuildCounter()
          .Name("mladmin_sync_writer_cpu_seconds_total")
          .Help(
              "CPU time spent inside those transactions: the one writer's work, which bounds all jobs' rate")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& wal_bytes =
      prometheus::BuildGauge()
          .Name("mladmin_store_wal_bytes")
          .Help("Bytes of write-ahead log after the last commit (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& wal_writer_checkpoints =
      prometheus::BuildCounter()
          .Name("mladmin_store_writer_checkpoints_total")
          .Help("Checkpoints the writer ran itself because the write-ahead log passed its bound (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& wal_writer_checkpoint_seconds =
      prometheus::BuildCounter()
          .Name("mladmin_store_writer_checkpoint_seconds_total")
          .Help("Time those checkpoints held the writes up (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& wal_restarts =
      prometheus::BuildCounter()
          .Name("mladmin_store_wal_restarts_total")
          .Help("Times the write-ahead log was written from its start again (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& wal_passes =
      prometheus::BuildCounter()
          .Name("mladmin_store_checkpointer_passes_total")
          .Help("Passes of the background checkpointer (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& wal_truncations =
      prometheus::BuildCounter()
          .Name("mladmin_store_wal_truncations_total")
          .Help("Times the background checkpointer truncated the write-ahead log (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& index_passes =
      prometheus::BuildCounter()
          .Name("mladmin_store_search_index_passes_total")
          .Help("Passes of the search indexer that brought the full-text index up to date (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& index_documents =
      prometheus::BuildCounter()
          .Name("mladmin_store_search_index_documents_total")
          .Help("Documents the search indexer indexed, rebuilds included (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& index_behind =
      prometheus::BuildGauge()
          .Name("mladmin_store_search_index_behind_changes")
          .Help("Committed changes of documents that the full-text index has not taken yet (SQLite)")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& event_delivery =
      prometheus::BuildHistogram()
          .Name("mladmin_event_delivery_seconds")
          .Help(
              "Time from a job event's publication to its write to a client's stream, per client and "
              "event, by kind (status, progress: its coalescing turn included)")
          .Register(registry);
  std::mutex render_mutex;  // a scrape brings the counters above up to the counts kept elsewhere

  prometheus::Family<prometheus::Counter>& ml_requests =
      prometheus::BuildCounter()
          .Name("mladmin_ml_service_requests_total")
          .Help("Requests to the external ML service, by outcome")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& ml_request_seconds =
      prometheus::BuildHistogram()
          .Name("mladmin_ml_service_request_duration_seconds")
          .Help("Time from a request to the external ML service to its answer or failure")
          .Register(registry);

  std::mutex mutex;  // the last counters seen of each unfinished job
  std::unordered_map<std::string, domain::JobCounters> seen;

  // The request series met so far, by route, method label and status label ("\n"-joined): a
  // request finds its counter and histogram with one lookup instead of building the label sets
  // and hashing them in each family (every label takes values from a bounded set, see below).
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct RequestSeries {
    prometheus::Counter* count;
    prometheus::Histogram* seconds;
  };
  std::mutex series_mutex;
  std::unordered_map<std::string, RequestSeries, KeyHash, std::equal_to<>> series;
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  // Every status has a series from the start, so that a dashboard shows zeros rather than gaps.
  for (auto status : {domain::JobStatus::queued, domain::JobStatus::running, domain::JobStatus::paused,
                      domain::JobStatus::interrupted, domain::JobStatus::completed, domain::JobStatus::failed,
                      domain::JobStatus::cancelled}) {
    impl_->jobs.Add({{"status", std::string(domain::to_string(status))}});
  }
  impl_->clients.Add({});
  impl_->accept_errors.Add({});
  impl_->rights_emptied.Add({});
  impl_->rights_reads.Add({});
  impl_->write_transactions.Add({});
  impl_->shared_transactions.Add({});
  impl_->writer_cpu.Add({});
  for (const char* outcome :
       {"acknowledged", "retryable_status", "refused", "network_error", "malformed_answer"}) {
    impl_->ml_requests.Add({{"outcome", outcome}});
  }
  impl_->ml_request_seconds.Add({}, kMlBuckets);
  for (auto type : {domain::JobType::journal_entries, domain::JobType::goals}) {
    const std::string t(domain::to_string(type));
    for (const char* outcome : {"synced", "skipped", "failed"}) {
      impl_->items.Add({{"type", t}, {"outcome", outcome}});
    }
    for (auto status :
         {domain::JobStatus::completed, domain::JobStatus::failed, domain::JobStatus::cancelled}) {
      impl_->job_seconds.Add({{"type", t}, {"status", std::string(domain::to_string(status))}}, kJobBuckets);
    }
  }
}

Metrics::~Metrics() = default;

void Metrics::observe_request(std::string_view method, std::string_view route, int status, double seconds) {
  // Every label takes values from a bounded set (docs/security.md#limits-against-exhaustion):
  // `route` is a pattern of the route table (never the path as sent), the method and the status
  // are folded above.
  const std::string_view r = route.empty() ? std::string_view("unmatched") : route;
  const std::string_view m = method_label(method);
  const std::string s = status_label(status);  // three digits: no allocation
  // The key on the stack (route patterns are short); a longer one is built on the heap.
  std::array<char, 192> buffer{};
  std::string heap;
  std::string_view key;
  if (r.size() + m.size() + s.size() + 2 <= buffer.size()) {
    char* out = std::copy(r.begin(), r.end(), buffer.data());
    *out++ = '\n';
    out = std::copy(m.begin(), m.end(), out);
    *out++ = '\n';
    out = std::copy(s.begin(), s.end(), out);
    key = std::string_view(buffer.data(), static_cast<std::size_t>(out - buffer.data()));
  } else {
    heap.append(r).append(1, '\n').append(m).append(1, '\n').append(s);
    key = heap;
  }
  Impl::RequestSeries found{};
  {
    std::lock_guard lock(impl_->series_mutex);
    if (const auto it = impl_->series.find(key); it != impl_->series.end()) {
      found = it->second;
    } else {
      const std::string rs(r);
      found.count = &impl_->requests.Add({{"route", rs}, {"method", std::string(m)}, {"status", s}});
      found.seconds = &impl_->request_seconds.Add({{"route", rs}}, kRequestBuckets);
      impl_->series.emplace(std::string(key), found);
    }
  }
  found.count->Increment();
  found.seconds->Observe(seconds);
}

void Metrics::observe_accept_error() {
  impl_->accept_errors.Add({}).Increment();
}

void Metrics::observe_job(const domain::Job& job, bool status_changed) {
  const std::string type(domain::to_string(job.type));
  domain::JobCounters delta;
  {
    std::lock_guard lock(impl_->mutex);
    auto [it, fresh] = impl_->seen.try_emplace(job.id, job.counters);
    if (!fresh) {
      // A retry of failed items lowers the failed count; only increases are new work.
      delta.synced = std::max<std::int64_t>(0, job.counters.synced - it->second.synced);
      delta.skipped = std::max<std::int64_t>(0, job.counters.skipped - it->second.skipped);
      delta.failed = std::max<std::int64_t>(0, job.counters.failed - it->second.failed);
      it->second = job.counters;
    }
    // The first sight of a job in this process is its baseline: what a checkpoint already held
    // was counted by the process that did the work.
    if (domain::is_finished(job.status)) {
      impl_->seen.erase(job.id);
    }
  }
  if (delta.synced > 0) {
    impl_->items.Add({{"type", type}, {"outcome", "synced"}}).Increment(static_cast<double>(delta.synced));
  }
  if (delta.skipped > 0) {
    impl_->items.Add({{"type", type}, {"outcome", "skipped"}}).Increment(static_cast<double>(delta.skipped));
  }
  if (delta.failed > 0) {
    impl_->items.Add({{"type", type}, {"outcome", "failed"}}).Increment(static_cast<double>(delta.failed));
  }
  if (status_changed && domain::is_finished(job.status)) {
    impl_->job_seconds
        .Add({{"type", type}, {"status", std::string(domain::to_string(job.status))}}, kJobBuckets)
        .Observe(static_cast<double>(job.running_ms) / 1000.0);
  }
}

void Metrics::observe_ml_request(std::string_view outcome, double seconds) {
  impl_->ml_requests.Add({{"outcome", std::string(outcome)}}).Increment();
  impl_->ml_request_seconds.Add({}, kMlBuckets).Observe(seconds);
}

std::string Metrics::render(const Gauges& gauges) {
  for (auto status : {domain::JobStatus::queued, domain::JobStatus::running, domain::JobStatus::paused,
                      domain::JobStatus::interrupted, domain::JobStatus::completed, domain::JobStatus::failed,
                      domain::JobStatus::cancelled}) {
    std::int64_t n = 0;
    for (const auto& [s, count] : gauges.jobs_by_status) {
      if (s == status) {
        n = count;
      }
    }
    impl_->jobs.Add({{"status", std::string(domain::to_string(status))}}).Set(static_cast<double>(n));
  }
  impl_->clients.Add({}).Set(static_cast<double>(gauges.event_clients));
  {
    std::lock_guard lock(impl_->render_mutex);
    using Count = std::pair<prometheus::Family<prometheus::Counter>*, double>;
    std::vector<Count> counts{
        {&impl_->rights_emptied, static_cast<double>(gauges.rights_cache_emptied)},
        {&impl_->rights_reads, static_cast<double>(gauges.rights_cache_user_reads)},
        {&impl_->write_transactions, static_cast<double>(gauges.sync_write_transactions)},
        {&impl_->shared_transactions, static_cast<double>(gauges.sync_shared_write_transactions)},
        {&impl_->writer_cpu, gauges.sync_writer_cpu_seconds}};
    if (gauges.has_wal) {
      impl_->wal_bytes.Add({}).Set(gauges.wal_bytes);
      counts.insert(counts.end(),
                    {{&impl_->wal_writer_checkpoints, static_cast<double>(gauges.wal_writer_checkpoints)},
                     {&impl_->wal_writer_checkpoint_seconds, gauges.wal_writer_checkpoint_seconds},
                     {&impl_->wal_restarts, static_cast<double>(gauges.wal_restarts)},
                     {&impl_->wal_passes, static_cast<double>(gauges.wal_checkpointer_passes)},
                     {&impl_->wal_truncations, static_cast<double>(gauges.wal_truncations)}});
    }
    if (gauges.has_search_index) {
      impl_->index_behind.Add({}).Set(static_cast<double>(gauges.search_index_behind));
      counts.insert(counts.end(),
                    {{&impl_->index_passes, static_cast<double>(gauges.search_index_passes)},
                     {&impl_->index_documents, static_cast<double>(gauges.search_index_documents)}});
    }
    for (const auto& now : gauges.event_delivery) {
      // The hub counts; as with the counters, each scrape adds what the histogram lacks.
      auto& histogram = impl_->event_delivery.Add({{"kind", now.kind}}, gauges.event_delivery_bounds);
      const auto shown = histogram.Collect().histogram;  // cumulative per bucket
      std::vector<double> added(now.buckets.size());
      for (std::size_t i = 0; i < now.buckets.size() && i < shown.bucket.size(); ++i) {
        const auto previous = i == 0 ? std::uint64_t{0} : shown.bucket[i - 1].cumulative_count;
        const auto had = shown.bucket[i].cumulative_count - previous;
        added[i] = static_cast<double>(now.buckets[i] - std::min(now.buckets[i], had));
      }
      histogram.ObserveMultiple(added, std::max(0.0, now.sum_seconds - shown.sample_sum));
    }
    for (auto [family, now] : counts) {
      auto& counter = family->Add({});
      if (now > counter.Value()) {
        counter.Increment(now - counter.Value());
      }
    }
  }
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace mladmin::metrics

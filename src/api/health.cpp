#include "api/health.hpp"

#include "accounts/accounts.hpp"
#include "api/auth.hpp"
#include "api/json.hpp"
#include "domain/clock.hpp"
#include "events/hub.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"
#include "sync/engine.hpp"

namespace mladmin::api {

http::Response healthz(http::Request&, ApiContext&) {
  return json_response(200, {{"status", "ok"}});
}

http::Response readyz(http::Request&, ApiContext& ctx) {
  if (ctx.draining()) {
    return http::error_response(503, "shutting_down", "the server is shutting down");
  }
  if (!ctx.store.ping()) {
    return http::error_response(503, "database_unavailable", "the database does not answer");
  }
  return json_response(200, {{"status", "ready"}});
}

http::Response metrics_text(http::Request& req, ApiContext& ctx) {
  if (!ctx.metrics_public) {
    auth::require_role(authenticate(req, ctx), domain::Role::ml_admin);
  }
  metrics::Gauges gauges;
  gauges.jobs_by_status = ctx.store.read_value([](store::Reader& r) { return r.count_jobs_by_status(); });
  gauges.event_clients = ctx.hub.clients();
  const auto rights = ctx.accounts.rights_cache_stats();
  gauges.rights_cache_emptied = rights.emptied;
  gauges.rights_cache_user_reads = rights.user_reads;
  const auto commits = ctx.engine.commit_stats();
  gauges.sync_write_transactions = commits.transactions;
  gauges.sync_shared_write_transactions = commits.shared;
  gauges.sync_writer_cpu_seconds = std::chrono::duration<double>(commits.cpu).count();
  if (const auto wal = ctx.store.wal_activity()) {
    gauges.has_wal = true;
    gauges.wal_bytes = static_cast<double>(wal->wal_bytes);
    gauges.wal_writer_checkpoints = wal->writer_checkpoints;
    gauges.wal_writer_checkpoint_seconds = wal->writer_checkpoint_seconds;
    gauges.wal_restarts = wal->restarts;
    gauges.wal_checkpointer_passes = wal->checkpointer_passes;
    gauges.wal_truncations = wal->truncations;
  }
  if (const auto index = ctx.store.search_index_activity()) {
    gauges.has_search_index = true;
    gauges.search_index_passes = index->passes;
    gauges.search_index_documents = index->documents;
    gauges.search_index_behind = index->behind;
  }
  const auto delays = ctx.hub.delivery_delays();
  gauges.event_delivery_bounds.assign(events::DeliveryDelays::kBounds.begin(),
                                      events::DeliveryDelays::kBounds.end());
  for (const auto& [kind, counts] :
       {std::pair{"status", &delays.status}, std::pair{"progress", &delays.progress}}) {
    gauges.event_delivery.push_back(
        {kind, {counts->buckets.begin(), counts->buckets.end()}, counts->sum_seconds});
  }
  http::Response res;
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = ctx.metrics.render(gauges);
  return res;
}

}  // namespace mladmin::api

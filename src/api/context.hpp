#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "auth/password.hpp"
#include "auth/rate_limiter.hpp"

// The subsystems, declared only: a handler includes the headers of those it uses, so that a
// change to one recompiles the handlers that use it and no others.
namespace mladmin::accounts {
class Accounts;
}
namespace mladmin::auth {
class TokenCodec;
class PasswordHasher;
}  // namespace mladmin::auth
namespace mladmin::domain {
class Clock;
class IdGenerator;
}  // namespace mladmin::domain
namespace mladmin::events {
class Hub;
}
namespace mladmin::metrics {
class Metrics;
}
namespace mladmin::sink {
class HttpSink;
}
namespace mladmin::store {
class Store;
class Reader;
class Writer;
struct Document;
}  // namespace mladmin::store
namespace mladmin::sync {
class Engine;
}

namespace mladmin::api {

class JobView;

/// Everything handlers need, built once by the composition root (app/) and shared read-only.
struct ApiContext {
  store::Store& store;
  accounts::Accounts& accounts;
  auth::TokenCodec& tokens;
  auth::PasswordHasher& hasher;
  auth::LoginRateLimiter& login_limiter;
  const domain::Clock& clock;
  domain::IdGenerator& ids;
  sync::Engine& engine;
  events::Hub& hub;
  metrics::Metrics& metrics;
  std::int64_t token_ttl_seconds = 12 * 3600;
  auth::PasswordPolicy password_policy;
  std::function<bool()> draining = [] { return false; };
  bool metrics_public = true;
  std::size_t import_max_bytes = 256 * 1024 * 1024;  ///< largest POST /api/import body
  std::atomic<bool> import_running{false};           ///< one import at a time, from before its upload
  auth::TrustedProxies trusted_proxies;              ///< whose X-Forwarded-For is believed (login limiter)
  std::unique_ptr<auth::WindowLimiter> sync_starts;  ///< sync starts per user; null: no limit
  const sink::HttpSink* ml_sink = nullptr;     ///< the external ML service, when [ml_service] url is set
  std::size_t search_rank_candidates = 20000;  ///< relevance ranks at most the newest this many matches
  std::chrono::microseconds search_deadline{2000000};  ///< a document search stops after this long (503)
  /// A bulk action's search and count (and its dry run's) stop after this long (503); the same
  /// value bounds a running bulk job's searches (sync::EngineOptions).
  std::chrono::microseconds bulk_search_deadline{10000000};
  /// Job lookups and lists from memory (api/job_view.hpp); null: every read goes to the database.
  const JobView* job_view = nullptr;
};

}  // namespace mladmin::api

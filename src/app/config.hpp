#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/rate_limiter.hpp"
#include "events/hub.hpp"
#include "http/message.hpp"
#include "sink/http_sink.hpp"

namespace mladmin::app {

/// Every setting of mladmin, typed. Defaults < TOML file < environment < command-line flags.
/// config.example.toml documents each key.
struct Config {
  std::string database_url = "sqlite://./mladmin.db";
  std::size_t database_cache_mib = 64;  ///< [database] cache_mib: the writer connection's page cache
  http::ServerOptions server;           ///< host and port come from `listen`
  std::size_t import_max_bytes = 256 * 1024 * 1024;  ///< [server] import_max_bytes: POST /api/import bodies
  std::optional<std::string> jwt_secret;             ///< from MLADMIN_JWT_SECRET or [auth] jwt_secret
  std::int64_t token_ttl_seconds = 12 * 3600;
  std::size_t hash_threads = 2;
  std::size_t hash_queue = 16;
  auth::LoginRateLimiter::Limits login_limits;
  std::string log_level = "info";
  std::size_t sync_workers = 4;
  /// [sync] nice: the nice value of the sync's threads and the store's background threads, so
  /// that requests and event delivery get a core first (docs/performance.md, "The sync yields the
  /// cores"); 0: the process's own
  int sync_nice = 10;
  events::HubOptions events;
  bool metrics_public = true;   ///< [metrics] public: false requires an ml_admin or admin token
  int job_retention_days = 90;  ///< finished jobs older than this are deleted; 0 keeps them forever
  /// [server] trusted_proxies: addresses and CIDRs whose X-Forwarded-For / Forwarded is believed
  std::vector<std::string> trusted_proxies;
  /// [sync] view_jobs: jobs of the history the job view holds besides the active ones
  /// (docs/performance.md, "The job view")
  std::size_t job_view_jobs = 2000;
  int sync_starts_per_minute = 60;             ///< [sync] starts_per_minute: sync starts one user may make
  sink::MlServiceConfig ml_service;            ///< [ml_service]; its token also from MLADMIN_ML_SERVICE_TOKEN
  std::size_t search_rank_candidates = 20000;  ///< [search] rank_candidates (docs/performance.md)
  std::chrono::microseconds search_deadline{2000000};        ///< [search] deadline_ms
  std::chrono::microseconds search_bulk_deadline{10000000};  ///< [search] bulk_deadline_ms
};

/// Reads a TOML file into `config`, refusing unknown keys and values of the wrong type or range.
/// Throws std::runtime_error with the file, the key and the problem.
void load_config_file(const std::string& path, Config& config);

/// Applies MLADMIN_DATABASE_URL, MLADMIN_LISTEN, MLADMIN_JWT_SECRET, MLADMIN_ML_SERVICE_TOKEN.
void apply_environment(Config& config);

/// Parses "HOST:PORT" or "[IPv6]:PORT" into the server options; throws std::runtime_error.
void set_listen(Config& config, const std::string& listen);

/// Checks cross-field rules (the JWT secret's length, limits that must be positive); throws
/// std::runtime_error saying what to fix.
void validate(const Config& config);

}  // namespace mladmin::app

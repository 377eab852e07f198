#include "app/app.hpp"

#include <sodium.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cstdio>
#include <iostream>

#include "accounts/accounts.hpp"
#include "api/context.hpp"
#include "api/handlers.hpp"
#include "api/routes.hpp"
#include "auth/hasher.hpp"
#include "auth/password.hpp"
#include "auth/token.hpp"
#include "domain/clock.hpp"
#include "domain/ids.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "sync/engine.hpp"
#include "sync/retention.hpp"

namespace mladmin::app {

void init_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("mladmin");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
}

std::unique_ptr<store::Store> open_and_migrate(const Config& config) {
  auto store = store::open_store(config.database_url, config.server.handler_threads + 2);
  const int version = store->migrate();
  spdlog::info("msg=\"database ready\" url={} schema_version={}", config.database_url, version);
  return store;
}

std::string random_password() {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
  static constexpr char kAlphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 20; ++i) {
    out.push_back(kAlphabet[randombytes_uniform(sizeof kAlphabet - 1)]);
  }
  return out;
}

namespace {

/// The configured secret, or the one stored in the database (generated on first start), so
/// that every node of a cluster and every restart signs with the same key.
std::string resolve_jwt_secret(const Config& config, store::Store& store) {
  if (config.jwt_secret) {
    return *config.jwt_secret;
  }
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
  unsigned char raw[48];
  randombytes_buf(raw, sizeof raw);
  const std::string candidate =
      auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  return store.write_value(
      [&](store::Writer& w) { return w.put_setting_if_absent("jwt_secret", candidate); });
}

/// Every event stream holds a descriptor, and SPEC §9 asks for 10,000 idle streams: the usual
/// soft limit of 1,024 would refuse connections long before that. The soft limit is raised to
/// the hard one, which an unprivileged process may do.
void raise_descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return;
  }
  const auto before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      lim.rlim_cur = before;
    }
  }
  if (lim.rlim_cur != before) {
    spdlog::info("msg=\"raised the open-descriptor limit\" from={} to={}", before, lim.rlim_cur);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < 10240) {
    spdlog::warn(
        "msg=\"open-descriptor limit is low: fewer than 10,000 event streams can be held\" limit={} "
        "hint=\"raise the hard limit (ulimit -Hn, LimitNOFILE=)\"",
        lim.rlim_cur);
  }
}

}  // namespace

int serve(const Config& configured, const std::function<void(const std::string& url)>& on_listening) {
  validate(configured);
  raise_descriptor_limit();
  // A sign-in waiting for the hashing pool holds a handler thread until its hash is done, so the
  // pool's capacity (hashing + queued) comes on top of the configured handler threads: a flood of
  // sign-ins then cannot take the threads every other request needs (SPEC §6).
  Config config = configured;
  config.server.handler_threads += config.hash_threads + config.hash_queue;
  // The dictionary check throws when cracklib's dictionary is missing; find out now rather than
  // at the first user creation.
  auth::check_new_password("startup-probe-Vq9x-Lm2w-Rt4k", "", "");
  auto store = open_and_migrate(config);
  domain::SystemClock clock;
  domain::UuidV7Generator ids(clock);
  auth::TokenCodec tokens(resolve_jwt_secret(config, *store));
  auth::PasswordHasher hasher(config.hash_threads, config.hash_queue);
  auth::LoginRateLimiter limiter(config.login_limits);
  auth::PasswordPolicy policy;
  accounts::Accounts accounts(*store, hasher, clock, ids, policy);

  // Job history past its retention goes before the server answers anything, then hourly.
  sync::RetentionOptions retention;
  retention.days = config.job_retention_days;
  sync::RetentionSweeper sweeper(*store, clock, retention);
  try {
    sweeper.sweep();
  } catch (const std::exception& e) {
    // Old history is no reason not to serve; the hourly sweep tries again.
    spdlog::error("msg=\"retention sweep failed\" error=\"{}\"", e.what());
  }

  http::Server* server_ptr = nullptr;
  sync::EngineOptions engine_options;
  engine_options.workers = config.sync_workers;
  sync::Engine engine(*store, clock, ids, engine_options);
  events::Hub hub(config.events);
  metrics::Metrics metrics;
  engine.set_listener([&hub, &metrics, &clock](const domain::Job& job, bool status_changed) {
    metrics.observe_job(job, status_changed);
    api::publish_job_event(hub, job, status_changed, clock.now_ms());
  });
  api::ApiContext ctx{*store, accounts, tokens, hasher, limiter, clock, ids, engine, hub, metrics};
  ctx.metrics_public = config.metrics_public;
  ctx.token_ttl_seconds = config.token_ttl_seconds;
  ctx.password_policy = policy;
  ctx.import_max_bytes = config.import_max_bytes;
  ctx.draining = [&server_ptr] { return server_ptr != nullptr && server_ptr->draining(); };

  const auto router = api::build_router(ctx);
  http::Server server(config.server, router);
  server_ptr = &server;
  server.set_observer(
      [&metrics](std::string_view method, std::string_view route, int status, double seconds) {
        metrics.observe_request(method, route, status, seconds);
      });
  const unsigned short port = server.listen();
  const std::string host =
      config.server.host.find(':') != std::string::npos ? "[" + config.server.host + "]" : config.server.host;
  const std::string url = "http://" + host + ":" + std::to_string(port);
  spdlog::info("msg=\"listening\" url={} io_threads={} handler_threads={}", url, config.server.io_threads,
               config.server.handler_threads);
  std::cout << "mladmin listening on " << url << std::endl;
  if (on_listening) {
    on_listening(url);
  }
  engine.start();
  sweeper.start();
  server.run([&hub] { hub.close_all(); });
  // SIGTERM/SIGINT: the server has stopped accepting and drained; now checkpoint the running
  // jobs and mark them interrupted, so that the next start resumes them (SPEC §8).
  sweeper.stop();
  engine.stop();
  spdlog::info("msg=\"stopped\"");
  return 0;
}

}  // namespace mladmin::app

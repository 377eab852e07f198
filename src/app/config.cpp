#include "app/config.hpp"

#include <toml++/toml.h>

#include <boost/url/parse.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace mladmin::app {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& key, const std::string& problem) {
  throw std::runtime_error(path + ": " + key + ": " + problem);
}

std::int64_t integer(const toml::node& node, const std::string& path, const std::string& key,
                     std::int64_t min, std::int64_t max) {
  auto v = node.value<std::int64_t>();
  if (!node.is_integer() || !v) {
    bad(path, key, "must be an integer");
  }
  if (*v < min || *v > max) {
    bad(path, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return *v;
}

std::string string(const toml::node& node, const std::string& path, const std::string& key) {
  if (!node.is_string()) {
    bad(path, key, "must be a string");
  }
  return *node.value<std::string>();
}

}  // namespace

void load_config_file(const std::string& path, Config& c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    throw std::runtime_error(msg.str());
  }
  static const std::set<std::string> kSections = {"server", "database", "auth",       "log",   "sync",
                                                  "events", "metrics",  "ml_service", "search"};
  for (const auto& [section, node] : root) {
    const std::string name(section.str());
    if (!kSections.contains(name)) {
      bad(path, name,
          "unknown section (known: server, database, auth, log, sync, events, metrics, ml_service, search)");
    }
    if (!node.is_table()) {
      bad(path, name, "must be a table, as in [" + name + "]");
    }
    for (const auto& [k, v] : *node.as_table()) {
      const std::string key = name + "." + std::string(k.str());
      if (key == "server.listen") {
        set_listen(c, string(v, path, key));
      } else if (key == "server.io_threads") {
        c.server.io_threads = static_cast<std::size_t>(integer(v, path, key, 1, 64));
      } else if (key == "server.handler_threads") {
        c.server.handler_threads = static_cast<std::size_t>(integer(v, path, key, 1, 256));
      } else if (key == "server.max_body_bytes") {
        c.server.max_body_bytes = static_cast<std::size_t>(integer(v, path, key, 1024, 1LL << 30));
      } else if (key == "server.import_max_bytes") {
        c.import_max_bytes = static_cast<std::size_t>(integer(v, path, key, 1024, 1LL << 40));
      } else if (key == "server.max_header_bytes") {
        c.server.max_header_bytes = static_cast<std::size_t>(integer(v, path, key, 1024, 1 << 20));
      } else if (key == "server.read_timeout_ms") {
        c.server.read_timeout = std::chrono::milliseconds(integer(v, path, key, 100, 3600000));
      } else if (key == "server.idle_timeout_ms") {
        c.server.idle_timeout = std::chrono::milliseconds(integer(v, path, key, 100, 3600000));
      } else if (key == "server.head_timeout_ms") {
        c.server.head_timeout = std::chrono::milliseconds(integer(v, path, key, 100, 3600000));
      } else if (key == "server.max_connections") {
        c.server.max_connections = static_cast<std::size_t>(integer(v, path, key, 1, 1000000));
      } else if (key == "server.max_connections_per_client") {
        c.server.max_connections_per_client = static_cast<std::size_t>(integer(v, path, key, 1, 1000000));
      } else if (key == "server.shutdown_grace_ms") {
        c.server.shutdown_grace = std::chrono::milliseconds(integer(v, path, key, 0, 600000));
      } else if (key == "server.trusted_proxies") {
        if (!v.is_array()) {
          bad(path, key, "must be an array of addresses or CIDRs, as in [\"127.0.0.1\", \"10.0.0.0/8\"]");
        }
        c.trusted_proxies.clear();
        for (const auto& item : *v.as_array()) {
          c.trusted_proxies.push_back(string(item, path, key));
        }
        try {
          auth::TrustedProxies parsed(c.trusted_proxies);
        } catch (const std::invalid_argument& e) {
          bad(path, key, e.what());
        }
      } else if (key == "sync.starts_per_minute") {
        c.sync_starts_per_minute = static_cast<int>(integer(v, path, key, 1, 1000000));
      } else if (key == "events.max_streams_per_user") {
        c.events.max_streams_per_user = static_cast<std::size_t>(integer(v, path, key, 0, 100000));
      } else if (key == "metrics.public") {
        if (!v.is_boolean()) {
          bad(path, key, "must be true or false");
        }
        c.metrics_public = v.as_boolean()->get();
      } else if (key == "events.heartbeat_ms") {
        c.events.heartbeat = std::chrono::milliseconds(integer(v, path, key, 100, 3600000));
      } else if (key == "events.coalesce_ms") {
        c.events.coalesce = std::chrono::milliseconds(integer(v, path, key, 0, 10000));
      } else if (key == "events.replay_events") {
        c.events.replay_events = static_cast<std::size_t>(integer(v, path, key, 0, 1000000));
      } else if (key == "events.client_queue") {
        c.events.client_queue = static_cast<std::size_t>(integer(v, path, key, 16, 1000000));
      } else if (key == "database.url") {
        c.database_url = string(v, path, key);
      } else if (key == "database.cache_mib") {
        c.database_cache_mib = static_cast<std::size_t>(integer(v, path, key, 1, 65536));
      } else if (key == "auth.jwt_secret") {
        c.jwt_secret = string(v, path, key);
      } else if (key == "auth.token_ttl_seconds") {
        c.token_ttl_seconds = integer(v, path, key, 60, 30LL * 86400);
      } else if (key == "auth.hash_threads") {
        c.hash_threads = static_cast<std::size_t>(integer(v, path, key, 1, 64));
      } else if (key == "auth.hash_queue") {
        c.hash_queue = static_cast<std::size_t>(integer(v, path, key, 0, 10000));
      } else if (key == "auth.login_failures_per_email") {
        c.login_limits.per_email = static_cast<int>(integer(v, path, key, 1, 1000000));
      } else if (key == "auth.login_failures_per_address") {
        c.login_limits.per_address = static_cast<int>(integer(v, path, key, 1, 1000000));
      } else if (key == "auth.login_window_seconds") {
        c.login_limits.window = std::chrono::seconds(integer(v, path, key, 1, 86400));
      } else if (key == "log.level") {
        static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
        c.log_level = string(v, path, key);
        if (!kLevels.contains(c.log_level)) {
          bad(path, key, "must be one of trace, debug, info, warn, error, off");
        }
      } else if (key == "sync.nice") {
        c.sync_nice = static_cast<int>(integer(v, path, key, 0, 19));
      } else if (key == "sync.workers") {
        c.sync_workers = static_cast<std::size_t>(integer(v, path, key, 1, 256));
      } else if (key == "sync.view_jobs") {
        c.job_view_jobs = static_cast<std::size_t>(integer(v, path, key, 0, 1000000));
      } else if (key == "sync.retention_days") {
        c.job_retention_days = static_cast<int>(integer(v, path, key, 0, 36500));
      } else if (key == "ml_service.url") {
        c.ml_service.url = string(v, path, key);
      } else if (key == "ml_service.token") {
        c.ml_service.token = string(v, path, key);
      } else if (key == "ml_service.batch_items") {
        c.ml_service.batch_items = static_cast<std::size_t>(integer(v, path, key, 1, 5000));
      } else if (key == "ml_service.max_in_flight") {
        c.ml_service.max_in_flight = static_cast<std::size_t>(integer(v, path, key, 1, 64));
      } else if (key == "ml_service.timeout_ms") {
        c.ml_service.timeout_ms = integer(v, path, key, 100, 600000);
      } else if (key == "ml_service.max_attempts") {
        c.ml_service.max_attempts = static_cast<int>(integer(v, path, key, 1, 100));
      } else if (key == "ml_service.requests_per_second") {
        const auto rate = v.value<double>();
        if ((!v.is_integer() && !v.is_floating_point()) || !rate || !(*rate >= 0) || *rate > 1e6) {
          bad(path, key, "must be a number from 0 (no ceiling) to 1000000");
        }
        c.ml_service.requests_per_second = *rate;
      } else if (key == "ml_service.ca_file") {
        c.ml_service.ca_file = string(v, path, key);
      } else if (key == "search.rank_candidates") {
        c.search_rank_candidates = static_cast<std::size_t>(integer(v, path, key, 0, 100000000));
      } else if (key == "search.deadline_ms" || key == "search.bulk_deadline_ms") {
        // A fraction of a millisecond is allowed (tests use 0.001 to make every search time out).
        const double ms = v.is_floating_point() ? v.value<double>().value_or(-1)
                                                : static_cast<double>(integer(v, path, key, 0, 600000));
        if (!(ms >= 0 && ms <= 600000)) {
          bad(path, key, "must be a number of milliseconds between 0 and 600000");
        }
        (key == "search.deadline_ms" ? c.search_deadline : c.search_bulk_deadline) =
            std::chrono::microseconds(std::llround(ms * 1000));
      } else {
        bad(path, key, "unknown key (config.example.toml lists every key)");
      }
    }
  }
}

void apply_environment(Config& c) {
  if (const char* v = std::getenv("MLADMIN_DATABASE_URL"); v != nullptr && *v != '\0') {
    c.database_url = v;
  }
  if (const char* v = std::getenv("MLADMIN_LISTEN"); v != nullptr && *v != '\0') {
    set_listen(c, v);
  }
  if (const char* v = std::getenv("MLADMIN_JWT_SECRET"); v != nullptr) {
    c.jwt_secret = v;
  }
  if (const char* v = std::getenv("MLADMIN_ML_SERVICE_TOKEN"); v != nullptr && *v != '\0') {
    c.ml_service.token = v;
  }
}

void set_listen(Config& c, const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    throw std::runtime_error("listen address '" + listen + "' must be HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = listen.substr(colon + 1);
  long port = -1;
  try {
    std::size_t used = 0;
    port = std::stol(port_text, &used);
    if (used != port_text.size()) {
      port = -1;
    }
  } catch (const std::exception&) {
    port = -1;
  }
  if (host.empty() || port < 0 || port > 65535) {
    throw std::runtime_error("listen address '" + listen + "' must be HOST:PORT with a port from 0 to 65535");
  }
  c.server.host = host;
  c.server.port = static_cast<unsigned short>(port);
}

void validate(const Config& c) {
  if (c.jwt_secret && c.jwt_secret->size() < 32) {
    throw std::runtime_error(
        "the JWT secret (MLADMIN_JWT_SECRET or [auth] jwt_secret) must be at least 32 bytes; "
        "it has " +
        std::to_string(c.jwt_secret->size()) +
        ". Use a long random value, or unset it to let mladmin generate and store one.");
  }
  const auto& ml = c.ml_service;
  if (!ml.url.empty()) {
    auto url = boost::urls::parse_uri(ml.url);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
      throw std::runtime_error(
          "[ml_service] url must be an http:// or https:// URL with a host, e.g. "
          "\"http://ml.internal:8000/mladmin\"; it is \"" +
          std::string(sink::redact_url(ml.url)) + "\"");
    }
    if (url->has_query() || url->has_fragment()) {
      throw std::runtime_error(
          "[ml_service] url must not have a query or fragment: mladmin appends /v1/batches");
    }
  }
  if (!ml.ca_file.empty() && !std::ifstream(ml.ca_file).good()) {
    throw std::runtime_error("[ml_service] ca_file \"" + ml.ca_file + "\" cannot be read");
  }
  if (ml.token.find_first_of("\r\n") != std::string::npos) {
    throw std::runtime_error(
        "the ML service token ([ml_service] token or MLADMIN_ML_SERVICE_TOKEN) has a line break");
  }
}

}  // namespace mladmin::app

#include "api/handlers.hpp"
#include "api/json.hpp"
#include "http/server.hpp"

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

}  // namespace mladmin::api

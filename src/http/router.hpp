#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace mladmin::http {

/// A request handler: runs on the handler pool (it may block on the database), never on an I/O
/// thread, unless its route says RouteOptions::run_inline. It may throw; the layer that builds the
/// route table decides how errors become bodies.
using Handler = std::function<Response(Request&)>;

/// What a route asks of the server beyond the defaults.
struct RouteOptions {
  std::size_t max_body_bytes = 0;  ///< a larger body answers 413; 0 = the server's max_body_bytes
  /// The body goes to a temporary file named by Request::body_file (deleted once the response is
  /// sent) instead of memory, and the read deadline applies to each pause in the upload rather
  /// than to the whole body.
  bool spool_body = false;
  /// Runs on the handler pool once the headers arrived, before the body is read: a response it
  /// returns (a 401, 403, 415…) is sent at once, the body is not read and the connection closes.
  /// Meant for spooled routes, so that nobody uploads 256 MiB to hear that their token expired.
  /// Without it a spooled route reads the body first. `Expect: 100-continue` is answered after it.
  std::function<std::optional<Response>(Request&)> before_body;
  /// The handler never blocks (no database, no password hashing, no lock held for long; it
  /// answers from memory): it runs on the I/O thread that read the request, without the two
  /// cross-thread hops to the handler pool and back (docs/performance.md).
  bool run_inline = false;
  /// Tried first on the I/O thread that read the request: it answers from memory when it can
  /// (the response), or says it cannot without blocking (nothing), and the request then goes to
  /// the handler pool as usual. Must never block (docs/performance.md, "The job view").
  std::function<std::optional<Response>(Request&)> try_inline;
};

/// Maps method + path pattern ("/api/ml/admin/users/:id") to a handler. Build it once, then only
/// read it (matching is thread-safe).
class Router final {
 public:
  void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});

  /// Sends GET and HEAD of every path that no route matches to `handler`, with `label` as
  /// Request::route; other methods there get 405 with Allow: GET, HEAD. Paths whose first
  /// segment is `reserved` ("api") stay out of it, so that their unknown paths answer 404.
  void set_fallback(std::string label, std::string reserved, Handler handler, RouteOptions options = {});

  struct Match {
    const Handler* handler = nullptr;       ///< null when nothing matched
    std::vector<std::string> allowed;       ///< methods of the path when only the method differed
    const RouteOptions* options = nullptr;  ///< the matched route's; null when nothing matched
  };
  /// Finds the handler for `req.method` and `req.path`, filling `req.params` and `req.route`.
  Match match(Request& req) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  ///< ":name" segments capture
    Handler handler;
    RouteOptions options;
  };
  std::vector<Route> routes_;
  struct Fallback {
    std::string label;
    std::string reserved;
    Handler handler;
    RouteOptions options;
  };
  std::optional<Fallback> fallback_;
};

/// Splits "/a/b/c" into {"a","b","c"}; a trailing slash is ignored.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace mladmin::http

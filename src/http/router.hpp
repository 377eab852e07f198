#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace mladmin::http {

/// A request handler: runs on the handler pool (it may block on the database), never on an I/O
/// thread. It may throw; the layer that builds the route table decides how errors become bodies.
using Handler = std::function<Response(Request&)>;

/// Maps method + path pattern ("/api/ml/admin/users/:id") to a handler. Build it once, then only
/// read it (matching is thread-safe).
class Router final {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  ///< null when nothing matched
    std::vector<std::string> allowed;  ///< methods of the path when only the method differed
  };
  /// Finds the handler for `req.method` and `req.path`, filling `req.params` and `req.route`.
  Match match(Request& req) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  ///< ":name" segments capture
    Handler handler;
  };
  std::vector<Route> routes_;
};

/// Splits "/a/b/c" into {"a","b","c"}; a trailing slash is ignored.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace mladmin::http

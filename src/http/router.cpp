#include "http/router.hpp"

#include <algorithm>

namespace mladmin::http {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    const auto end = path.find('/', pos);
    const auto stop = end == std::string_view::npos ? path.size() : end;
    out.push_back(path.substr(pos, stop - pos));
    pos = stop;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  Route r{std::move(method), pattern, {}, std::move(handler), std::move(options)};
  for (auto seg : split_path(pattern)) {
    r.segments.emplace_back(seg);
  }
  routes_.push_back(std::move(r));
}

Router::Match Router::match(Request& req) const {
  const auto parts = split_path(req.path);
  Match m;
  for (const auto& route : routes_) {
    if (route.segments.size() != parts.size()) {
      continue;
    }
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& seg = route.segments[i];
      ok = (!seg.empty() && seg[0] == ':') ? !parts[i].empty() : seg == parts[i];
    }
    if (!ok) {
      continue;
    }
    const bool head_as_get = req.method == "HEAD" && route.method == "GET";
    if (route.method != req.method && !head_as_get) {
      if (std::find(m.allowed.begin(), m.allowed.end(), route.method) == m.allowed.end()) {
        m.allowed.push_back(route.method);
      }
      continue;
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto& seg = route.segments[i];
      if (seg[0] == ':') {
        req.params[seg.substr(1)] = std::string(parts[i]);
      }
    }
    m.handler = &route.handler;
    req.route = route.pattern;
    m.options = &route.options;
    m.allowed.clear();
    return m;
  }
  if (m.allowed.empty() && fallback_ && (parts.empty() || parts.front() != fallback_->reserved)) {
    if (req.method == "GET" || req.method == "HEAD") {
      m.handler = &fallback_->handler;
      req.route = fallback_->label;
      m.options = &fallback_->options;
    } else {
      m.allowed = {"GET", "HEAD"};
    }
  }
  return m;
}

void Router::set_fallback(std::string label, std::string reserved, Handler handler, RouteOptions options) {
  fallback_ = Fallback{std::move(label), std::move(reserved), std::move(handler), std::move(options)};
}

}  // namespace mladmin::http

#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/message.hpp"
#include "util/embedded.hpp"

namespace mladmin::http {

/// The web dashboard's files, served from memory (README.md "The web dashboard"). A single-page app: a path
/// that names no file answers index.html, so that the app's own routes (/sync, /users/123) load it, except
/// under assets/, where a missing file is a 404. Build once, then only read (thread-safe).
class StaticFiles final {
 public:
  /// `files` must outlive this object (embedded files live as long as the program).
  explicit StaticFiles(std::span<const EmbeddedWebFile> files);

  /// What answers a path.
  struct Lookup {
    const EmbeddedWebFile* file = nullptr;  ///< null: 404
    bool fallback = false;                  ///< index.html standing in for an app route
  };
  /// Looks up `path`, percent-decoded and without its query ("/assets/index-x.js"). Only the
  /// embedded names can ever match: a path with a "." or ".." segment, a backslash or a control
  /// character finds nothing and falls back to nothing.
  Lookup find(std::string_view path) const;

  /// The response to a GET or HEAD of `req.path`: the file with its Content-Type, the gzip copy
  /// when Accept-Encoding allows it, an ETag and 304 for a matching If-None-Match, caching
  /// (immutable for assets/, whose names carry a content hash; no-cache for the rest) and the
  /// security headers (a strict Content-Security-Policy, no referrer). A missing file answers
  /// the docs/openapi.yaml error body with 404.
  Response serve(const Request& req) const;

  /// The number of embedded files.
  std::size_t size() const { return by_name_.size(); }

 private:
  std::unordered_map<std::string_view, const EmbeddedWebFile*> by_name_;
  const EmbeddedWebFile* index_ = nullptr;
};

/// The Content-Type of a file, by the extension of its name (application/octet-stream when
/// unknown).
std::string_view content_type_of(std::string_view name);

/// Whether an Accept-Encoding header value accepts gzip (RFC 9110 §12.5.3: listed, or "*", with
/// a weight above 0).
bool accepts_gzip(std::string_view accept_encoding);

/// Whether an If-None-Match header value matches `etag` (weak comparison, RFC 9110 §13.1.2).
bool matches_etag(std::string_view if_none_match, std::string_view etag);

}  // namespace mladmin::http

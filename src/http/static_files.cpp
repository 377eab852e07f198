#include "http/static_files.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "http/server.hpp"
#include "util/text.hpp"

namespace mladmin::http {

namespace {

/// No inline script or style, nothing from elsewhere, no framing: the app is built for this
/// (web/vite.config.ts) and needs nothing else.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
constexpr std::string_view kAssetsPrefix = "assets/";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) {
             return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
           };
           return lower(x) == lower(y);
         });
}

/// Calls `f` with each trimmed, non-empty element of a comma-separated header value.
template <class F>
void for_each_element(std::string_view value, F&& f) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    const auto element = util::trim_ows(value.substr(0, comma));
    if (!element.empty()) {
      f(element);
    }
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
}

/// A qvalue of 0 ("0", "0.", "0.000") means "not acceptable"; anything else is some weight.
bool zero_weight(std::string_view q) {
  return !q.empty() && q.front() == '0' &&
         std::all_of(q.begin(), q.end(), [](char c) { return c == '0' || c == '.'; });
}

bool unsafe_path(std::string_view rel) {
  if (std::any_of(rel.begin(), rel.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f || c == '\\';
      })) {
    return true;
  }
  while (!rel.empty()) {
    const auto slash = rel.find('/');
    const auto segment = rel.substr(0, slash);
    if (segment == "." || segment == "..") {
      return true;
    }
    rel = slash == std::string_view::npos ? std::string_view() : rel.substr(slash + 1);
  }
  return false;
}

}  // namespace

std::string_view content_type_of(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kTypes{{
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/vnd.microsoft.icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"wasm", "application/wasm"},
  }};
  const auto slash = name.rfind('/');
  const auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const auto dot = base.rfind('.');
  if (dot != std::string_view::npos) {
    const auto ext = base.substr(dot + 1);
    for (const auto& [known, type] : kTypes) {
      if (iequals(ext, known)) {
        return type;
      }
    }
  }
  return "application/octet-stream";
}

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<bool> gzip;  // when listed by name, that entry decides; else "*" does
  bool any = false;
  for_each_element(accept_encoding, [&](std::string_view element) {
    const auto semicolon = element.find(';');
    const auto coding = util::trim_ows(element.substr(0, semicolon));
    bool acceptable = true;
    if (semicolon != std::string_view::npos) {
      auto params = element.substr(semicolon + 1);
      while (!params.empty()) {
        const auto next = params.find(';');
        const auto param = util::trim_ows(params.substr(0, next));
        const auto eq = param.find('=');
        if (eq != std::string_view::npos && iequals(util::trim_ows(param.substr(0, eq)), "q")) {
          acceptable = !zero_weight(util::trim_ows(param.substr(eq + 1)));
        }
        params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip = acceptable;
    } else if (coding == "*") {
      any = acceptable;
    }
  });
  return gzip.value_or(any);
}

bool matches_etag(std::string_view if_none_match, std::string_view etag) {
  const auto opaque = [](std::string_view tag) { return tag.starts_with("W/") ? tag.substr(2) : tag; };
  if (util::trim_ows(if_none_match) == "*") {
    return true;
  }
  bool found = false;
  for_each_element(if_none_match,
                   [&](std::string_view tag) { found = found || opaque(tag) == opaque(etag); });
  return found;
}

StaticFiles::StaticFiles(std::span<const EmbeddedWebFile> files) {
  for (const auto& file : files) {
    by_name_.emplace(file.name, &file);
  }
  if (const auto it = by_name_.find("index.html"); it != by_name_.end()) {
    index_ = it->second;
  }
}

StaticFiles::Lookup StaticFiles::find(std::string_view path) const {
  if (!path.starts_with('/')) {
    return {};
  }
  const auto rel = path.substr(1);
  if (unsafe_path(rel)) {
    return {};
  }
  if (rel.empty()) {
    return {index_, false};
  }
  if (const auto it = by_name_.find(rel); it != by_name_.end()) {
    return {it->second, false};
  }
  if (rel == kAssetsPrefix.substr(0, kAssetsPrefix.size() - 1) || rel.starts_with(kAssetsPrefix)) {
    return {};
  }
  return {index_, index_ != nullptr};
}

Response StaticFiles::serve(const Request& req) const {
  const auto found = find(req.path);
  Response res;
  if (found.file == nullptr) {
    res = error_response(404, "not_found", "no file at " + req.path);
  } else {
    const EmbeddedWebFile& file = *found.file;
    const bool gzip = !file.gzip.empty() && accepts_gzip(req.header("accept-encoding").value_or(""));
    // Appended piece by piece: GCC 12 at -O2 flags `"\"" + std::string(…)` with a false -Wrestrict
    // (GCC bug 105329).
    std::string etag;
    etag.reserve(40);
    etag.append(1, '"').append(file.sha256.substr(0, 32)).append(gzip ? "-gzip\"" : "\"");
    res.content_type = std::string(content_type_of(file.name));
    res.header("Cache-Control",
               file.name.starts_with(kAssetsPrefix) ? "public, max-age=31536000, immutable" : "no-cache");
    if (!file.gzip.empty()) {
      res.header("Vary", "Accept-Encoding");
    }
    if (const auto condition = req.header("if-none-match"); condition && matches_etag(*condition, etag)) {
      res.status = 304;
    } else {
      res.body = std::string(gzip ? file.gzip : file.data);
      if (gzip) {
        res.header("Content-Encoding", "gzip");
      }
    }
    res.header("ETag", std::move(etag));
  }
  res.header("Content-Security-Policy", std::string(kContentSecurityPolicy));
  res.header("X-Content-Type-Options", "nosniff");
  res.header("Referrer-Policy", "no-referrer");
  return res;
}

}  // namespace mladmin::http

#pragma once

#include <string_view>

namespace mladmin {

/// A file compiled into the binary by cmake/embed.cmake.
struct EmbeddedFile {
  std::string_view name;  ///< path relative to the embedded folder, '/'-separated
  std::string_view data;
};

/// A file of the web dashboard compiled into the binary by cmake/web.cmake.
struct EmbeddedWebFile {
  std::string_view name;    ///< path relative to the build output, '/'-separated ("assets/index-x.js")
  std::string_view data;    ///< the file as built
  std::string_view gzip;    ///< `gzip -9 -n` of data, or empty when not stored (binary or no smaller)
  std::string_view sha256;  ///< of data, lowercase hex, computed at build time
};

}  // namespace mladmin

#pragma once

#include <string_view>

namespace mladmin {

/// A file compiled into the binary by cmake/embed.cmake.
struct EmbeddedFile {
  std::string_view name;  ///< path relative to the embedded folder, '/'-separated
  std::string_view data;
};

}  // namespace mladmin

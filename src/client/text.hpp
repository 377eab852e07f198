#pragma once

#include <string>
#include <string_view>

namespace mladmin::client {

/// Concatenates strings, literals and views into one string. Used instead of `"literal" + str`
/// chains, which GCC 12 at -O2 flags with a false -Wrestrict warning.
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  out.reserve((std::string_view(parts).size() + ... + 0));
  (out.append(std::string_view(parts)), ...);
  return out;
}

}  // namespace mladmin::client

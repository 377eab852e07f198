#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace mladmin::test {

/// The lines of `text` (a CSV export, a log), each without its line break (LF or CRLF).
inline std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    out.push_back(line);
  }
  return out;
}

}  // namespace mladmin::test

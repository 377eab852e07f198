#include "http/sse.hpp"

#include <stdexcept>

namespace mladmin::http::sse {

namespace {

void require_one_line(std::string_view text, const char* what) {
  if (text.find_first_of("\r\n") != std::string_view::npos) {
    throw std::invalid_argument(std::string("an event stream's ") + what + " must be one line");
  }
}

}  // namespace

std::string event(std::string_view name, std::string_view data) {
  require_one_line(name, "event name");
  std::string out;
  out.reserve(name.size() + data.size() + 16);
  out += "event: ";
  out += name;
  out += "\ndata: ";
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') {
        ++i;
      }
      out += "\ndata: ";
    } else {
      out += c;
    }
  }
  out += "\n\n";
  return out;
}

std::string id_field(std::uint64_t id) {
  return "id: " + std::to_string(id) + "\n";
}

std::string retry(std::chrono::milliseconds delay) {
  return "retry: " + std::to_string(delay.count()) + "\n\n";
}

std::string comment(std::string_view text) {
  require_one_line(text, "comment");
  std::string out(": ");
  out += text;
  out += "\n\n";
  return out;
}

std::string_view heartbeat() {
  static const std::string frame = comment("keep-alive");
  return frame;
}

}  // namespace mladmin::http::sse

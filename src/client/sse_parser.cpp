#include "client/sse_parser.hpp"

#include <algorithm>
#include <stdexcept>

namespace mladmin::client {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes[pos] == '\n') {
        ++pos;
        continue;
      }
    }
    const auto end = bytes.find_first_of("\r\n", pos);
    const auto piece = bytes.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (line_.size() + piece.size() + data_.size() > max_event_bytes_) {
      throw std::length_error("an event of the stream is larger than the limit");
    }
    line_.append(piece);
    if (end == std::string_view::npos) {
      break;
    }
    after_cr_ = bytes[end] == '\r';
    pos = end + 1;
    line_done(out);
  }
  return out;
}

void SseParser::reset_connection() {
  line_.clear();
  after_cr_ = false;
  at_stream_start_ = true;
  data_.clear();
  type_.clear();
  // The id buffer keeps what the last dispatch settled; a half-received event's id is dropped.
  id_buffer_ = last_event_id_;
}

void SseParser::line_done(std::vector<SseEvent>& out) {
  std::string_view line = line_;
  if (at_stream_start_) {
    // A byte order mark may open the stream (and only the stream).
    at_stream_start_ = false;
    if (line.substr(0, kBom.size()) == kBom) {
      line.remove_prefix(kBom.size());
    }
  }
  if (line.empty()) {
    // Dispatch (WHATWG "dispatch the event"): the id settles even when there is no data.
    last_event_id_ = id_buffer_;
    if (!data_.empty()) {
      SseEvent ev;
      ev.data = std::move(data_);
      ev.data.pop_back();  // every data line added a '\n'
      if (!type_.empty()) {
        ev.type = std::move(type_);
      }
      ev.last_event_id = last_event_id_;
      out.push_back(std::move(ev));
    }
    data_.clear();
    type_.clear();
  } else if (line.front() == ':') {
    ++comments_;
  } else {
    const auto colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
    }
    process_field(field, value);
  }
  line_.clear();
}

void SseParser::process_field(std::string_view field, std::string_view value) {
  if (field == "event") {
    type_.assign(value);
  } else if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      id_buffer_.assign(value);
    }
  } else if (field == "retry") {
    const bool digits = !value.empty() && value.size() <= 9 &&
                        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      retry_ = std::chrono::milliseconds(std::stol(std::string(value)));
    }
  }
  // Any other field is ignored, as the standard says.
}

}  // namespace mladmin::client

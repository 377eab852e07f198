#include "support/sse_client.hpp"

#include "support/api_record.hpp"
#include "support/job_json.hpp"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace mladmin::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

boost::json::value SseEvent::json() const {
  return parse_or_null(data);
}

struct SseClient::Impl {
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::vector<SseEvent> events;
  std::size_t comments = 0;
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  bool ended = false;
  std::string pending;  // text not yet split into events

  asio::io_context ioc;
  tcp::socket socket{ioc};
  std::thread reader;

  void feed(std::string_view text) {
    pending.append(text);
    for (;;) {
      const auto end = pending.find("\n\n");
      if (end == std::string::npos) {
        return;
      }
      const std::string block = pending.substr(0, end);
      pending.erase(0, end + 2);
      SseEvent ev;
      bool has_data = false;
      bool comment_only = true;
      std::size_t pos = 0;
      while (pos <= block.size()) {
        auto nl = block.find('\n', pos);
        if (nl == std::string::npos) {
          nl = block.size();
        }
        const std::string line = block.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) {
          continue;
        }
        if (line[0] == ':') {
          continue;
        }
        comment_only = false;
        const auto colon = line.find(':');
        const std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') {
          value.erase(0, 1);
        }
        if (field == "id") {
          ev.id = value;
        } else if (field == "event") {
          ev.event = value;
        } else if (field == "data") {
          ev.data += has_data ? "\n" + value : value;
          has_data = true;
        }
      }
      if (comment_only) {
        ++comments;
      } else if (has_data) {
        if (ev.event.empty()) {
          ev.event = "message";
        }
        record_api_event(ev.event, ev.data);
        events.push_back(std::move(ev));
      }
    }
  }

  void run(std::string request) {
    try {
      asio::write(socket, asio::buffer(request));
      beast::flat_buffer buffer;
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(64 << 20);
      bhttp::read_header(socket, buffer, parser);
      {
        std::lock_guard lock(mutex);
        status = static_cast<int>(parser.get().result_int());
        for (const auto& f : parser.get()) {
          std::string name(f.name_string());
          for (auto& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
          headers[name] = std::string(f.value());
        }
      }
      cv.notify_all();
      auto on_chunk = [this](std::uint64_t, std::string_view body, boost::system::error_code&) {
        {
          std::lock_guard lock(mutex);
          feed(body);
        }
        cv.notify_all();
        return body.size();
      };
      parser.on_chunk_body(on_chunk);
      while (!parser.is_done()) {
        bhttp::read_some(socket, buffer, parser);
      }
      std::lock_guard lock(mutex);
      body = parser.get().body();
    } catch (const std::exception&) {
      // The connection ended; `ended` says so.
    }
    {
      std::lock_guard lock(mutex);
      ended = true;
    }
    cv.notify_all();
  }
};

SseClient::SseClient(unsigned short port, const std::string& token, std::optional<std::string> last_event_id,
                     const std::string& target)
    : impl_(std::make_unique<Impl>()) {
  impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  if (!token.empty()) {
    request += "Authorization: Bearer " + token + "\r\n";
  }
  if (last_event_id) {
    request += "Last-Event-ID: " + *last_event_id + "\r\n";
  }
  request += "\r\n";
  impl_->reader = std::thread([this, request] { impl_->run(request); });
}

SseClient::~SseClient() {
  close();
  impl_->reader.join();
}

void SseClient::close() {
  ::shutdown(impl_->socket.native_handle(), SHUT_RDWR);
}

bool SseClient::wait_for(const Predicate& pred, std::chrono::milliseconds deadline) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, deadline, [&] { return pred(impl_->events); });
}

int SseClient::status(std::chrono::milliseconds deadline) {
  std::unique_lock lock(impl_->mutex);
  impl_->cv.wait_for(lock, deadline, [&] { return impl_->status != 0 || impl_->ended; });
  return impl_->status;
}

std::string SseClient::header(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->headers.find(name);
  return it == impl_->headers.end() ? "" : it->second;
}

std::string SseClient::body() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->body;
}

std::vector<SseEvent> SseClient::events() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->events;
}

std::size_t SseClient::comments() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->comments;
}

bool SseClient::wait_comments(std::size_t n, std::chrono::milliseconds deadline) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, deadline, [&] { return impl_->comments >= n; });
}

bool SseClient::ended() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->ended;
}

bool SseClient::wait_ended(std::chrono::milliseconds deadline) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, deadline, [&] { return impl_->ended; });
}

std::vector<boost::json::value> job_events(const std::vector<SseEvent>& events, const std::string& job_id) {
  std::vector<boost::json::value> out;
  for (const auto& e : events) {
    if (e.event != "job") {
      continue;
    }
    auto v = e.json();
    if (v.is_object() && v.as_object().contains("id") && v.at("id").as_string() == job_id) {
      out.push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace mladmin::test

#include "client/event_stream.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <random>
#include <thread>

#include "client/progress.hpp"
#include "client/text.hpp"

namespace mladmin::client {

namespace {

std::string seconds_text(std::chrono::milliseconds ms) {
  return format_duration_ms(ms.count());
}

double random_unit() {
  static thread_local std::mt19937 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace

RemoteError remote_error(const Response& response) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(response.body, ec);
  if (!ec && json.is_object()) {
    if (const auto* e = json.as_object().if_contains("error"); e != nullptr && e->is_object()) {
      const auto* code = e->as_object().if_contains("code");
      const auto* message = e->as_object().if_contains("message");
      if (message != nullptr && message->is_string()) {
        return RemoteError(response.status,
                           code != nullptr && code->is_string() ? std::string(code->as_string()) : "",
                           std::string(message->as_string()));
      }
    }
  }
  std::string snippet = truncate_to_width(response.body, 200);
  std::replace(snippet.begin(), snippet.end(), '\n', ' ');
  return RemoteError(response.status, "",
                     snippet.empty()
                         ? cat("the server answered ", std::to_string(response.status))
                         : cat("the server answered ", std::to_string(response.status), ": ", snippet));
}

std::chrono::milliseconds reconnect_delay(int attempt, std::chrono::milliseconds first,
                                          std::chrono::milliseconds max, double jitter) {
  auto delay = first;
  for (int i = 1; i < attempt && delay < max; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, max);
  // Up to a quarter less, so that clients dropped together spread out.
  const auto spread = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(delay.count()) * 0.25 * std::clamp(jitter, 0.0, 1.0)));
  return delay - spread;
}

EventStream::EventStream(HttpClient& http, EventStreamOptions options, Notice notice)
    : http_(http), options_(std::move(options)), notice_(std::move(notice)) {}

EventStream::~EventStream() = default;

void EventStream::open() {
  connect();
}

void EventStream::connect() {
  Headers headers{{"Authorization", cat("Bearer ", options_.token)}};
  if (!parser_.last_event_id().empty()) {
    headers.emplace_back("Last-Event-ID", parser_.last_event_id());
  }
  auto opened = http_.open_stream(options_.target, headers);
  if (opened.head.status != 200) {
    throw remote_error(opened.head);
  }
  parser_.reset_connection();
  reader_ = std::move(opened.body);
  last_bytes_ = Clock::now();
}

void EventStream::dropped(const std::string& why) {
  reader_.reset();
  ++failures_;
  if (failures_ > options_.max_attempts) {
    throw ClientError(cat("lost the event stream (", why, ") and could not reconnect after ",
                          std::to_string(options_.max_attempts), " attempts"));
  }
  const auto first = parser_.retry().value_or(options_.first_delay);
  const auto delay = reconnect_delay(failures_, first, options_.max_delay, random_unit());
  reconnect_at_ = Clock::now() + delay;
  if (notice_) {
    notice_(cat("event stream lost (", why, "); reconnecting in ", seconds_text(delay), " (attempt ",
                std::to_string(failures_), " of ", std::to_string(options_.max_attempts), ")"));
  }
}

std::vector<SseEvent> EventStream::poll(std::chrono::milliseconds wait) {
  const auto until = Clock::now() + wait;
  std::vector<SseEvent> events;
  if (!reader_) {
    // Waiting to reconnect.
    const auto now = Clock::now();
    if (now < reconnect_at_) {
      std::this_thread::sleep_for(std::min<Clock::duration>(reconnect_at_ - now, until - now));
      return events;
    }
    try {
      connect();
    } catch (const RemoteError& e) {
      // Refused: a bad or expired token, a missing route. Waiting will not fix it — except when
      // the server is busy or stopping.
      if (e.status() != 503 && e.status() != 429 && e.status() < 500) {
        throw;
      }
      dropped(e.what());
      return events;
    } catch (const ClientError& e) {
      dropped(e.what());
      return events;
    }
    if (notice_) {
      notice_("event stream reconnected");
    }
  }
  auto chunk =
      reader_->read(std::max(std::chrono::milliseconds(0),
                             std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now())));
  const auto now = Clock::now();
  if (!chunk.data.empty()) {
    last_bytes_ = now;
    try {
      events = parser_.feed(chunk.data);
    } catch (const std::length_error&) {
      dropped("an event over the size limit");
      return events;
    }
    if (!events.empty()) {
      failures_ = 0;
    }
  }
  if (chunk.ended) {
    dropped(chunk.error.empty() ? std::string("the server ended it") : chunk.error);
  } else if (now - last_bytes_ > options_.idle_timeout) {
    dropped(cat("nothing received for ", seconds_text(options_.idle_timeout)));
  }
  return events;
}

}  // namespace mladmin::client

// libFuzzer target: the CLI's Server-Sent Events parser (client/sse_parser.cpp). The first byte
// chooses where the stream is cut into two reads, so the parser sees lines split across reads;
// feeding the same bytes whole must give the same events.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "client/sse_parser.hpp"

using mladmin::client::SseEvent;
using mladmin::client::SseParser;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = text.empty() ? 0 : data[0] % (text.size() + 1);

  // An event over the limit ends the stream with std::length_error, cut or not.
  SseParser whole(4096);
  std::vector<SseEvent> all;
  bool whole_refused = false;
  try {
    all = whole.feed(text);
  } catch (const std::length_error&) {
    whole_refused = true;
  }

  SseParser split(4096);
  std::vector<SseEvent> parts;
  bool split_refused = false;
  try {
    parts = split.feed(text.substr(0, cut));
    const auto rest = split.feed(text.substr(cut));
    parts.insert(parts.end(), rest.begin(), rest.end());
  } catch (const std::length_error&) {
    split_refused = true;
  }
  if (whole_refused != split_refused) {
    std::abort();
  }
  if (whole_refused) {
    return 0;
  }
  if (all.size() != parts.size() || whole.last_event_id() != split.last_event_id() ||
      whole.retry() != split.retry()) {
    std::abort();
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].type != parts[i].type || all[i].data != parts[i].data ||
        all[i].last_event_id != parts[i].last_event_id) {
      std::abort();
    }
  }
  if (whole.comments() != split.comments()) {
    std::abort();
  }
  return 0;
}
